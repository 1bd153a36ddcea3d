"""A distributed scan's spool: the inventory rows and verdicts of the units gathered so far, in a temporary
SQLite file (never the ledger), so the gathering process holds one unit's result at a time. Read back, in
batches, inside the scan's reconcile transaction; removed when the gathered inventory is dropped."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from skywarden.rules.model import Evaluation, Outcome, Rule
from skywarden.scanners.model import Resource

_BATCH = 500


class Spool:
    """Inventory rows and verdicts of the units gathered so far, on disk."""

    def __init__(self, directory: str | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="skywarden-gather-", dir=directory))
        # Written by the gathering thread, read by the thread that reconciles (the same one, or the CLI's).
        self.conn = sqlite3.connect(self.path / "spool.db", check_same_thread=False, isolation_level=None)
        self.conn.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE res (seq INTEGER PRIMARY KEY, provider TEXT, account_id TEXT, region TEXT, type TEXT,"
            " id TEXT, name TEXT, tags TEXT, properties TEXT);"
            "CREATE TABLE verdicts (rule_id TEXT, res INTEGER, status TEXT, detail TEXT);"
        )
        self.count = 0
        self._finalizer = weakref.finalize(self, _remove, self.conn, self.path)

    def close(self) -> None:
        self._finalizer()

    def add(self, rows: Sequence[Sequence[Any]], verdicts: Sequence[tuple[str, int, str, str | None]]) -> int:
        """Store one unit's rows (as the worker sent them) and verdicts (their indices relative to ``rows``)."""
        base = self.count
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO res VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((base + i, r[0], r[1], r[2], r[3], r[4], r[5], json.dumps(r[6], default=str),
                  json.dumps(r[7], default=str)) for i, r in enumerate(rows)))
            self.conn.executemany("INSERT INTO verdicts VALUES (?, ?, ?, ?)",
                                  ((rule, base + i, status, detail) for rule, i, status, detail in verdicts))
        self.count += len(rows)
        return base

    def resources(self) -> Iterator[Resource]:
        cursor = self.conn.execute("SELECT provider, account_id, region, type, id, name, tags, properties "
                                   "FROM res ORDER BY seq")
        while batch := cursor.fetchmany(_BATCH):
            for provider, account, region, kind, rid, name, tags, props in batch:
                yield Resource(provider, account, region, kind, rid, name, json.loads(tags), json.loads(props))

    def evaluations(self, rules: Mapping[str, Rule]) -> Iterator[Evaluation]:
        cursor = self.conn.execute(
            "SELECT v.rule_id, v.status, v.detail, r.provider, r.account_id, r.region, r.type, r.id, r.name "
            "FROM verdicts v JOIN res r ON r.seq = v.res ORDER BY v.res, v.rule_id")
        while batch := cursor.fetchmany(_BATCH):
            for rule_id, status, detail, *identity in batch:
                yield Evaluation(rules[rule_id], Resource(*identity), Outcome(status), detail)


def _remove(conn: sqlite3.Connection, path: Path) -> None:
    conn.close()
    shutil.rmtree(path, ignore_errors=True)
