"""A loopback stand-in for the Cloud Asset API's REST surface (``ListAssets`` only).

It serves the documented response shapes to the real ``google-cloud-asset`` client, so tests and
``skywarden demo`` exercise the production code path end to end: request encoding (enums as numbers,
repeated ``assetTypes``), paging on ``nextPageToken`` and the HTTP error mapping. It binds to
127.0.0.1 on an ephemeral port and never leaves the process.

It also answers ``POST /token`` like an OAuth token endpoint, so a credentials file whose ``token_uri``
points here exercises the production credential path without reaching Google.

Faults are scripted per parent (``projects/x``, ``folders/n``, ``organizations/n``): a status code,
optionally with ``Retry-After``, for the next N requests or for all of them.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTENT_TYPES = {"1": "RESOURCE", "2": "IAM_POLICY", "RESOURCE": "RESOURCE", "IAM_POLICY": "IAM_POLICY"}
PROJECT_ASSET_TYPE = "cloudresourcemanager.googleapis.com/Project"
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


class CloudAssetStandIn:
    """An in-memory estate served over HTTP on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, page_limit: int = 500) -> None:
        self.page_limit = page_limit
        self.projects: dict[str, StandInProject] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each API request
        self.token_requests = 0
        self._faults: dict[str, list[Fault]] = {}
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

    def fail(
        self, parent: str, status: int, times: int | None = None, retry_after: str | None = None, message: str = ""
    ) -> None:
        """Answer the next ``times`` requests for ``parent`` (all of them when None) with ``status``."""
        with self._lock:
            self._faults.setdefault(parent, []).append(
                Fault(status, times, retry_after, message or f"stand-in {status} for {parent}")
            )

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
                standin._handle(self)

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
        assets = [
            asset
            for project in projects
            for asset in self._assets_of(project, content_type)
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
        result = []
        for asset in [project_asset, *project.assets]:
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
                    "parent": f"//cloudresourcemanager.googleapis.com/projects/{project.number}",
                    "location": asset["location"],
                    "data": asset["data"],
                }
            elif asset["iamPolicy"] is not None:
                policy = dict(asset["iamPolicy"])
                policy.setdefault("etag", base64.b64encode(b"standin-etag").decode())
                out["iamPolicy"] = policy
            else:
                continue  # IAM_POLICY content lists only assets that have a policy
            result.append(out)
        return result

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
