"""The vocabulary every command family shares: who asked, the reply, usage errors, typed numbers, refusals.

Every command family module imports it; it imports none of them (the import-layer test refuses circles)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import TYPE_CHECKING, Any, Protocol

from skywarden.bot.slack import blocks
from skywarden.storage import audit

if TYPE_CHECKING:
    import sqlite_utils

    from skywarden.bot.core.orchestrator import Submission
    from skywarden.bot.services import Services


class UsageError(ValueError):
    pass


MAX_ID = 2**63 - 1  # SQLite's largest INTEGER: any id or number beyond it cannot exist
MAX_PAGE = 100_000
MAX_DAYS = 36_500


def parse_number(text: str, what: str, low: int = 1, high: int = MAX_ID) -> int:
    """A whole number typed by a person, for every command that takes one: ASCII digits only (``int()`` would
    also take '１２', '٣', ' 7 ' or '1_0'; '²' passes ``isdigit()`` and then fails ``int()``), from low to high.
    Anything else is a UsageError naming what was expected, never an overflow further down."""
    text = text.strip().lstrip("#")
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(high)):
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not {text[:40]!r}")
    number = int(text)
    if not low <= number <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not {text[:40]!r}")
    return number


def finding_ref(text: str) -> str:
    """A finding as typed: its short number (checked like any number) or its 20-character id."""
    ref = text.strip().lstrip("#")
    if re.fullmatch(r"[0-9a-f]{20}", ref):
        return ref
    return str(parse_number(ref, "the finding number"))


@dataclass(frozen=True)
class Who:
    user: str
    channel: str | None = None
    source: str = "slack"  # or "console"
    # A slash command's response_url: where a long-running answer (a scan's progress) may replace the reply.
    response_url: str | None = field(default=None, repr=False, compare=False)


@dataclass
class Reply:
    message: blocks.Message
    ephemeral: bool = True
    ok: bool = True
    submission: Submission | None = None
    changed: list[str] = field(default_factory=list)  # finding ids whose state changed


class _Ledgered(Protocol):
    @property
    def db(self) -> sqlite_utils.Database: ...


def _refuse(services: _Ledgered, who: Who, action: str, why: str, finding_id: str | None = None,
            **details: Any) -> Reply:
    audit.record(services.db, "refused", who.user, finding_id=finding_id,
                 details={"action": action, "why": why, "source": who.source, **details})
    return Reply(blocks.notice(f"Not allowed: {why}."), ok=False)


def _today(services: Services) -> date:
    return services.clock().astimezone(UTC).date()
