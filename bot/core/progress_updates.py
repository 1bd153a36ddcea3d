"""Collection progress for people watching a scan from chat: units counted as they finish, and updates
throttled so a scan of thousands of units edits its "scan running" message a handful of times, not thousands.

The CLI's progress bar (bot/core/progress.py) draws every unit; a chat message must not: Slack rate-limits
edits, and a response_url accepts only a few uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from skywarden.scanners.model import CollectionResult

Report = Callable[[int, int], None]  # (units done, units total)


class ProgressThrottle:
    """Passes (done, total) on at most once per ``min_interval_s``, always passes the last unit (done ==
    total) exactly once, and never more than ``max_updates`` times in all: the last one is kept for the final
    update. Calls from several collection threads are serialised."""

    def __init__(self, report: Report, min_interval_s: float = 5.0, max_updates: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_updates is not None and max_updates < 1:
            raise ValueError("max_updates must be at least 1 (the final update)")
        self._report = report
        self._interval = min_interval_s
        self._max = max_updates
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._sent = 0
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            if not self._due(done, total):
                return
            self._sent += 1
            self._last = self._clock()
            self._finished = done >= total
            # Under the lock: two updates must reach Slack in order, or "3 of 40" could overwrite "40 of 40".
            self._report(done, total)

    def _due(self, done: int, total: int) -> bool:
        if self._finished:
            return False
        if done >= total:
            return True
        if self._max is not None and self._sent >= self._max - 1:
            return False  # the remaining use belongs to the final update
        return self._last is None or self._clock() - self._last >= self._interval


class UnitCounter:
    """Turns an in-process plan's callbacks (``on_plan(total)``, then ``on_result(unit)`` per unit, from the
    collection threads) into (done, total) reports, as a distributed scan's ``on_progress`` gives them."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._lock = threading.Lock()
        self.total = 0
        self.done = 0

    def plan(self, units: int) -> None:
        with self._lock:
            self.total = units
            self._report(0, units)

    def advance(self, result: CollectionResult) -> None:
        with self._lock:
            self.done += 1
            # A plan that reports units without announcing them first still ends on done == total.
            self._report(self.done, max(self.total, self.done))
