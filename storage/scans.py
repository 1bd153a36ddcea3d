"""Scans and their coverage."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.scanners.model import CollectionResult
from skywarden.storage import audit
from skywarden.storage.db import dumps, loads, now
from skywarden.storage.finding_views import readable_condition
from skywarden.storage.liveness import stamp, this_host

RUNNING = "running"
FINISHED_STATES = ("succeeded", "partial", "failed", "interrupted")


def start_scan(
    db: sqlite_utils.Database,
    provider: str,
    scope: dict[str, Any],
    trigger: str = "cli",
    requested_by: str | None = None,
) -> int:
    snapshot = stamp()  # collection starts right after: reconcile orders verdicts by this, not by commit
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO scans (provider, scope, trigger, requested_by, started_at, status, snapshot_at, pid, host,"
            " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [provider, dumps(scope), trigger, requested_by, now(), RUNNING, snapshot, os.getpid(), this_host(),
             snapshot],
        )
        scan_id = int(cursor.lastrowid or 0)
        audit.record(db, "scan_started", requested_by or "system", scan_id=scan_id, details={"scope": scope})
    return scan_id


def record_coverage(db: sqlite_utils.Database, scan_id: int, coverage: Iterable[CollectionResult]) -> None:
    rows = [
        {
            "scan_id": scan_id,
            "provider": unit.provider,
            "account_id": unit.account_id,
            "service": unit.service,
            "region": unit.region,
            "resource_types": dumps(list(unit.resource_types)),
            "status": unit.status,
            "error_class": unit.error_class,
            "message": unit.message,
            "resource_count": unit.resource_count,
            "duration_s": round(unit.duration_s, 3),
        }
        for unit in coverage
    ]
    if rows:
        db["coverage"].insert_all(rows)


def finish_scan(
    db: sqlite_utils.Database,
    scan_id: int,
    status: str,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    db.execute(
        "UPDATE scans SET finished_at = ?, status = ?, summary = ?, error = ? WHERE id = ?",
        [now(), status, dumps(summary or {}), error, scan_id],
    )
    audit.record(db, "scan_finished", scan_id=scan_id, details={"status": status, "error": error})


def record_progress(db: sqlite_utils.Database, scan_id: int, done: int, total: int) -> None:
    """Units of a distributed scan come back so far, out of those sent (its own short transaction)."""
    with db.atomic():
        db.execute("UPDATE scans SET units_done = ?, units_total = ? WHERE id = ?", [done, total, scan_id])


def get_scan(db: sqlite_utils.Database, scan_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM scans WHERE id = ?", [scan_id]))
    return _decode(rows[0]) if rows else None


def recent_scans(db: sqlite_utils.Database, limit: int = 10) -> list[dict[str, Any]]:
    return [_decode(row) for row in db.query("SELECT * FROM scans ORDER BY id DESC LIMIT ?", [limit])]


def coverage_for(db: sqlite_utils.Database, scan_id: int, failed_only: bool = False) -> list[dict[str, Any]]:
    sql = "SELECT * FROM coverage WHERE scan_id = ?" + (" AND status != 'ok'" if failed_only else "")
    rows = []
    for row in db.query(sql + " ORDER BY account_id, service, region", [scan_id]):
        row["resource_types"] = loads(row["resource_types"])
        rows.append(row)
    return rows


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["scope"] = loads(row["scope"])
    row["summary"] = loads(row["summary"])
    return row


RECENT_SCANS = 200  # how far back the App Home looks for an account's last scan (an index walk, not a table scan)


def last_scan_per_account(db: sqlite_utils.Database, readable: set[str] | None,
                          recent: int = RECENT_SCANS) -> dict[str, dict[str, Any]]:
    """Per account the reader may see (None: every account), the latest of the last ``recent`` scans that
    reached it: scan id, provider, status, started_at, finished_at, and its coverage units and failed ones
    (``gaps``) for that account. An account untouched by those scans is absent."""
    condition, params = readable_condition(readable, "c.account_id")
    latest: dict[str, dict[str, Any]] = {}
    for row in db.query(
        "SELECT c.account_id, c.provider, c.scan_id, s.status, s.started_at, s.finished_at,"
        " COUNT(*) AS units, SUM(CASE WHEN c.status != 'ok' THEN 1 ELSE 0 END) AS gaps"
        " FROM coverage c JOIN scans s ON s.id = c.scan_id"
        f" WHERE c.scan_id IN (SELECT id FROM scans ORDER BY id DESC LIMIT ?) AND {condition}"
        " GROUP BY c.account_id, c.scan_id ORDER BY c.scan_id", [recent, *params],
    ):
        latest[row["account_id"]] = row  # ordered by scan id: the last one wins
    return latest
