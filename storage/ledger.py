"""The ledger a long-running process shares between threads: one SQLite connection per thread, migrations once."""

from __future__ import annotations

import os
import threading

import sqlite_utils

from skywarden.storage.db import open_db


class Ledger:
    """Why one connection per thread: a transaction open on one thread must never swallow another's statements,
    and sqlite3 connections are not meant to be shared across threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self.db  # noqa: B018 - apply migrations now, before any worker thread opens its own connection

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            with self._migrate_lock:
                db = open_db(self.path, migrate=not self._migrated)
                self._migrated = True
            self._local.db = db
        return db
