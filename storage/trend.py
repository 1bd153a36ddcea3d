"""Findings over time: per UTC day and severity, how many were open at the end of the day, opened, resolved.

Replayed from the append-only event log, so it needs no snapshot table and agrees with the audit trail.
"Open" means the problem is believed to be there (state open, acknowledged or suppressed); "new" counts
findings opened or reopened that day; "resolved" counts those a scan resolved or a verified remediation
fixed that day. A finding counts once per day in each column, however often it flapped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlite_utils

from skywarden.rules.model import SEVERITIES

OPENING = ("opened", "reopened", "undo_applied")
CLOSING = ("resolved", "remediation_verified")


@dataclass(frozen=True)
class DailyCounts:
    """One UTC day; each mapping has every severity as a key (zero when none)."""

    day: date
    open: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)


def daily_finding_counts(
    db: sqlite_utils.Database,
    days: int = 30,
    until: date | None = None,
    provider: str | None = None,
    severities: Sequence[str] = SEVERITIES,
    accounts: Collection[str] | None = None,
) -> list[DailyCounts]:
    """``days`` consecutive days ending with ``until`` (default: today, UTC), oldest first; ``accounts``: only
    findings of these accounts (None: all), for a reader who may see only some."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    last = until or datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    sql = ("SELECT e.id, e.at, e.action, e.finding_id, f.severity FROM events e JOIN findings f ON f.id = e.finding_id"
           f" WHERE e.action IN ({','.join('?' for _ in OPENING + CLOSING)})")
    params: list[object] = [*OPENING, *CLOSING]
    if provider:
        sql += " AND f.provider = ?"
        params.append(provider)
    if accounts is not None:
        sql += f" AND f.account_id IN ({','.join('?' for _ in accounts) or 'NULL'})"
        params.extend(accounts)
    active: dict[str, str] = {}  # finding id -> severity, while open
    new: dict[date, dict[str, set[str]]] = {}
    resolved: dict[date, dict[str, set[str]]] = {}
    result: list[DailyCounts] = []
    day = first

    def close_days_before(limit: date) -> None:
        nonlocal day
        while day < limit and day <= last:
            result.append(_counts(day, active, new.get(day, {}), resolved.get(day, {}), severities))
            day += timedelta(days=1)

    # Ordered by the instant, not the text: a stamp written with another UTC offset still sorts right.
    rows = sorted(db.query(sql, params), key=lambda r: (_instant(r["at"]), r["id"]))
    for row in rows:
        at = _instant(row["at"]).date()
        close_days_before(at)
        if at > last:
            break
        opening = row["action"] in OPENING
        # Only a change counts: opening what is open (or closing what is closed) is no news.
        changed = (row["finding_id"] in active) != opening
        if opening:
            active[row["finding_id"]] = row["severity"]
        else:
            active.pop(row["finding_id"], None)
        if changed and at >= first:
            bucket = new if opening else resolved
            bucket.setdefault(at, {}).setdefault(row["severity"], set()).add(row["finding_id"])
    close_days_before(last + timedelta(days=1))
    return result


def _instant(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)  # naive = UTC


def _counts(day: date, active: dict[str, str], new: dict[str, set[str]], resolved: dict[str, set[str]],
            severities: Sequence[str]) -> DailyCounts:
    open_counts = dict.fromkeys(severities, 0)
    for severity in active.values():
        if severity in open_counts:
            open_counts[severity] += 1
    return DailyCounts(
        day,
        open_counts,
        {s: len(new.get(s, ())) for s in severities},
        {s: len(resolved.get(s, ())) for s in severities},
    )
