"""Housekeeping writes: scans a dead process left 'running', scans that timed out, suppression expiry
(ending, reminders, extending). Each change is conditional, so a repeat or a double click has one effect."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from skywarden.storage import audit, liveness
from skywarden.storage.db import now

INTERRUPTED = "interrupted"
EXTENDED = "extended"
LET_EXPIRE = "let_expire"


def mark_interrupted(db: sqlite_utils.Database, at: str | None = None,
                     stale_after_s: float | None = None) -> list[int]:
    """Scans still 'running' whose process is gone (pid dead on this host, or heartbeat stale): interrupted.

    Their results were never reconciled (reconcile and finish_scan commit together, at the very end), so they
    resolved nothing. A scan whose process is alive (a CLI scan while `serve` starts) is left alone."""
    at = at or now()
    with db.atomic():
        running = list(db.query("SELECT id, pid, host, heartbeat_at FROM scans WHERE status = 'running' ORDER BY id"))
        ids = [row["id"] for row in running if not liveness.scan_alive(
            row, stale_after_s=liveness.STALE_AFTER_S if stale_after_s is None else stale_after_s)]
        for scan_id in ids:
            db.execute(
                "UPDATE scans SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = 'running'",
                [INTERRUPTED, at, "the process stopped while the scan was running; nothing was resolved", scan_id],
            )
            audit.record(db, "scan_interrupted", scan_id=scan_id, at=at)
    return ids


def fail_running_scan(db: sqlite_utils.Database, scan_id: int, error: str) -> bool:
    """Mark a scan failed now (a timeout) unless it already finished."""
    at = now()
    with db.atomic():
        changed = db.execute(
            "UPDATE scans SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'running'",
            [at, error, scan_id],
        ).rowcount
        if changed:
            audit.record(db, "scan_timed_out", scan_id=scan_id, at=at, details={"error": error})
    return bool(changed)


def end_expired(db: sqlite_utils.Database, at: str) -> list[int]:
    """End suppressions whose expiry has passed. Their findings stay as they are until the next scan, which
    re-checks them and reopens the ones still failing (apply_exceptions after reconcile): reopening without a
    fresh check could announce a problem fixed since."""
    with db.atomic():
        ids = [row["id"] for row in db.query(
            "SELECT id FROM exceptions WHERE ended_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?", [at])]
        for exception_id in ids:
            if db.execute("UPDATE exceptions SET ended_at = ?, ended_by = 'system', end_reason = 'expired'"
                          " WHERE id = ? AND ended_at IS NULL", [at, exception_id]).rowcount:
                audit.record(db, "suppression_expired", at=at, details={"exception_id": exception_id,
                                                                       "by": "housekeeping"})
    return ids


def expiring(db: sqlite_utils.Database, at: str, before: str) -> list[dict[str, Any]]:
    """Live suppressions expiring in (at, before]."""
    return list(db.query(
        "SELECT * FROM exceptions WHERE ended_at IS NULL AND expires_at IS NOT NULL AND expires_at > ?"
        " AND expires_at <= ? ORDER BY expires_at, id", [at, before]))


def claim_reminder(db: sqlite_utils.Database, exception_id: int, expires_at: str, channel: str) -> int | None:
    """Reserve the reminder for this expiry in this channel; None when it was announced already."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO suppression_reminders (exception_id, expires_at, channel, announced_at)"
        " VALUES (?, ?, ?, ?)", [exception_id, expires_at, channel, now()])
    return int(cursor.lastrowid) if cursor.rowcount else None


def attach_reminder_outbox(db: sqlite_utils.Database, reminder_id: int, outbox_id: int) -> None:
    db.execute("UPDATE suppression_reminders SET outbox_id = ? WHERE id = ?", [outbox_id, reminder_id])


def reminders_for(db: sqlite_utils.Database, exception_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM suppression_reminders WHERE exception_id = ? ORDER BY id", [exception_id]))


def extend(db: sqlite_utils.Database, exception_id: int, expires_at: str, new_expiry: str, actor: str,
           at: str) -> bool:
    """Move the expiry of a live suppression, only if nobody decided on this reminder yet (one decision per
    reminder: the write lock is held from BEGIN, so the check and both updates are one step)."""
    with db.atomic():
        live = list(db.query("SELECT 1 FROM exceptions WHERE id = ? AND ended_at IS NULL AND expires_at = ?",
                             [exception_id, expires_at]))
        changed = bool(live) and _decide(db, exception_id, expires_at, EXTENDED, actor, at)
        if changed:
            db.execute("UPDATE exceptions SET expires_at = ? WHERE id = ?", [new_expiry, exception_id])
            audit.record(db, "suppression_extended", actor, at=at,
                         details={"exception_id": exception_id, "from": expires_at, "until": new_expiry})
    return bool(changed)


def let_expire(db: sqlite_utils.Database, exception_id: int, expires_at: str, actor: str, at: str) -> bool:
    with db.atomic():
        changed = _decide(db, exception_id, expires_at, LET_EXPIRE, actor, at)
        if changed:
            audit.record(db, "suppression_let_expire", actor, at=at,
                         details={"exception_id": exception_id, "expires_at": expires_at})
    return changed


def _decide(db: sqlite_utils.Database, exception_id: int, expires_at: str, decision: str, actor: str,
            at: str) -> bool:
    return bool(db.execute(
        "UPDATE suppression_reminders SET decision = ?, decided_by = ?, decided_at = ?"
        " WHERE exception_id = ? AND expires_at = ? AND decision IS NULL",
        [decision, actor, at, exception_id, expires_at],
    ).rowcount)
