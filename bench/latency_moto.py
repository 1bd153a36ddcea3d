"""moto's server with a fixed delay in front of every request (as real AWS has), counting the calls.

    python bench/latency_moto.py PORT DELAY_MS

GET /__bench/calls answers the number of AWS calls served so far; GET /__bench/stats answers JSON with the
calls and this process's CPU seconds (user + system), so a benchmark can tell whether moto's CPU, rather
than the latency, decided a run's time (one Python process serves every request: it can use one core at most).

The delay is a plain ``time.sleep`` in the request's own thread (werkzeug's threaded server: one thread per
connection, HTTP/1.1 keep-alive), outside every lock, so it releases the GIL and requests wait in parallel."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class Latency:
    def __init__(self, app: Any, delay_s: float) -> None:
        self.app, self.delay_s, self.calls, self.lock = app, delay_s, 0, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO")
        if path == "/__bench/calls":
            return _answer(start_response, str(self.calls), "text/plain")
        if path == "/__bench/stats":
            cpu = os.times()
            return _answer(start_response, json.dumps({"calls": self.calls, "cpu_s": cpu.user + cpu.system}),
                           "application/json")
        with self.lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return self.app(environ, start_response)


def _answer(start_response: Any, body: str, content_type: str) -> list[bytes]:
    start_response("200 OK", [("Content-Type", content_type)])
    return [body.encode()]


if __name__ == "__main__":
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    app = Latency(DomainDispatcherApplication(create_backend_app), delay_ms / 1000)
    run_simple("127.0.0.1", port, app, threaded=True)
