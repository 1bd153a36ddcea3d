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


def open_db(path: str | os.PathLike[str] | None = None, migrate: bool = True) -> sqlite_utils.Database:
    target = db_path(path)
    if str(target) != ":memory:":
        target.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the bot answers from Bolt's worker threads; writes are serialised by SQLite.
    conn = sqlite3.connect(str(target), timeout=30, check_same_thread=False, isolation_level=None)
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
