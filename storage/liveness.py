"""Is the process that runs a scan still alive? pid + host + heartbeat, recorded on the scan row.

A process on this host is asked directly (its pid); a process elsewhere can only be judged by its heartbeat,
which a running scan refreshes every ``HEARTBEAT_INTERVAL_S``. A scan is dead when its host is this host and
its pid is gone, or when its heartbeat is older than ``STALE_AFTER_S`` (which also catches a pid reused by
another program). Rows without a heartbeat come from before this was recorded: nothing can vouch for them.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 30.0
STALE_AFTER_S = 300.0  # ten missed heartbeats


def this_host() -> str:
    return socket.gethostname()


def stamp(moment: datetime | None = None) -> str:
    """A timestamp with microseconds: snapshots of scans started in the same second must still be ordered."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


def parse(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a killed process its parent has not reaped yet is a zombie: it runs nothing
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def scan_alive(row: dict[str, Any], now: datetime | None = None, stale_after_s: float = STALE_AFTER_S) -> bool:
    heartbeat = parse(row.get("heartbeat_at"))
    if heartbeat is None:
        return False
    if (now or datetime.now(UTC)) - heartbeat > timedelta(seconds=stale_after_s):
        return False
    if row.get("host") == this_host() and row.get("pid") is not None:
        return pid_alive(int(row["pid"]))
    return True


class Heartbeat:
    """Refreshes a running scan's heartbeat from a thread with its own connection (never inside the scan's
    transaction). Failures are logged and retried at the next beat: a missed beat is not an error."""

    def __init__(self, database: str, scan_id: int, interval_s: float | None = None) -> None:
        self.database = database
        self.scan_id = scan_id
        self.interval_s = interval_s or HEARTBEAT_INTERVAL_S
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"skywarden-heartbeat-{scan_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.database:  # "" is an in-memory database: no other process can see it
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                conn = sqlite3.connect(self.database, timeout=min(self.interval_s, 5.0))
                try:
                    with conn:
                        conn.execute("UPDATE scans SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
                                     [stamp(), self.scan_id])
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                log.debug("heartbeat of scan %s missed: %s", self.scan_id, exc)


def database_file(conn: sqlite3.Connection) -> str:
    """The main database's file ('' for an in-memory database)."""
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2] or "")
    return ""
