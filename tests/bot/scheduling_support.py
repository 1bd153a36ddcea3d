"""A scan runner on the real run_scan (so the ScanControl checkpoints and the single final transaction are
exercised), with a collect that can be slowed down, counted and observed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.core.scanning import ScanOutcome, run_scan
from skywarden.scanners.model import CollectionResult, Inventory, Resource
from tests.bot.helpers import ACCOUNT, RULES


@dataclass
class SlowEstate:
    resources: list[Resource] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[ScanRequest] = field(default_factory=list)
    collecting: threading.Event = field(default_factory=threading.Event)
    marker: str | None = None  # a file written when collection starts (for the subprocess test)
    concurrent: int = 0
    max_concurrent: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def runner(self, db: Any, request: ScanRequest) -> ScanOutcome:
        self.requests.append(request)
        accounts = list(request.accounts) or [ACCOUNT]

        def collect(resource_types: frozenset[str]) -> Inventory:
            with self._lock:
                self.concurrent += 1
                self.max_concurrent = max(self.max_concurrent, self.concurrent)
            try:
                self.collecting.set()
                if self.marker:
                    with open(self.marker, "w") as handle:
                        handle.write("collecting")
                time.sleep(self.delay_s)
                resources = [r for r in self.resources if r.account_id in accounts]
                coverage = [CollectionResult("aws", a, "s3", "global", ("aws.s3.bucket",), "ok") for a in accounts]
                return Inventory("aws", resources, coverage, {a: a for a in accounts}, ["us-east-1"])
            finally:
                with self._lock:
                    self.concurrent -= 1

        return run_scan(db, list(RULES.values()), "aws", {"accounts": accounts}, collect, request.trigger,
                        request.requested_by, request.control)


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
