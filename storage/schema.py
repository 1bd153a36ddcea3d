"""Which Skywarden wrote a database, and whether this one can use it.

The migration set (storage/migrations.py, recorded by sqlite-utils in ``_sqlite_migrations``) is the schema's
version: ``PRAGMA user_version`` holds the number of migrations applied and ``skywarden_meta`` the release that
last migrated or wrote it. A database with a migration this code does not know, a higher schema number, or a
table missing a column this code reads was written by a newer Skywarden (or changed by hand): it is refused at
open, before any command starts, instead of failing half-way through one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import sqlite_utils

from skywarden.storage.errors import StorageError
from skywarden.storage.migrations import MIGRATIONS

META_TABLE = "skywarden_meta"
WRITTEN_BY = "written_by"
PURPOSE = "purpose"  # 'demo' on the databases `skywarden demo` creates


@functools.cache
def this_version() -> str:
    try:
        return metadata.version("skywarden")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def known_migrations() -> tuple[str, ...]:
    return tuple(m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True)))


def schema_version() -> int:
    return len(known_migrations())


@functools.cache
def _expected_columns() -> dict[str, frozenset[str]]:
    """Every table and column this code's migrations create (built once, in memory)."""
    db = sqlite_utils.Database(memory=True)
    MIGRATIONS.apply(db)
    return {name: frozenset(db[name].columns_dict) for name in db.table_names()
            if name != MIGRATIONS.migrations_table}


@dataclass
class SchemaState:
    applied: list[str]
    user_version: int
    written_by: str | None
    tables: list[str]

    @property
    def unknown(self) -> list[str]:
        known = set(known_migrations())
        return [name for name in self.applied if name not in known]

    @property
    def pending(self) -> bool:
        return len(set(self.applied) & set(known_migrations())) < schema_version()

    @property
    def is_skywarden(self) -> bool:
        return bool(self.applied)

    def writer(self) -> str:
        version = f"Skywarden {self.written_by}" if self.written_by else "an unrecorded Skywarden version"
        return f"{version}, schema {max(self.user_version, len(self.applied))}"


def inspect(db: sqlite_utils.Database) -> SchemaState:
    """Read-only: what the database says about its schema."""
    tables = db.table_names()
    applied = [m.name for m in MIGRATIONS.applied(db)] if MIGRATIONS.migrations_table in tables else []
    user_version = int(db.execute("PRAGMA user_version").fetchone()[0])
    return SchemaState(applied, user_version, get_meta(db, WRITTEN_BY) if META_TABLE in tables else None, tables)


def this_build() -> str:
    return f"this is Skywarden {this_version()}, schema {schema_version()}"


def refuse_foreign_or_newer(path: Path, state: SchemaState) -> None:
    """Before migrating: only an empty database or one of ours, never one from the future."""
    if not state.is_skywarden and state.tables:
        raise StorageError(f"{path} is not a Skywarden database (it has tables but no Skywarden schema); "
                           "point --db / SKYWARDEN_DB at a Skywarden database or a new file")
    if state.unknown or state.user_version > schema_version():
        detail = f"unknown migration {state.unknown[0]}" if state.unknown else "a newer schema"
        raise StorageError(f"{path} was written by a newer Skywarden ({state.writer()}; {detail}); "
                           f"{this_build()}: upgrade Skywarden to use this database")


def check_columns(db: sqlite_utils.Database, path: Path, state: SchemaState) -> None:
    """After migrating: every table and column this code reads is there (a rename would fail mid-command)."""
    present = set(db.table_names())
    for table, columns in sorted(_expected_columns().items()):
        if table not in present:
            raise StorageError(f"{path} has no table {table} (written by {state.writer()}; {this_build()}): "
                               "it was changed by a newer Skywarden or by hand")
        missing = sorted(columns - set(db[table].columns_dict))
        if missing:
            raise StorageError(f"{path}: table {table} has no column {missing[0]} (written by {state.writer()}; "
                               f"{this_build()}): it was changed by a newer Skywarden or by hand")


def record_writer(db: sqlite_utils.Database) -> None:
    """After migrating: stamp the schema number and this release (only when they change: no write per open)."""
    if int(db.execute("PRAGMA user_version").fetchone()[0]) != schema_version():
        db.execute(f"PRAGMA user_version = {schema_version():d}")
    if get_meta(db, WRITTEN_BY) != this_version():
        set_meta(db, WRITTEN_BY, this_version())


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
               "excluded.value", [key, value])
