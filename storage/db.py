"""Open the SQLite database: WAL, a busy timeout, migrations applied."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

DEFAULT_DB = "skywarden.db"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--db``, then ``SKYWARDEN_DB``, then ./skywarden.db."""
    return Path(explicit or os.environ.get("SKYWARDEN_DB") or DEFAULT_DB)


class ImmediateConnection(sqlite3.Connection):
    """Every transaction sqlite-utils opens (``BEGIN``) takes the write lock at once (``BEGIN IMMEDIATE``).

    Why: reconcile's transaction reads before it writes. In WAL mode, if another connection (a button
    click, an audit record) commits in between, upgrading to a write fails at once with "database is locked"
    instead of waiting for the busy timeout, and the scan would be lost. Taking the lock at BEGIN makes
    concurrent writers queue behind each other.
    """

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        if sql.strip().rstrip(";").upper() in ("BEGIN", "BEGIN TRANSACTION", "BEGIN DEFERRED"):
            sql = "BEGIN IMMEDIATE"
        return super().execute(sql, *args)


def open_db(path: str | os.PathLike[str] | None = None, migrate: bool = True) -> sqlite_utils.Database:
    target = db_path(path)
    if str(target) != ":memory:":
        target.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the bot answers from Bolt's worker threads; writes are serialised by SQLite.
    conn = sqlite3.connect(str(target), timeout=30, check_same_thread=False, isolation_level=None,
                           factory=ImmediateConnection)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    if migrate:
        from storage.migrations import MIGRATIONS

        MIGRATIONS.apply(db)
    return db


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)
