"""Every scan the bot runs, on demand or scheduled, goes through here, never in a listener thread:

- one scan per scope at a time: a second request for a running scope joins it (and is told so);
- a global concurrency limit (the pool size): more requests wait in line, and are told so;
- a per-scan timeout: a watchdog expires the scan's ``ScanControl``; the scan stops at its next checkpoint
  and stores nothing (a thread cannot be killed, so a scan stuck inside one API call keeps its worker until
  the call returns, but it frees its scope at once and can no longer resolve anything);
- after each scan the exceptions are applied (expiry, rule-wide suppressions) and the results handed to the
  publisher (Slack or the console). A scheduled scan with nothing new, reopened or resolved stays quiet
  (``scans.quiet``: post nothing, or one line)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from skywarden.bot.core.ports import Publisher, ScanRequest, ScanRunner  # noqa: F401 - ScanRunner re-exported
from skywarden.bot.core.progress_updates import ProgressThrottle
from skywarden.bot.core.scanning import ScanControl
from skywarden.scanners.errors import SkywardenError
from skywarden.storage import audit
from skywarden.storage.db import now
from skywarden.storage.housekeeping import fail_running_scan
from skywarden.storage.suppressions import apply_exceptions

if TYPE_CHECKING:
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 5.0  # at most one "n of N units collected" update per this many seconds (and the last)
PROGRESS_UPDATES = 5  # in all, the final one included: a response_url takes five uses


@dataclass
class Submission:
    started: bool
    future: Future[Any] | None = None
    running: ScanRequest | None = None  # the scan already running for this scope
    started_at: str | None = None
    waiting: int = 0  # scans ahead of this one for a worker (the concurrency limit)


@dataclass
class _Running:
    request: ScanRequest
    started_at: str
    future: Future[Any] = field(default_factory=Future)


class Orchestrator:
    def __init__(self, ledger: Ledger, runner: ScanRunner, publisher: Publisher, max_workers: int = 2,
                 timeout_s: float | None = None, quiet: str = "silent",
                 progress_interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.ledger = ledger
        self.runner = runner
        self.publisher = publisher  # replaceable: the console prints where Slack would post
        self.progress_interval_s = progress_interval_s
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.quiet = quiet
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
            request = dataclasses.replace(request, control=ScanControl(self.timeout_s))
            running = _Running(request, now())
            waiting = max(0, len(self._running) - self.max_workers + 1)
            self._running[request.key] = running
            running.future = self._pool.submit(self._run, running)
            return Submission(True, running.future, None, running.started_at, waiting)

    def running(self) -> list[tuple[ScanRequest, str]]:
        with self._lock:
            return [(r.request, r.started_at) for r in self._running.values()]

    def _run(self, running: _Running) -> Any:
        request = running.request
        control = request.control
        publisher = self.publisher
        watchdog = None
        if control is not None and self.timeout_s:
            # The clock starts when a worker picks the scan up: waiting in line is not running.
            control.deadline = time.monotonic() + self.timeout_s
            watchdog = threading.Timer(self.timeout_s, self._expire, [running])
            watchdog.daemon = True
            watchdog.start()
        if control is not None:
            control.on_progress = self._progress(request)
        try:
            db = self.ledger.db
            outcome = self.runner(db, request)
            sync = apply_exceptions(db, now(), outcome.scan_id)
            if request.trigger == "schedule" and is_quiet(outcome, sync):
                self._quiet(outcome, request)
            else:
                publisher.scan_finished(outcome, sync, request)
            return outcome
        except SkywardenError as exc:
            if not (control is not None and control.expired):  # the watchdog has told the channel already
                publisher.scan_failed(request, str(exc))
            raise
        except Exception as exc:
            log.exception("scan %s failed", request.describe())
            publisher.scan_failed(request, f"internal error ({type(exc).__name__}); see the bot's log")
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._release(running)

    def _progress(self, request: ScanRequest) -> Callable[[int, int], None]:
        """Collection progress to the publisher, throttled: at most one update per interval, the last unit
        always, and PROGRESS_UPDATES in all (Slack accepts five uses of a response_url)."""
        publisher = self.publisher
        return ProgressThrottle(lambda done, total: publisher.scan_progress(request, done, total),
                                self.progress_interval_s, PROGRESS_UPDATES)

    def _release(self, running: _Running) -> None:
        with self._lock:
            if self._running.get(running.request.key) is running:  # not a newer scan of the same scope
                del self._running[running.request.key]

    def _expire(self, running: _Running) -> None:
        """The per-scan timeout. Frees the scope at once; the scan itself stops at its next checkpoint."""
        request, control = running.request, running.request.control
        if control is None or not control.expire():
            return  # finished, or already committing its results: let it complete
        message = f"timed out after {self.timeout_s:g} s; nothing was resolved"
        log.warning("scan %s %s", request.describe(), message)
        db = self.ledger.db
        if control.scan_id is not None:
            fail_running_scan(db, control.scan_id, message)
        else:
            audit.record(db, "scan_timed_out", request.requested_by, details={"scope": request.describe()})
        self._release(running)
        self.publisher.scan_failed(request, message)

    def _quiet(self, outcome: Any, request: ScanRequest) -> None:
        """Silence is a feature: a scheduled scan that changed nothing posts nothing, or one quiet line."""
        audit.record(self.ledger.db, "digest_skipped", scan_id=outcome.scan_id,
                     details={"reason": "nothing new, reopened or resolved", "quiet": self.quiet,
                              "schedule_id": request.schedule_id})
        if self.quiet == "line":
            self.publisher.scan_quiet(outcome, request)

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
                    self.publisher.flush()
                except Exception:
                    log.exception("outbox flush failed")

        self._timer = threading.Thread(target=loop, name="skywarden-outbox", daemon=True)
        self._timer.start()

    def shutdown(self, wait: bool = True) -> None:
        self._timer_stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def is_quiet(outcome: Any, sync: Any) -> bool:
    """Nothing to tell: no finding new, reopened (by the scan or a suppression ending) or resolved, and full
    coverage (a gap is news: part of the estate went unchecked)."""
    result = outcome.reconcile
    return (outcome.status == "succeeded" and not result.new and not result.reopened and not result.resolved
            and not sync.reopened)
