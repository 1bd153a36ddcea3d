"""Which finding was posted where (channel + ts): for chat.update, and so a finding is never posted twice.

A message is *live* while it represents the finding's current episode; at most one live message per finding
and channel exists (a unique partial index). Resolution or the end of a suppression retires it, and the
finding is posted anew if it fails again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.storage.db import now


def claim(db: sqlite_utils.Database, finding_id: str, channel: str) -> int | None:
    """Reserve the live slot for (finding, channel); None when a live message already exists."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO slack_messages (finding_id, channel, posted_at, active) VALUES (?, ?, ?, 1)",
        [finding_id, channel, now()],
    )
    return int(cursor.lastrowid) if cursor.rowcount else None


def attach_outbox(db: sqlite_utils.Database, message_id: int, outbox_id: int) -> None:
    db.execute("UPDATE slack_messages SET outbox_id = ? WHERE id = ?", [outbox_id, message_id])


def record_ts(db: sqlite_utils.Database, outbox_id: int, channel: str, ts: str) -> None:
    db.execute("UPDATE slack_messages SET ts = ?, channel = ? WHERE outbox_id = ?", [ts, channel, outbox_id])


def release_undelivered(db: sqlite_utils.Database, outbox_ids: Iterable[int]) -> int:
    """Free the live slots of finding messages that were never delivered, so the next scan posts them again
    (e.g. once the bot was invited to the channel)."""
    released = 0
    ids = list(outbox_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        released += db.execute(
            f"UPDATE slack_messages SET active = 0 WHERE ts IS NULL AND outbox_id IN ({marks})", chunk
        ).rowcount
    return released


def live_for(db: sqlite_utils.Database, finding_id: str) -> list[dict[str, Any]]:
    return list(
        db.query("SELECT * FROM slack_messages WHERE finding_id = ? AND active = 1 ORDER BY id", [finding_id])
    )


def live_channels(db: sqlite_utils.Database, finding_ids: Iterable[str]) -> set[tuple[str, str]]:
    ids = list(finding_ids)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        for row in db.query(
            f"SELECT finding_id, channel FROM slack_messages WHERE active = 1 AND finding_id IN ({marks})", chunk
        ):
            found.add((row["finding_id"], row["channel"]))
    return found


def retire(db: sqlite_utils.Database, finding_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Retire the live messages of these findings; returns them (for a last chat.update)."""
    retired: list[dict[str, Any]] = []
    for fid in finding_ids:
        rows = live_for(db, fid)
        if rows:
            db.execute("UPDATE slack_messages SET active = 0 WHERE finding_id = ? AND active = 1", [fid])
            retired.extend(rows)
    return retired


def by_ts(db: sqlite_utils.Database, channel: str, ts: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM slack_messages WHERE channel = ? AND ts = ?", [channel, ts]))
    return rows[0] if rows else None


def channels_of(db: sqlite_utils.Database, finding_id: str) -> list[str]:
    """The channels a finding was posted to, most recent first."""
    return [row["channel"] for row in db.query(
        "SELECT channel FROM slack_messages WHERE finding_id = ? GROUP BY channel ORDER BY MAX(id) DESC",
        [finding_id])]
