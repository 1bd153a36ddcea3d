"""A loopback stand-in for Azure Resource Manager and Resource Graph, for tests and the demo.

It serves the documented REST shapes the real SDK clients read (subscriptions, resource list, providers,
GET by id and child paths, the Resource Graph query with ``$skipToken`` paging) over https with a
self-signed certificate, so the SDK's real bearer-token policy runs unchanged. A PATCH of a resource by id
(what remediation sends) merges its ``properties`` and ``tags`` into the stored resource, so later GETs and
Resource Graph answers show the change. Every request is recorded (method, path, query, body), and faults
(status, headers, how many times) can be injected per path.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

_TYPES_IN_QUERY = re.compile(r"type\s+in~\s*\(([^)]*)\)", re.IGNORECASE)


@dataclass
class Fault:
    method: str
    path_pattern: str  # regex searched in the lower-case path
    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    times: int | None = None  # None: always
    body_contains: str | None = None  # only requests whose JSON body contains this text (e.g. a subscription id)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float


class StaticToken:
    """A credential for the stand-in only: azure-core asks it for a token, the stand-in never checks it."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes = scopes
        return AccessToken("standin-token", int(time.time()) + 3600)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skywarden-arm-standin")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "standin-cert.pem", directory / "standin-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class ArmStandIn:
    """Serve ``subscriptions`` ({id: display name}), ``resources`` (ARM JSON by id) and ``children``
    (ARM JSON by path: single objects, or lists served as ``{"value": [...], "nextLink": ...}`` pages of
    ``list_page_size``)."""

    def __init__(self, graph_page_size: int = 1000, list_page_size: int = 1000) -> None:
        self.subscriptions: dict[str, str] = {}
        self.resources: dict[str, dict[str, Any]] = {}
        self.children: dict[str, Any] = {}
        self.api_versions: dict[str, list[str]] = {}
        self.graph_page_size = graph_page_size
        self.list_page_size = list_page_size
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._graph_snapshot: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="skywarden-arm-")
        self.cert_path, key_path = self_signed_certificate(Path(self._tmp.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ArmStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="arm-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._tmp.cleanup()

    def __enter__(self) -> ArmStandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- estate
    def add_subscription(self, subscription_id: str, name: str) -> None:
        self.subscriptions[subscription_id] = name

    def add_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources[resource["id"].lower()] = resource
        namespace, _, rest = resource["type"].partition("/")
        self.api_versions.setdefault(f"{namespace}/{rest}".lower(), ["2023-01-01"])
        return resource

    def add_child(self, path: str, body: Any) -> None:
        self.children[path.lower().rstrip("/")] = body

    def fail(self, method: str, path_pattern: str, status: int, code: str = "Error", times: int | None = None,
             headers: Mapping[str, str] | None = None, body_contains: str | None = None) -> Fault:
        fault = Fault(method, path_pattern, status, {"error": {"code": code, "message": f"stand-in {code}"}},
                      dict(headers or {}), times, body_contains)
        self.faults.append(fault)
        return fault

    def freeze_graph(self, frozen: bool = True) -> None:
        """Let Resource Graph keep answering the resources as they are now while writes go on, as its
        indexing delay does after a change (ARM GETs stay current); ``freeze_graph(False)`` catches up."""
        with self._lock:
            self._graph_snapshot = copy.deepcopy(self.resources) if frozen else None

    def calls(self, method: str | None = None, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method) and contains.lower() in r.path]

    # ---------------------------------------------------------------- dispatch
    def handle(self, method: str, raw_path: str, body: Any) -> tuple[int, Any, Mapping[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path.lower().rstrip("/")
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append(Recorded(method, path, query, body, time.monotonic()))
            for fault in self.faults:
                if fault.body_contains is not None and fault.body_contains not in json.dumps(body):
                    continue
                if fault.method == method and re.search(fault.path_pattern, path) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    return fault.status, fault.body, fault.headers
        if method == "POST" and path == "/providers/microsoft.resourcegraph/resources":
            return 200, self._graph(body or {}), {}
        if method == "PATCH":
            return self._patch(path, body)
        if method != "GET":
            return 405, {"error": {"code": "MethodNotAllowed", "message": method}}, {}
        return self._get(path, query)

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, Mapping[str, str]]:
        segments = path.split("/")
        if path == "/subscriptions":
            items = [self._subscription(s) for s in sorted(self.subscriptions)]
            return 200, self._page(items, query, "/subscriptions", self.list_page_size), {}
        if len(segments) == 3 and segments[1] == "subscriptions":
            sub = self._known_subscription(segments[2])
            if sub is None:
                return 404, {"error": {"code": "SubscriptionNotFound", "message": segments[2]}}, {}
            return 200, self._subscription(sub), {}
        if len(segments) == 4 and segments[3] == "resources":
            return 200, self._resource_list(segments[2], query, path), {}
        if len(segments) == 5 and segments[3] == "providers":
            return 200, self._provider(segments[4]), {}
        if path in self.resources:
            return 200, self.resources[path], {}
        if path in self.children:
            body = self.children[path]
            # Lists page with nextLink like ARM's own collections, so collectors must follow it.
            return 200, (self._page(body, query, path, self.list_page_size) if isinstance(body, list) else body), {}
        return 404, {"error": {"code": "ResourceNotFound", "message": f"no resource at {path}"}}, {}

    def _patch(self, path: str, body: Any) -> tuple[int, Any, Mapping[str, str]]:
        """Update a resource in place, as ARM's PATCH does: the properties sent replace those stored (a JSON
        null removes one); everything else is left alone. Answers 200 with the whole resource, no LRO."""
        with self._lock:
            resource = self.resources.get(path)
            if resource is None:
                return 404, {"error": {"code": "ResourceNotFound", "message": f"no resource at {path}"}}, {}
            if not isinstance(body, dict):
                return 400, {"error": {"code": "InvalidRequestContent", "message": "a JSON object is required"}}, {}
            for key in ("properties", "tags"):
                if isinstance(body.get(key), dict):
                    merged = dict(resource.get(key) or {})
                    for name, value in body[key].items():
                        if value is None:
                            merged.pop(name, None)
                        else:
                            merged[name] = value
                    resource[key] = merged
            return 200, resource, {}

    def _known_subscription(self, sub_id: str) -> str | None:
        return next((s for s in self.subscriptions if s.lower() == sub_id), None)

    def _subscription(self, sub_id: str) -> dict[str, Any]:
        return {"id": f"/subscriptions/{sub_id}", "subscriptionId": sub_id, "displayName": self.subscriptions[sub_id],
                "state": "Enabled", "tenantId": "00000000-0000-0000-0000-0000000000aa"}

    def _in_subscription(self, resource: Mapping[str, Any], sub_id: str) -> bool:
        return resource["id"].lower().startswith(f"/subscriptions/{sub_id.lower()}/")

    def _page(self, items: list[Any], query: dict[str, list[str]], path: str, size: int) -> dict[str, Any]:
        start = int(query.get("$skiptoken", ["0"])[0])
        page: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            rest = urlencode({k: v[0] for k, v in query.items() if k != "$skiptoken"}, quote_via=quote)
            page["nextLink"] = f"{self.base_url}{path}?{rest}&$skiptoken={start + size}"
        return page

    def _resource_list(self, sub_id: str, query: dict[str, list[str]], path: str) -> dict[str, Any]:
        wanted = {t.lower() for t in re.findall(r"resourceType eq '([^']+)'", query.get("$filter", [""])[0])}
        items = [
            {k: r[k] for k in ("id", "name", "type", "location", "tags", "kind", "sku") if k in r}
            for key, r in sorted(self.resources.items())
            if self._in_subscription(r, sub_id) and (not wanted or r["type"].lower() in wanted)
        ]
        return self._page(items, query, path, self.list_page_size)

    def _provider(self, namespace: str) -> dict[str, Any]:
        types = [
            {"resourceType": key.split("/", 1)[1], "apiVersions": versions, "locations": []}
            for key, versions in sorted(self.api_versions.items())
            if key.split("/", 1)[0] == namespace
        ]
        return {"id": f"/providers/{namespace}", "namespace": namespace, "registrationState": "Registered",
                "resourceTypes": types}

    def _graph(self, body: Mapping[str, Any]) -> dict[str, Any]:
        subs = {s.lower() for s in body.get("subscriptions") or []}
        match = _TYPES_IN_QUERY.search(body.get("query", ""))
        types = {t.strip().strip("'\"").lower() for t in match.group(1).split(",")} if match else None
        rows = [
            self._graph_row(r)
            for _, r in sorted((self.resources if self._graph_snapshot is None else self._graph_snapshot).items())
            if r["id"].split("/")[2].lower() in subs and (types is None or r["type"].lower() in types)
        ]
        options = body.get("options") or {}
        start = int(options.get("$skipToken") or 0)
        size = min(int(options.get("$top") or self.graph_page_size), self.graph_page_size)
        page = rows[start : start + size]
        answer: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "resultTruncated": "false",
                                  "data": page, "facets": []}
        if start + size < len(rows):
            answer["$skipToken"] = str(start + size)
        return answer

    @staticmethod
    def _graph_row(resource: Mapping[str, Any]) -> dict[str, Any]:
        parts = resource["id"].split("/")
        row = {
            "id": resource["id"], "name": resource.get("name"), "type": resource["type"].lower(),
            "location": resource.get("location"), "subscriptionId": parts[2],
            "resourceGroup": parts[4].lower() if len(parts) > 4 else "", "tags": resource.get("tags") or {},
            "properties": resource.get("properties") or {},
        }
        for key in ("sku", "kind", "identity", "managedBy"):
            row[key] = resource.get(key)
        return row


def _handler(standin: ArmStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _respond(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, answer, headers = standin.handle(method, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._respond("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._respond("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._respond("PATCH")

    return Handler
