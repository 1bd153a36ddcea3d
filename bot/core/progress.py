"""A scan progress bar on an interactive terminal; silent otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from skywarden.scanners.model import CollectionResult


class ScanProgress:
    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: int | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("collecting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
            )
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def plan(self, units: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("collect", total=units)

    def advance(self, result: CollectionResult) -> None:
        if self._progress is not None and self._task is not None:
            with self._lock:
                self._progress.advance(self._task)
