"""A loopback stand-in for the Cloud Asset API's REST surface (``ListAssets`` only).

It serves the documented response shapes to the real ``google-cloud-asset`` client, so tests and
``skywarden demo`` exercise the production code path end to end: request encoding (enums as numbers,
repeated ``assetTypes``), paging on ``nextPageToken`` and the HTTP error mapping. It binds to
127.0.0.1 on an ephemeral port and never leaves the process.

It also answers ``POST /token`` like an OAuth token endpoint, so a credentials file whose ``token_uri``
points here exercises the production credential path without reaching Google.

Assets can also live above projects (:meth:`CloudAssetStandIn.add_scope_asset`: an organization's Essential
Contacts, say); like the real API, a listing under a folder or organization returns them together with the
assets of every project below it.

Faults are scripted per parent (``projects/x``, ``folders/n``, ``organizations/n``): a status code,
optionally with ``Retry-After``, for the next N requests or for all of them.

For remediation it also serves the two write surfaces the actions use, on the same estate: the Cloud Storage
JSON API's bucket IAM policy (``GET``/``PUT /storage/v1/b/{bucket}/iam``, with etag preconditions) and the
Compute API's firewall rules (``GET``/``PATCH /compute/v1/projects/{p}/global/firewalls/{name}``, answering
a finished Operation). Writes change the stored assets, so a later ``ListAssets`` reports them. Faults for
these paths are scripted with :meth:`CloudAssetStandIn.fail_path`.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTENT_TYPES = {"1": "RESOURCE", "2": "IAM_POLICY", "RESOURCE": "RESOURCE", "IAM_POLICY": "IAM_POLICY"}
PROJECT_ASSET_TYPE = "cloudresourcemanager.googleapis.com/Project"
DEFAULT_ETAG = base64.b64encode(b"standin-etag").decode()
_BUCKET_IAM = re.compile(r"^/storage/v1/b/([^/]+)/iam$")
_FIREWALL = re.compile(r"^/compute/v1/projects/([^/]+)/global/firewalls/([^/]+)$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class StandInProject:
    project_id: str
    number: str
    display_name: str
    ancestors: tuple[str, ...]  # e.g. ("folders/200", "organizations/100"), nearest first
    iam_policy: dict[str, Any] | None = None
    lifecycle_state: str = "ACTIVE"
    assets: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Fault:
    status: int
    remaining: int | None  # None = every request
    retry_after: str | None = None
    message: str = ""


@dataclass
class PathFault:
    method: str
    pattern: str  # regex searched in the request path
    fault: Fault


class CloudAssetStandIn:
    """An in-memory estate served over HTTP on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, page_limit: int = 500) -> None:
        self.page_limit = page_limit
        self.projects: dict[str, StandInProject] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each API request
        self.token_requests = 0
        self.api_requests: list[tuple[str, str, Any]] = []  # (method, path, JSON body) on the write surfaces
        self.scope_assets: list[tuple[tuple[str, ...], dict[str, Any]]] = []  # (ancestors, asset) above projects
        self._faults: dict[str, list[Fault]] = {}
        self._path_faults: list[PathFault] = []
        self._etags = 0
        self._operations = 0
        self._frozen: dict[str, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ estate
    def add_project(
        self,
        project_id: str,
        number: str,
        display_name: str | None = None,
        ancestors: Iterable[str] = ("organizations/100",),
        iam_policy: Mapping[str, Any] | None = None,
        lifecycle_state: str = "ACTIVE",
    ) -> StandInProject:
        project = StandInProject(
            project_id,
            number,
            display_name or project_id,
            tuple(ancestors),
            dict(iam_policy) if iam_policy is not None else None,
            lifecycle_state,
        )
        self.projects[project_id] = project
        return project

    def add_asset(
        self,
        project_id: str,
        asset_type: str,
        name: str,
        data: Mapping[str, Any],
        location: str = "global",
        iam_policy: Mapping[str, Any] | None = None,
    ) -> None:
        """Add one asset; ``name`` is its full resource name (``//storage.googleapis.com/bucket``)."""
        self.projects[project_id].assets.append(
            {
                "name": name,
                "assetType": asset_type,
                "location": location,
                "data": dict(data),
                "iamPolicy": dict(iam_policy) if iam_policy is not None else None,
            }
        )

    def add_scope_asset(
        self,
        ancestors: Iterable[str],
        asset_type: str,
        name: str,
        data: Mapping[str, Any],
        location: str = "global",
        iam_policy: Mapping[str, Any] | None = None,
    ) -> None:
        """Add an asset owned by a folder or organization; ``ancestors`` starts with its owner
        (``("organizations/100",)`` or ``("folders/200", "organizations/100")``)."""
        policy = dict(iam_policy) if iam_policy is not None else None
        asset = {"name": name, "assetType": asset_type, "location": location, "data": dict(data), "iamPolicy": policy}
        self.scope_assets.append((tuple(ancestors), asset))

    def fail(
        self, parent: str, status: int, times: int | None = None, retry_after: str | None = None, message: str = ""
    ) -> None:
        """Answer the next ``times`` requests for ``parent`` (all of them when None) with ``status``."""
        with self._lock:
            self._faults.setdefault(parent, []).append(
                Fault(status, times, retry_after, message or f"stand-in {status} for {parent}")
            )

    def fail_path(self, method: str, pattern: str, status: int, times: int | None = None, message: str = "") -> None:
        """Answer the next ``times`` ``method`` requests whose path matches ``pattern`` (all when None)."""
        with self._lock:
            fault = Fault(status, times, None, message or f"stand-in {status} for {method} {pattern}")
            self._path_faults.append(PathFault(method, pattern, fault))

    def freeze_assets(self, frozen: bool = True) -> None:
        """Let ListAssets keep answering the estate as it is now while writes go on, as Cloud Asset's
        ingestion lag does for minutes after a change; ``freeze_assets(False)`` catches up."""
        with self._lock:
            self._frozen = {pid: copy.deepcopy(p.assets) for pid, p in self.projects.items()} if frozen else None

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        """The stored IAM policy of a bucket (what the asset carries), for tests to read back."""
        asset = self._asset(f"//storage.googleapis.com/{bucket}")
        return None if asset is None else asset["iamPolicy"]

    def firewall(self, project: str, name: str) -> dict[str, Any] | None:
        asset = self._asset(f"//compute.googleapis.com/projects/{project}/global/firewalls/{name}")
        return None if asset is None else asset["data"]

    def requests_for(self, parent: str) -> list[dict[str, list[str]]]:
        prefix = f"/v1/{parent}/"
        return [query for path, query in self.requests if path.startswith(prefix)]

    # ------------------------------------------------------------ server
    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.startswith(("/storage/", "/compute/")):
                    standin._handle_api(self, "GET")
                else:
                    standin._handle(self)

            def do_PUT(self) -> None:  # noqa: N802
                standin._handle_api(self, "PUT")

            def do_PATCH(self) -> None:  # noqa: N802
                standin._handle_api(self, "PATCH")

            def do_POST(self) -> None:  # noqa: N802
                standin._handle_token(self)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="cloud-asset-standin", daemon=True
        )
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CloudAssetStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ requests
    def _handle_token(self, handler: BaseHTTPRequestHandler) -> None:
        """An OAuth token endpoint, so a credentials file whose ``token_uri`` points here works offline."""
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        with self._lock:
            self.token_requests += 1
        if urlsplit(handler.path).path != "/token":
            self._send_error(handler, 404, f"no route for {handler.path}")
            return
        self._send_json(handler, 200, {"access_token": "standin-token", "expires_in": 3600, "token_type": "Bearer"})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query, keep_blank_values=True)
        path = unquote(url.path)
        with self._lock:
            self.requests.append((path, query))
            self.authorizations.append(handler.headers.get("Authorization"))
        parts = path.strip("/").split("/")
        # /v1/{kind}/{id}/assets
        if len(parts) != 4 or parts[0] != "v1" or parts[3] != "assets":
            self._send_error(handler, 404, f"no route for {path}")
            return
        parent = f"{parts[1]}/{parts[2]}"
        fault = self._take_fault(parent)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send_error(handler, fault.status, fault.message, headers)
            return
        content_type = CONTENT_TYPES.get((query.get("contentType") or ["1"])[0])
        if content_type is None:
            self._send_error(handler, 400, f"unsupported contentType {query.get('contentType')}")
            return
        projects = self._projects_under(parent)
        if projects is None:
            self._send_error(handler, 403, f"The caller does not have permission on {parent}")
            return
        wanted = set(query.get("assetTypes") or [])
        scoped = [
            rendered
            for ancestors, asset in self.scope_assets
            if parent in ancestors
            for rendered in [self._render(asset, list(ancestors), ancestors[0], content_type)]
            if rendered is not None
        ]
        assets = [
            asset
            for asset in [*scoped, *(a for project in projects for a in self._assets_of(project, content_type))]
            if not wanted or asset["assetType"] in wanted
        ]
        try:
            start = int((query.get("pageToken") or ["0"])[0] or "0")
            size = int((query.get("pageSize") or ["100"])[0] or "100")
        except ValueError:
            self._send_error(handler, 400, "invalid page token or size")
            return
        size = max(1, min(size, self.page_limit))
        page = assets[start : start + size]
        body: dict[str, Any] = {"readTime": "2024-05-01T00:00:00Z", "assets": page}
        if start + size < len(assets):
            body["nextPageToken"] = str(start + size)
        self._send_json(handler, 200, body)

    # ------------------------------------------------------------ write surfaces (remediation)
    def _handle_api(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = unquote(urlsplit(handler.path).path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send_error(handler, 400, "the body is not JSON")
            return
        with self._lock:
            self.api_requests.append((method, path, body))
            self.authorizations.append(handler.headers.get("Authorization"))
            fault = self._take_path_fault(method, path)
        if fault is not None:
            self._send_error(handler, fault.status, fault.message)
            return
        if match := _BUCKET_IAM.match(path):
            status, answer = self._bucket_iam(method, match.group(1), body)
        elif match := _FIREWALL.match(path):
            status, answer = self._firewall(method, match.group(1), match.group(2), body)
        else:
            status, answer = 404, f"no route for {method} {path}"
        if status >= 400:
            self._send_error(handler, status, str(answer))
            return
        self._send_json(handler, status, answer)

    def _take_path_fault(self, method: str, path: str) -> Fault | None:
        for item in self._path_faults:
            if item.method == method and re.search(item.pattern, path) and item.fault.remaining != 0:
                if item.fault.remaining is not None:
                    item.fault.remaining -= 1
                return item.fault
        return None

    def _asset(self, name: str) -> dict[str, Any] | None:
        return next((a for p in self.projects.values() for a in p.assets if a["name"] == name), None)

    def _bucket_iam(self, method: str, bucket: str, body: Any) -> tuple[int, Any]:
        """The JSON API's bucket Policy resource; a PUT must carry the current etag, if it carries one."""
        with self._lock:
            asset = self._asset(f"//storage.googleapis.com/{bucket}")
            if asset is None or method not in ("GET", "PUT"):
                return 404, f"No such bucket: {bucket}"
            current = asset["iamPolicy"] or {"bindings": []}
            if method == "PUT":
                if not isinstance(body, dict):
                    return 400, "a Policy object is required"
                if body.get("etag") and body["etag"] != current.get("etag", DEFAULT_ETAG):
                    return 412, "Precondition Failed: the policy changed since it was read (etag)"
                self._etags += 1
                current = {
                    "version": body.get("version", 1),
                    "bindings": [dict(b) for b in body.get("bindings") or [] if b.get("members")],
                    "etag": base64.b64encode(f"standin-etag-{self._etags}".encode()).decode(),
                }
                asset["iamPolicy"] = current
            return 200, {
                "kind": "storage#policy",
                "resourceId": f"projects/_/buckets/{bucket}",
                "version": current.get("version", 1),
                "etag": current.get("etag", DEFAULT_ETAG),
                "bindings": [dict(b) for b in current.get("bindings") or []],
            }

    def _firewall(self, method: str, project: str, name: str, body: Any) -> tuple[int, Any]:
        """A Compute firewall; PATCH merges the fields sent (JSON merge patch) and answers a DONE Operation."""
        with self._lock:
            full_name = f"//compute.googleapis.com/projects/{project}/global/firewalls/{name}"
            asset = self._asset(full_name)
            if asset is None or method not in ("GET", "PATCH"):
                return 404, f"The resource 'projects/{project}/global/firewalls/{name}' was not found"
            link = f"https://compute.googleapis.com/compute/v1/projects/{project}/global/firewalls/{name}"
            if method == "GET":
                return 200, {"kind": "compute#firewall", "selfLink": link, **asset["data"]}
            if not isinstance(body, dict):
                return 400, "a Firewall object is required"
            data = dict(asset["data"])
            for key, value in body.items():
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            asset["data"] = data
            self._operations += 1
            return 200, {
                "kind": "compute#operation",
                "id": str(self._operations),
                "name": f"operation-standin-{self._operations}",
                "operationType": "patch",
                "targetLink": link,
                "status": "DONE",
                "progress": 100,
            }

    def _take_fault(self, parent: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(parent) or []
            while queue:
                fault = queue[0]
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        queue.pop(0)
                    return fault
                queue.pop(0)
        return None

    def _projects_under(self, parent: str) -> list[StandInProject] | None:
        kind, _, ident = parent.partition("/")
        if kind == "projects":
            found = [p for p in self.projects.values() if ident in (p.project_id, p.number)]
            return found or None
        if kind in ("folders", "organizations"):
            return [p for p in self.projects.values() if parent in p.ancestors]
        return None

    def _assets_of(self, project: StandInProject, content_type: str) -> list[dict[str, Any]]:
        ancestors = [f"projects/{project.number}", *project.ancestors]
        project_asset = {
            "name": f"//cloudresourcemanager.googleapis.com/projects/{project.number}",
            "assetType": PROJECT_ASSET_TYPE,
            "location": "global",
            "data": {
                "projectNumber": project.number,
                "projectId": project.project_id,
                "lifecycleState": project.lifecycle_state,
                "name": project.display_name,
                "parent": _parent_ref(project.ancestors),
            },
            "iamPolicy": project.iam_policy,
        }
        assets = project.assets if self._frozen is None else self._frozen.get(project.project_id, project.assets)
        owner = f"projects/{project.number}"
        rendered = (self._render(a, ancestors, owner, content_type) for a in [project_asset, *assets])
        return [out for out in rendered if out is not None]

    @staticmethod
    def _render(asset: dict[str, Any], ancestors: list[str], owner: str, content_type: str) -> dict[str, Any] | None:
        """The Asset message for one stored asset, or None when IAM_POLICY content has no policy to show."""
        out: dict[str, Any] = {
            "name": asset["name"],
            "assetType": asset["assetType"],
            "ancestors": ancestors,
            "updateTime": "2024-05-01T00:00:00Z",
        }
        if content_type == "RESOURCE":
            out["resource"] = {
                "version": "v1",
                "discoveryName": asset["assetType"].rsplit("/", 1)[-1],
                "parent": f"//cloudresourcemanager.googleapis.com/{owner}",
                "location": asset["location"],
                "data": asset["data"],
            }
        elif asset["iamPolicy"] is not None:
            policy = dict(asset["iamPolicy"])
            policy.setdefault("etag", base64.b64encode(b"standin-etag").decode())
            out["iamPolicy"] = policy
        else:
            return None  # IAM_POLICY content lists only assets that have a policy
        return out

    @staticmethod
    def _send_json(
        handler: BaseHTTPRequestHandler, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _send_error(
        self, handler: BaseHTTPRequestHandler, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        body = {
            "error": {
                "code": status,
                "message": message,
                "status": _STATUS_NAMES.get(status, HTTPStatus(status).phrase),
            }
        }
        self._send_json(handler, status, body, headers)


def _parent_ref(ancestors: tuple[str, ...]) -> dict[str, str]:
    if not ancestors:
        return {}
    kind, _, ident = ancestors[0].partition("/")
    return {"type": kind.rstrip("s"), "id": ident}
