"""The append-only audit/event log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.storage.values import dumps, loads, now


def record(
    db: sqlite_utils.Database,
    action: str,
    actor: str = "system",
    finding_id: str | None = None,
    scan_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO events (at, actor, action, finding_id, scan_id, details) VALUES (?, ?, ?, ?, ?, ?)",
        [at or now(), actor, action, finding_id, scan_id, dumps(details or {})],
    )


def record_many(
    db: sqlite_utils.Database,
    action: str,
    entries: Iterable[tuple[str | None, dict[str, Any]]],
    actor: str = "system",
    scan_id: int | None = None,
    at: str | None = None,
) -> None:
    """``record`` for many (finding id, details) pairs in one statement: a first scan of a large estate opens
    hundreds of thousands of findings, and one INSERT per event dominated its reconcile."""
    stamp = at or now()
    db.conn.executemany(
        "INSERT INTO events (at, actor, action, finding_id, scan_id, details) VALUES (?, ?, ?, ?, ?, ?)",
        ((stamp, actor, action, finding_id, scan_id, dumps(details)) for finding_id, details in entries),
    )


def events(db: sqlite_utils.Database, finding_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM events"
    params: list[Any] = []
    if finding_id:
        sql += " WHERE finding_id = ?"
        params.append(finding_id)
    sql += " ORDER BY id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = []
    for row in db.query(sql, params):
        row["details"] = loads(row["details"])
        rows.append(row)
    return rows
