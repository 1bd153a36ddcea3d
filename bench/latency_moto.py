"""moto's server with a fixed delay in front of every request (as real AWS has), counting the calls.

    python bench/latency_moto.py PORT DELAY_MS

GET /__bench/calls answers the number of AWS calls served so far."""

from __future__ import annotations

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
        if environ.get("PATH_INFO") == "/__bench/calls":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(self.calls).encode()]
        with self.lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return self.app(environ, start_response)


if __name__ == "__main__":
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    app = Latency(DomainDispatcherApplication(create_backend_app), delay_ms / 1000)
    run_simple("127.0.0.1", port, app, threaded=True)
