"""Scans requested from chat run here, never in a listener thread: one scan per scope at a time, on a small
background pool. After each scan the exceptions are applied (expiry, rule-wide suppressions) and the results
are handed to the publisher (Slack or the console)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

from rules.errors import SkywardenError
from storage.db import now
from storage.exceptions import apply_exceptions

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanRequest:
    provider: str
    accounts: tuple[str, ...] = ()  # account ids; empty = every account the configuration/credentials reach
    regions: tuple[str, ...] = ()
    requested_by: str = "system"
    origin_channel: str | None = None
    trigger: str = "slack"

    @property
    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        return (self.provider, tuple(sorted(self.accounts)), tuple(sorted(self.regions)))

    def describe(self) -> str:
        accounts = ", ".join(self.accounts) or "all accounts"
        regions = ", ".join(self.regions) or "all regions"
        return f"{self.provider} ({accounts}; {regions})"


# (db, request) -> bot.scanning.ScanOutcome (or an object with scan_id, status, inventory, reconcile, summary)
ScanRunner = Callable[[sqlite_utils.Database, ScanRequest], Any]


@dataclass
class Submission:
    started: bool
    future: Future[Any] | None = None
    running: ScanRequest | None = None  # the scan already running for this scope
    started_at: str | None = None


@dataclass
class _Running:
    request: ScanRequest
    started_at: str
    future: Future[Any] = field(default_factory=Future)


class Orchestrator:
    def __init__(self, services: Services, max_workers: int = 2) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="skywarden-scan")
        self._lock = threading.Lock()
        self._running: dict[tuple[Any, ...], _Running] = {}
        self._timer_stop = threading.Event()
        self._timer: threading.Thread | None = None

    def submit(self, request: ScanRequest) -> Submission:
        with self._lock:
            current = self._running.get(request.key)
            if current is not None:
                return Submission(False, current.future, current.request, current.started_at)
            running = _Running(request, now())
            self._running[request.key] = running
            running.future = self._pool.submit(self._run, request)
            return Submission(True, running.future, None, running.started_at)

    def running(self) -> list[tuple[ScanRequest, str]]:
        with self._lock:
            return [(r.request, r.started_at) for r in self._running.values()]

    def _run(self, request: ScanRequest) -> Any:
        publisher = self.services.publisher
        try:
            db = self.services.db
            outcome = self.services.scan_runner(db, request)
            sync = apply_exceptions(db, now(), outcome.scan_id)
            publisher.scan_finished(outcome, sync, request)
            return outcome
        except SkywardenError as exc:
            publisher.scan_failed(request, str(exc))
            raise
        except Exception as exc:
            log.exception("scan %s failed", request.describe())
            publisher.scan_failed(request, f"internal error ({type(exc).__name__}); see the bot's log")
            raise
        finally:
            with self._lock:
                self._running.pop(request.key, None)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the scans running now (tests, console, shutdown)."""
        with self._lock:
            futures = [r.future for r in self._running.values()]
        for future in futures:
            with contextlib.suppress(Exception):  # already reported to the channel by _run
                future.result(timeout=timeout)

    def start_outbox_timer(self, interval_s: float = 30.0) -> None:
        """Retry unsent messages periodically (a Slack outage outlives one scan)."""

        def loop() -> None:
            while not self._timer_stop.wait(interval_s):
                try:
                    self.services.publisher.flush()
                except Exception:
                    log.exception("outbox flush failed")

        self._timer = threading.Thread(target=loop, name="skywarden-outbox", daemon=True)
        self._timer.start()

    def shutdown(self, wait: bool = True) -> None:
        self._timer_stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
