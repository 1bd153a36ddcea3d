"""Slack deliveries already handled: a replay of one within the signature window must have no second effect.

Kept in SQLite so that every worker thread (and a second process on the same database) sees the same set."""

from __future__ import annotations

import sqlite_utils

WINDOW_S = 300.0  # Slack's signature window: an older request is refused before it gets here
_KEEP_S = 2 * WINDOW_S  # kept a little longer than the window, so a clock step cannot reopen it


def first_time(db: sqlite_utils.Database, keys: list[str], at: float) -> bool:
    """Record these keys as seen at ``at``; False if any of them was seen within the window (a replay)."""
    db.execute("DELETE FROM seen_requests WHERE seen_at < ?", [at - _KEEP_S])
    fresh = True
    for key in keys:
        # One statement per key is atomic: of two threads racing on the same delivery, one inserts, one is ignored.
        inserted = db.execute("INSERT OR IGNORE INTO seen_requests (key, seen_at) VALUES (?, ?)", [key, at]).rowcount
        fresh = fresh and inserted == 1
    return fresh
