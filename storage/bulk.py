"""Many rows into one table in a single executemany: for the large writes of a reconcile (hundreds of thousands
of resources and findings), where sqlite-utils' insert_all spent most of the time building per-chunk queries and
checking every value for JSON."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import sqlite_utils


def insert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """INSERT ``rows`` (dicts with the same keys as the first, values already SQLite scalars: JSON is the caller's
    to encode) into ``table``, streaming; returns how many were inserted. Table and column names come from our
    own code, never from input."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = list(first)
    sql = (f"INSERT INTO [{table}] ({', '.join(f'[{name}]' for name in columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    count = 0

    def values() -> Iterable[tuple[Any, ...]]:
        nonlocal count
        for row in itertools.chain([first], iterator):
            if row.keys() != first.keys():
                raise ValueError(f"insert into {table}: row keys {sorted(row)} differ from {sorted(first)}")
            count += 1
            yield tuple(row[name] for name in columns)

    db.conn.executemany(sql, values())
    return count
