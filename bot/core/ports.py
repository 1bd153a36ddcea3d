"""What the core and the parts around it say to each other: a scan request and the runner that carries it out;
as protocols, a publisher (Slack, or the console's printer), the remediation desk (Slack's approval flow) and
the scheduler. The core and the composition container name these, never the Slack classes that implement them,
so no import runs back up from core to slack."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import sqlite_utils

if TYPE_CHECKING:
    from skywarden.bot.core.scanning import ScanControl
    from skywarden.storage.suppressions import ExceptionSync


@dataclass(frozen=True)
class ScanRequest:
    provider: str
    accounts: tuple[str, ...] = ()  # account ids; empty = every account the configuration/credentials reach
    regions: tuple[str, ...] = ()
    requested_by: str = "system"
    origin_channel: str | None = None
    trigger: str = "slack"  # slack, console, schedule
    schedule_id: int | None = None
    control: ScanControl | None = field(default=None, compare=False, repr=False)  # set by the orchestrator
    # Where the requester's "scan started" reply can be replaced (a slash command's response_url), for progress.
    # Out of the repr: anyone holding it can post as the bot to that person.
    reply_url: str | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        return (self.provider, tuple(sorted(self.accounts)), tuple(sorted(self.regions)))

    def describe(self) -> str:
        accounts = ", ".join(self.accounts) or "all accounts"
        regions = ", ".join(self.regions) or "all regions"
        return f"{self.provider} ({accounts}; {regions})"


# (db, request) -> bot.core.scanning.ScanOutcome (or an object with scan_id, status, inventory, reconcile, summary)
ScanRunner = Callable[[sqlite_utils.Database, ScanRequest], Any]


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    pending: int = 0


class Publisher(Protocol):
    def scan_finished(self, outcome: Any, sync: ExceptionSync, request: ScanRequest) -> None: ...
    def scan_failed(self, request: ScanRequest, message: str) -> None: ...
    def scan_quiet(self, outcome: Any, request: ScanRequest) -> None: ...
    def scan_progress(self, request: ScanRequest, done: int, total: int) -> None: ...
    def refresh(self, finding_ids: Iterable[str]) -> None: ...
    def flush(self) -> FlushResult: ...


class RemediationDesk(Protocol):
    """Requests, approvals and their messages (``bot.slack.remediation.SlackRemediation``)."""

    def request(self, who: Any, ref: str, undo: bool = False) -> Any: ...
    def decide(self, who: Any, request_id: int, approve: bool) -> Future[Any]: ...
    def open_plan(self, client: Any, trigger_id: str, who: Any, ref: str) -> Any: ...
    def decide_button(self, who: Any, value: str, approve: bool) -> Future[Any] | None: ...
    def tell(self, who: Any, reply: Any) -> None: ...
    def sweep_expired(self) -> list[int]: ...
    def wait_idle(self, timeout: float = 60.0) -> None: ...
    def shutdown(self) -> None: ...


class Scheduling(Protocol):
    """The running scheduler of ``serve`` (``bot.core.jobs.ScanScheduler``)."""

    @property
    def running(self) -> bool: ...
    def sync(self) -> None: ...
    def shutdown(self) -> None: ...
