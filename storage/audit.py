"""The append-only audit/event log."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from skywarden.storage.db import dumps, loads, now


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
