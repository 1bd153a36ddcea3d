"""Read-only views of the findings the bot shows: pages, counts per rule / account / severity, one scan's new
findings. Every query takes the set of accounts the reader may see (None: every account), so an access rule
is applied in SQL, with bound parameters only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from skywarden.rules.model import SEVERITIES
from skywarden.storage.findings import ACKNOWLEDGED, ACTIVE_STATES, OPEN

Readable = set[str] | None

# Most severe first; an unknown severity after every known one.
_RANK = "CASE severity " + " ".join(f"WHEN ? THEN {i}" for i, _ in enumerate(SEVERITIES)) + " ELSE 99 END"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def readable_condition(readable: Readable, column: str = "account_id") -> tuple[str, list[Any]]:
    """An SQL condition (with its parameters) keeping rows of the readable accounts; None reads everything."""
    if readable is None:
        return "1", []
    if not readable:
        return "0", []
    accounts = sorted(readable)
    return f"{column} IN ({_marks(accounts)})", accounts


def _open_where(readable: Readable, account: str | None, severity: str | None) -> tuple[str, list[Any]]:
    condition, params = readable_condition(readable)
    where = ["state IN (?, ?)", condition]
    values: list[Any] = [OPEN, ACKNOWLEDGED, *params]
    if account:
        where.append("account_id = ?")
        values.append(account)
    if severity:
        where.append("severity = ?")
        values.append(severity)
    return " AND ".join(where), values


def count_open(db: sqlite_utils.Database, readable: Readable, account: str | None = None,
               severity: str | None = None) -> int:
    """Open or acknowledged findings the reader may see, optionally of one account and one severity."""
    where, values = _open_where(readable, account, severity)
    return int(next(iter(db.query(f"SELECT COUNT(*) AS n FROM findings WHERE {where}", values)))["n"])


def page_open(db: sqlite_utils.Database, readable: Readable, account: str | None, severity: str | None,
              limit: int, offset: int) -> list[str]:
    """Ids of one page of those findings, most severe first, then by number."""
    where, values = _open_where(readable, account, severity)
    return [row["id"] for row in db.query(
        f"SELECT id FROM findings WHERE {where} ORDER BY {_RANK}, number LIMIT ? OFFSET ?",
        [*values, *SEVERITIES, limit, offset])]


def failing_rule_counts(db: sqlite_utils.Database, readable: Readable) -> Counter[str]:
    """Open (or acknowledged) findings per rule; suppressed ones are accepted risk."""
    condition, params = readable_condition(readable)
    return Counter({row["rule_id"]: row["n"] for row in db.query(
        f"SELECT rule_id, COUNT(*) AS n FROM findings WHERE state IN (?, ?) AND {condition} GROUP BY rule_id",
        [OPEN, ACKNOWLEDGED, *params])})


def open_counts(db: sqlite_utils.Database, readable: Readable) -> list[dict[str, Any]]:
    """(account_id, severity, n) of the open or acknowledged findings the reader may see."""
    condition, params = readable_condition(readable)
    return list(db.query(
        f"SELECT account_id, severity, COUNT(*) AS n FROM findings WHERE state IN (?, ?) AND {condition}"
        " GROUP BY account_id, severity", [OPEN, ACKNOWLEDGED, *params]))


def active_counts(db: sqlite_utils.Database, provider: str, accounts: Iterable[str]) -> list[dict[str, Any]]:
    """(account_id, severity, n) of the active findings of some accounts of one provider (a scan's digest)."""
    wanted = sorted(set(accounts))
    if not wanted:
        return []
    states = list(ACTIVE_STATES)
    return list(db.query(
        f"SELECT account_id, severity, COUNT(*) AS n FROM findings WHERE provider = ? AND account_id IN "
        f"({_marks(wanted)}) AND state IN ({_marks(states)}) GROUP BY account_id, severity",
        [provider, *wanted, *states]))


def open_from_scan(db: sqlite_utils.Database, scan_id: int) -> list[dict[str, Any]]:
    """The open findings a scan saw last, by number."""
    return list(db.query("SELECT * FROM findings WHERE state = ? AND last_scan_id = ? ORDER BY number",
                         [OPEN, scan_id]))


def coverage_accounts(db: sqlite_utils.Database, scan_id: int) -> set[str]:
    """The accounts a stored scan's coverage names."""
    return {row["account_id"] for row in db.query("SELECT DISTINCT account_id FROM coverage WHERE scan_id = ?",
                                                  [scan_id])}


def collected_types(db: sqlite_utils.Database, readable: Readable) -> set[str]:
    """Resource types in the stored inventory of the readable accounts: a control none of whose rules' types
    was ever collected is 'not evaluated', not passing."""
    condition, params = readable_condition(readable)
    return {row["type"] for row in db.query(f"SELECT DISTINCT type FROM resources WHERE {condition}", params)}
