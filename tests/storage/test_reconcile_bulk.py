"""Reconcile of a large estate: a bounded number of SQL statements however many findings, with the same rows and
events as row by row (bench/scale_bench.py times 1,000,000)."""

from __future__ import annotations

import pytest

from skywarden.storage import audit, findings
from skywarden.storage.bulk import insert_rows
from skywarden.storage.db import ImmediateConnection
from skywarden.storage.findings import query_findings
from tests.storage.test_reconcile import run, sg, unit

KEYS = 600


def _executes(monkeypatch) -> list[str]:
    """SQL of every Connection.execute call (one per statement run from Python; an executemany is not one)."""
    seen: list[str] = []
    real = ImmediateConnection.execute

    def counting(self, sql, *args):
        seen.append(sql)
        return real(self, sql, *args)

    monkeypatch.setattr(ImmediateConnection, "execute", counting)
    return seen


@pytest.mark.parametrize("chunk", [None, 7])  # the default (one chunk here), and many chunks
def test_statements_do_not_grow_with_the_findings(fresh_db, monkeypatch, chunk):
    if chunk is not None:
        monkeypatch.setattr(findings, "_CHUNK", chunk)
    estate = [sg(f"g{i}", open=True) for i in range(KEYS)]
    seen = _executes(monkeypatch)
    _, first = run(fresh_db, estate, [unit("us-east-1")])
    # Row by row, the first scan ran an INSERT per 'opened' event (600 here) ...
    assert len(seen) < 50
    seen.clear()
    _, again = run(fresh_db, estate, [unit("us-east-1")], at="2026-01-02T00:00:00+00:00")
    assert len(first.new) == KEYS and len(again.still_failing) == KEYS
    # ... and the second an UPDATE per still-failing finding.
    assert len(seen) < 50
    rows = query_findings(fresh_db, ids=first.new)
    assert {row["last_seen"] for row in rows} == {"2026-01-02T00:00:00+00:00"}
    assert {row["first_seen"] for row in rows} == {"2026-01-01T00:00:00+00:00"}
    assert sorted(row["number"] for row in rows) == list(range(1, KEYS + 1))
    # One 'opened' event per finding, in finding order.
    events = [e for e in audit.events(fresh_db) if e["action"] == "opened"]
    assert [e["finding_id"] for e in events] == first.new
    assert events[0]["details"] == {"rule_id": "sg-open", "resource_id": estate[0].id}


def test_insert_rows_streams_and_counts(fresh_db):
    fresh_db.execute("CREATE TABLE t (a TEXT, b INTEGER)")
    assert insert_rows(fresh_db, "t", iter([])) == 0
    assert insert_rows(fresh_db, "t", ({"a": str(i), "b": i} for i in range(1000))) == 1000
    assert fresh_db.execute("SELECT COUNT(*), SUM(b) FROM t").fetchone() == (1000, 499500)


def test_insert_rows_refuses_a_row_with_other_keys(fresh_db):
    fresh_db.execute("CREATE TABLE t (a TEXT, b INTEGER)")
    with pytest.raises(ValueError, match=r"insert into t: row keys \['a'\] differ"):
        insert_rows(fresh_db, "t", [{"a": "x", "b": 1}, {"a": "y"}])
