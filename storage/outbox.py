"""Slack messages waiting to be sent. A message is written here before the first attempt and stays until
Slack accepted it, so a rate limit, an outage or a crash never loses one; ``flush`` retries in order."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from skywarden.storage.db import dumps, loads, now

PENDING = "pending"
SENT = "sent"
FAILED = "failed"  # a permanent error (channel_not_found, not_in_channel): kept for the operator, not retried


def enqueue(
    db: sqlite_utils.Database, method: str, channel: str, payload: dict[str, Any], parent_id: int | None = None
) -> int:
    cursor = db.execute(
        "INSERT INTO outbox (created_at, method, channel, payload, parent_id, status) VALUES (?, ?, ?, ?, ?, ?)",
        [now(), method, channel, dumps(payload), parent_id, PENDING],
    )
    return int(cursor.lastrowid or 0)


def pending(db: sqlite_utils.Database, limit: int = 500) -> list[dict[str, Any]]:
    rows = []
    for row in db.query("SELECT * FROM outbox WHERE status = ? ORDER BY id LIMIT ?", [PENDING, limit]):
        row["payload"] = loads(row["payload"])
        rows.append(row)
    return rows


def get(db: sqlite_utils.Database, outbox_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    if not rows:
        return None
    rows[0]["payload"] = loads(rows[0]["payload"])
    return rows[0]


def replace_payload(db: sqlite_utils.Database, outbox_id: int, payload: dict[str, Any]) -> bool:
    """Change a message that has not been sent yet (e.g. its finding resolved meanwhile)."""
    return bool(
        db.execute(
            "UPDATE outbox SET payload = ? WHERE id = ? AND status = ?", [dumps(payload), outbox_id, PENDING]
        ).rowcount
    )


def mark_sent(db: sqlite_utils.Database, outbox_id: int, ts: str | None) -> None:
    db.execute(
        "UPDATE outbox SET status = ?, sent_at = ?, ts = ?, attempts = attempts + 1 WHERE id = ?",
        [SENT, now(), ts, outbox_id],
    )


def mark_attempt(db: sqlite_utils.Database, outbox_id: int, error: str, permanent: bool) -> None:
    db.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
        [FAILED if permanent else PENDING, error, outbox_id],
    )


def fail_channel(db: sqlite_utils.Database, channel: str, reason: str) -> list[int]:
    """Close every pending message to a channel Slack will not accept (the bot is not in it, or it is gone):
    retrying them one by one would only repeat the same refusal. Returns the ids closed."""
    ids = [row["id"] for row in db.query(
        "SELECT id FROM outbox WHERE status = ? AND channel = ? ORDER BY id", [PENDING, channel])]
    if ids:
        db.execute(
            "UPDATE outbox SET status = ?, last_error = ? WHERE status = ? AND channel = ?",
            [FAILED, reason, PENDING, channel],
        )
    return ids


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {row["status"]: row["n"] for row in db.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")}
