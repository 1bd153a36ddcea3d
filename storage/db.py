"""Open the SQLite database: WAL, a busy timeout, migrations applied."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from skywarden.storage.dbfile import describe_error
from skywarden.storage.errors import StorageError

log = logging.getLogger(__name__)

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


def open_db(path: str | os.PathLike[str] | None = None, migrate: bool = True,
            readonly: bool = False) -> sqlite_utils.Database:
    """Open the database, or raise StorageError with one line naming the path and the cause.

    ``readonly``: for commands that only read (findings, status, audit): the file must exist already (a
    mistyped path is an error, not "no findings") and is opened with SQLite's ``mode=ro``; an older schema is
    migrated first (that writes, but creates nothing). Otherwise the file and its directory are created if
    needed, the schema is checked and migrated, a write is probed (read-only and locked files fail here, not
    after a scan), and scans a dead process left 'running' are marked interrupted.
    ``migrate=False`` (a further connection of a process that opened the database already) skips all that.
    """
    from skywarden.storage.dbfile import busy_timeout_s, check_file

    target = db_path(path)
    if str(target) == ":memory:":
        return _connect(target, busy_timeout_s(), readonly=False, migrate=migrate)
    busy_s = busy_timeout_s()
    exists = check_file(target, must_exist=readonly)
    if not exists:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{target}: cannot create its directory ({exc.strerror or exc})") from exc
    if readonly:
        db = _connect(target, busy_s, readonly=True, migrate=False)
        try:
            from skywarden.storage import schema

            state = schema.inspect(db)
            if not state.is_skywarden:
                raise StorageError(f"{target} is not a Skywarden database (no Skywarden schema; check --db / "
                                   "SKYWARDEN_DB)")
            schema.refuse_foreign_or_newer(target, state)
            if not state.pending:
                schema.check_columns(db, target, state)
                if not _dead_scans(db):
                    return db
        except sqlite3.Error as exc:
            db.close()
            raise StorageError(describe_error(target, exc, busy_s)) from exc
        except BaseException:
            db.close()
            raise
        db.close()
        if state.pending:  # an older schema: migrate it once, through a normal connection
            try:
                return _connect(target, busy_s, readonly=False, migrate=True)
            except StorageError as exc:
                raise StorageError(f"{target} must be upgraded to be read ({state.writer()}; {schema.this_build()})"
                                   f" and that failed: {exc}") from exc
        # Scans a dead process left running: mark them if the file can be written now; reading goes on anyway.
        try:
            return _connect(target, min(busy_s, 2.0), readonly=False, migrate=True)
        except StorageError as exc:
            log.info("cannot mark interrupted scans now: %s", exc)
            return _connect(target, busy_s, readonly=True, migrate=False)
    return _connect(target, busy_s, readonly=False, migrate=migrate)


def _dead_scans(db: sqlite_utils.Database) -> bool:
    from skywarden.storage.liveness import scan_alive

    return any(not scan_alive(row) for row in db.query(
        "SELECT pid, host, heartbeat_at FROM scans WHERE status = 'running'"))


def _connect(target: Path, busy_s: float, readonly: bool, migrate: bool) -> sqlite_utils.Database:
    if readonly:
        conn = sqlite3.connect(target.resolve().as_uri() + "?mode=ro", uri=True, timeout=busy_s,
                               check_same_thread=False, isolation_level=None)
    else:
        # check_same_thread=False: the bot answers from Bolt's worker threads; writes are serialised by SQLite.
        conn = sqlite3.connect(str(target), timeout=busy_s, check_same_thread=False, isolation_level=None,
                               factory=ImmediateConnection)
    db = sqlite_utils.Database(conn)
    try:
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        if migrate and not readonly:
            _prepare(db, target)
    except sqlite3.Error as exc:
        db.close()
        raise StorageError(describe_error(target, exc, busy_s)) from exc
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite_utils.Database, target: Path) -> None:
    """Schema guard, migrations, write probe, then the scans a dead process left running."""
    from skywarden.storage import schema
    from skywarden.storage.housekeeping import mark_interrupted
    from skywarden.storage.migrations import MIGRATIONS

    state = schema.inspect(db)
    schema.refuse_foreign_or_newer(target, state)
    # The probe writes nothing (rolled back) but fails now on a read-only file or a lock held elsewhere.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        db.execute(f"PRAGMA user_version = {state.user_version:d}")
    finally:
        db.conn.execute("ROLLBACK")
    MIGRATIONS.apply(db)
    schema.check_columns(db, target, state)
    with db.atomic():
        schema.record_writer(db)
    interrupted = mark_interrupted(db)
    if interrupted:
        log.warning("scans %s were left running by a process that is gone; marked interrupted (they resolved "
                    "nothing)", interrupted)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)
