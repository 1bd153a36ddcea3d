"""The database file before and around SQLite: checks that need no connection, and one-line error messages.

Why check the file ourselves: SQLite opens a truncated or foreign file without complaint and only fails on
the first page it cannot read, which may be half-way through a command (after a scan collected for minutes).
"""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path

from skywarden.storage.errors import StorageError

BUSY_TIMEOUT_ENV = "SKYWARDEN_DB_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT_S = 30.0
_MAGIC = b"SQLite format 3\x00"


def busy_timeout_s() -> float:
    """How long a command waits for another process's write lock (SKYWARDEN_DB_BUSY_TIMEOUT, seconds)."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise StorageError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds (0 or more), got {raw!r}")
    return value


def check_file(path: Path, must_exist: bool) -> bool:
    """Refuse what is not a usable database file before SQLite touches it. Returns whether it exists."""
    if path.is_dir():
        raise StorageError(f"{path} is a directory, not a database file (check --db / SKYWARDEN_DB)")
    if not path.exists():
        if must_exist:
            raise StorageError(
                f"{path}: no such database (check --db / SKYWARDEN_DB; a scan or `skywarden serve` creates it)"
            )
        if path.parent.exists() and not path.parent.is_dir():
            raise StorageError(f"{path}: {path.parent} is not a directory")
        return False
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StorageError(f"{path}: cannot read the database ({exc.strerror or exc})") from exc
    if size == 0:
        return True  # an empty file is an empty SQLite database; the schema check decides what it may do
    if len(header) < 100 and (header.startswith(_MAGIC) or _MAGIC.startswith(header)):
        raise StorageError(f"{path} is truncated: {size} bytes, shorter than a SQLite header")
    if not header.startswith(_MAGIC):
        raise StorageError(f"{path} is not a SQLite database (corrupt, or another kind of file)")
    _check_size(path, header, size)
    return True


def _check_size(path: Path, header: bytes, size: int) -> None:
    """The header records the page size and (when valid) the page count: a shorter file lost its tail."""
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    if page_size < 512 or page_size & (page_size - 1):
        raise StorageError(f"{path} is not a SQLite database (corrupt header: page size {page_size})")
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # A checkpoint interrupted by a crash can leave page 1 ahead of the file; the WAL still holds the rest.
        return
    if pages and change_counter == valid_for and size < pages * page_size:
        raise StorageError(
            f"{path} is truncated: {size} bytes, but its header says {pages} pages of {page_size} bytes "
            "(restore it from a backup)"
        )


def describe_error(path: str | os.PathLike[str], exc: sqlite3.Error, busy_s: float | None = None) -> str:
    """One line for a SQLite error on this database: the path, the cause, and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
        waited = f" for {busy_s:g} s" if busy_s is not None else ""
        return (f"{path} is locked by another process (waited{waited}; {text}): try again when it finishes, "
                f"or set {BUSY_TIMEOUT_ENV} to wait longer")
    if name.startswith("SQLITE_NOTADB") or "not a database" in text:
        return f"{path} is not a SQLite database (corrupt, or another kind of file)"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return f"{path} is damaged ({text}): restore it from a backup"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return (f"{path} is read-only ({text}): this command records results, so it needs write access to the "
                "file and its directory")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return f"{path} cannot be opened ({text}): check the path and the permissions of its directory"
    if name.startswith("SQLITE_FULL") or name.startswith("SQLITE_IOERR"):
        return f"{path}: disk error ({text})"
    return f"{path}: {text}"
