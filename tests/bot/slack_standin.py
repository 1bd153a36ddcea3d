"""A loopback Slack Web API stand-in: port 0, stdlib only, records every call with its full body.

Answers /api/<method> for the methods the bot uses, and /respond/<id> for response_url. Failures can be
scripted per method (``fail(method, status, headers, times)``) to exercise the retry handlers and the outbox.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "U0BOT"


@dataclass
class Call:
    path: str
    method: str  # Web API method, or "respond"
    args: dict[str, Any]
    authorization: str | None
    content_type: str | None


@dataclass
class Upload:
    """A file sent the files_upload_v2 way: announced, its bytes POSTed to upload_url, then completed."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int


@dataclass
class SlackStandIn:
    calls: list[Call] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    auth_ok: bool = True
    uploads: dict[str, Upload] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # keep-alive + Nagle adds 40 ms per request
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.startswith("/upload/"):  # the upload_url: raw bytes, not a Web API call
                    reply = standin._receive(self.path.removeprefix("/upload/"), body).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    return
                raw = body.decode()
                ctype = self.headers.get("Content-Type")
                if ctype and "json" in ctype:
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                path = self.path.split("?")[0]
                method = path.removeprefix("/api/") if path.startswith("/api/") else "respond"
                call = Call(path, method, args, self.headers.get("Authorization"), ctype)
                status, headers, body = standin._answer(call)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def response_url(self, name: str = "x") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def fail(self, method: str, status: int = 500, headers: dict[str, str] | None = None,
             body: dict[str, Any] | None = None, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(status, headers or {}, body or {"ok": False, "error": "internal_error"}, times))

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            self.uploads.clear()

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def completed_uploads(self) -> list[Upload]:
        with self._lock:
            return [u for u in self.uploads.values() if u.channel is not None]

    def _receive(self, file_id: str, data: bytes) -> str:
        with self._lock:
            self.calls.append(Call(f"/upload/{file_id}", "upload", {"bytes": len(data)}, None, None))
            upload = self.uploads.get(file_id)
            if upload is None:
                return "unknown upload"
            upload.data = data
            return f"OK - {len(data)}"

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            self.calls.append(call)
            queue = self._failures.get(call.method)
            if queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.pop(0)
                return failure.status, failure.headers, failure.body
        method, args = call.method, call.args
        if method == "auth.test":
            if not self.auth_ok:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "user_id": BOT_USER, "bot_id": "B0BOT", "team_id": "T0TEAM", "user": "warden"}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            message = {"text": args.get("text")}
            return 200, {}, {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return 200, {}, {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        if method in ("views.open", "views.publish", "views.update"):
            return 200, {}, {"ok": True, "view": {"id": "V0VIEW", **(_view(args))}}
        if method == "usergroups.users.list":
            users = self.usergroups.get(str(args.get("usergroup")))
            if users is None:
                return 200, {}, {"ok": False, "error": "no_such_subteam"}
            return 200, {}, {"ok": True, "users": users}
        if method == "apps.connections.open":
            return 200, {}, {"ok": True, "url": getattr(self, "socket_url", "ws://127.0.0.1:9/")}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            self.uploads[file_id] = Upload(file_id, str(args.get("filename")), int(args.get("length") or 0))
            url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return 200, {}, {"ok": True, "upload_url": url, "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            files = json.loads(files) if isinstance(files, str) else (files or [])
            for entry in files:
                upload = self.uploads.get(entry.get("id"))
                if upload is None or upload.data is None or len(upload.data) != upload.length:
                    return 200, {}, {"ok": False, "error": "file_not_found"}  # never announced, or bytes missing
                upload.title = entry.get("title")
                upload.channel = args.get("channel_id")
                upload.initial_comment = args.get("initial_comment")
                upload.thread_ts = args.get("thread_ts")
            return 200, {}, {"ok": True, "files": [{"id": e.get("id"), "title": e.get("title")} for e in files]}
        if method == "respond":
            return 200, {}, {"ok": True}
        return 200, {}, {"ok": False, "error": "unknown_method"}


def _view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    return json.loads(view) if isinstance(view, str) else (view or {})
