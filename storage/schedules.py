"""Scan schedules: the source of truth the scheduler loads (see migration m004 for why not a job store).

A removed schedule keeps its row (``removed_at``) so the audit log's references stay meaningful."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.storage import audit
from skywarden.storage.db import dumps, loads, now


def add_schedule(
    db: sqlite_utils.Database, provider: str, accounts: Iterable[str], regions: Iterable[str], cron: str,
    timezone: str, channel: str | None, source: str, created_by: str, config_key: str | None = None,
) -> int:
    at = now()
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO schedules (provider, accounts, regions, cron, timezone, channel, source, config_key,"
            " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [provider, dumps(list(accounts)), dumps(list(regions)), cron, timezone, channel, source, config_key,
             created_by, at, at],
        )
        schedule_id = int(cursor.lastrowid or 0)
        audit.record(db, "schedule_added", created_by, at=at,
                     details={"schedule_id": schedule_id, "cron": cron, "timezone": timezone, "source": source})
    return schedule_id


def get_schedule(db: sqlite_utils.Database, schedule_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM schedules WHERE id = ?", [schedule_id]))
    return _decode(rows[0]) if rows else None


def list_schedules(db: sqlite_utils.Database, include_removed: bool = False) -> list[dict[str, Any]]:
    sql = "SELECT * FROM schedules" + ("" if include_removed else " WHERE removed_at IS NULL") + " ORDER BY id"
    return [_decode(row) for row in db.query(sql)]


def remove_schedule(db: sqlite_utils.Database, schedule_id: int, actor: str) -> bool:
    at = now()
    with db.atomic():
        changed = db.execute(
            "UPDATE schedules SET removed_at = ?, removed_by = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL",
            [at, actor, at, schedule_id],
        ).rowcount
        if changed:
            audit.record(db, "schedule_removed", actor, at=at, details={"schedule_id": schedule_id})
    return bool(changed)


def set_paused(db: sqlite_utils.Database, schedule_id: int, paused: bool, actor: str) -> bool:
    """False when the schedule is gone or already in that state (a double click changes nothing twice)."""
    at = now()
    with db.atomic():
        changed = db.execute(
            "UPDATE schedules SET paused = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL AND paused != ?",
            [int(paused), at, schedule_id, int(paused)],
        ).rowcount
        if changed:
            audit.record(db, "schedule_paused" if paused else "schedule_resumed", actor, at=at,
                         details={"schedule_id": schedule_id})
    return bool(changed)


def record_run(db: sqlite_utils.Database, schedule_id: int, at: str, outcome: str, scan_id: int | None = None,
               actor: str = "scheduler", action: str = "schedule_fired") -> None:
    """What a fire time turned into (started, joined a running scan, skipped as missed); audited."""
    with db.atomic():
        db.execute(
            "UPDATE schedules SET last_run_at = ?, last_outcome = ?, last_scan_id = COALESCE(?, last_scan_id)"
            " WHERE id = ?",
            [at, outcome, scan_id, schedule_id],
        )
        audit.record(db, action, actor, scan_id=scan_id, details={"schedule_id": schedule_id, "outcome": outcome,
                                                                  "fire_time": at})


def sync_config_schedules(db: sqlite_utils.Database, wanted: dict[str, dict[str, Any]]) -> None:
    """Make the 'config' rows equal to skywarden.yml: add new entries, remove the ones no longer declared.

    ``wanted`` maps a config key (the entry's identity) to its fields. A changed entry has a new key, so it
    is a new schedule; pausing a declared schedule survives restarts because the row is kept."""
    current = {row["config_key"]: row for row in db.query(
        "SELECT id, config_key, removed_at FROM schedules WHERE source = 'config'")}
    for key, fields in wanted.items():
        row = current.get(key)
        if row is None:
            add_schedule(db, fields["provider"], fields["accounts"], fields["regions"], fields["cron"],
                         fields["timezone"], fields["channel"], "config", "skywarden.yml", key)
        elif row["removed_at"] is not None:  # declared again: the same schedule, back
            at = now()
            with db.atomic():
                db.execute("UPDATE schedules SET removed_at = NULL, removed_by = NULL, updated_at = ? WHERE id = ?",
                           [at, row["id"]])
                audit.record(db, "schedule_added", "skywarden.yml", at=at,
                             details={"schedule_id": row["id"], "source": "config"})
    for key, row in current.items():
        if key not in wanted and row["removed_at"] is None:
            remove_schedule(db, row["id"], "skywarden.yml")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["accounts"] = loads(row["accounts"]) or []
    row["regions"] = loads(row["regions"]) or []
    row["paused"] = bool(row["paused"])
    return row


def record_result(db: sqlite_utils.Database, schedule_id: int, outcome: str, scan_id: int | None) -> None:
    """How the scan a schedule started ended (the fire time stays as recorded by record_run)."""
    db.execute("UPDATE schedules SET last_outcome = ?, last_scan_id = COALESCE(?, last_scan_id) WHERE id = ?",
               [outcome, scan_id, schedule_id])
