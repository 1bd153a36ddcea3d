"""Decisions in SQLite: one effect under concurrency, suppressions.yml synced, expiry."""

from __future__ import annotations

import threading

from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.storage.db import open_db
from skywarden.storage.findings import finding_id, get_finding
from skywarden.storage.suppressions import (
    CodeSuppression,
    acknowledge,
    apply_exceptions,
    suppress,
    sync_code_suppressions,
)
from tests.bot.helpers import FakeEstate, bucket

PUBLIC = "aws-s3-bucket-block-public-access"


def seed(db, *resources):
    estate = FakeEstate(resources=list(resources))
    return estate.runner(db, ScanRequest("aws"))


def test_concurrent_suppressions_from_separate_connections_have_one_effect(fresh_db, tmp_path):
    seed(fresh_db, bucket("b", blocked=False))
    target = finding_id(PUBLIC, "arn:aws:s3:::b")
    path = str(tmp_path / "test.db")
    results = []
    barrier = threading.Barrier(6)

    def go(i):
        db = open_db(path, migrate=False)
        barrier.wait()
        if i % 2:
            results.append(suppress(db, target, f"U{i}", "why", "2099-01-01T00:00:00+00:00", "2026-01-01", "rule"))
        else:
            results.append(acknowledge(db, target, f"U{i}", "2026-01-01"))
        db.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r.ok]
    suppressions = list(fresh_db.query("SELECT COUNT(*) AS n FROM exceptions"))[0]["n"]
    # Either one acknowledgement then one suppression, or one suppression alone.
    assert suppressions == 1 and 1 <= len(winners) <= 2
    assert get_finding(fresh_db, target)["state"] == "suppressed"


def test_code_suppressions_are_added_changed_and_removed(fresh_db):
    seed(fresh_db, bucket("b", blocked=False), bucket("c", blocked=False))
    b, c = (finding_id(PUBLIC, f"arn:aws:s3:::{n}") for n in "bc")
    entry = CodeSuppression(PUBLIC, "public website", "alice", "2099-01-01T00:00:00+00:00",
                            resource_id="arn:aws:s3:::b")
    sync = sync_code_suppressions(fresh_db, [entry], "2026-01-01T00:00:00+00:00")
    assert sync.suppressed == [b] and get_finding(fresh_db, c)["state"] == "open"
    row = next(iter(fresh_db.query("SELECT * FROM exceptions")))
    assert (row["source"], row["created_by"], row["reason"]) == ("code", "alice", "public website")
    sync_code_suppressions(fresh_db, [entry], "2026-01-02T00:00:00+00:00")  # unchanged: nothing new
    assert list(fresh_db.query("SELECT COUNT(*) AS n FROM exceptions"))[0]["n"] == 1
    sync = sync_code_suppressions(fresh_db, [], "2026-01-03T00:00:00+00:00")
    assert sync.reopened == [b] and get_finding(fresh_db, b)["state"] == "open"
    assert next(iter(fresh_db.query("SELECT end_reason FROM exceptions")))["end_reason"] == (
        "removed from suppressions.yml")


def test_expiry_reopens_only_what_no_other_exception_covers(fresh_db):
    seed(fresh_db, bucket("b", blocked=False))
    target = finding_id(PUBLIC, "arn:aws:s3:::b")
    suppress(fresh_db, target, "U1", "short", "2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00")
    fresh_db.execute(
        "INSERT INTO exceptions (scope, rule_id, provider, account_id, reason, created_by, created_at, expires_at,"
        " source) VALUES ('rule', ?, 'aws', '111111111111', 'long', 'U2', '2026-01-01', '2026-06-01T00:00:00+00:00',"
        " 'slack')", [PUBLIC])
    sync = apply_exceptions(fresh_db, "2026-01-03T00:00:00+00:00")
    assert len(sync.expired) == 1 and sync.reopened == []
    assert get_finding(fresh_db, target)["state"] == "suppressed"
    sync = apply_exceptions(fresh_db, "2026-06-02T00:00:00+00:00")
    assert sync.reopened == [target] and get_finding(fresh_db, target)["state"] == "open"


def test_an_all_digit_finding_id_is_never_read_as_a_number(fresh_db):
    seed(fresh_db, bucket("a", blocked=False), bucket("b", blocked=False))
    digits = "0" * 19 + "2"  # a valid 20-hex-digit id that is also the number 2
    first = next(iter(fresh_db.query("SELECT id FROM findings WHERE number = 1")))["id"]
    fresh_db.execute("UPDATE findings SET id = ? WHERE id = ?", [digits, first])
    assert acknowledge(fresh_db, digits, "U1", "2026-01-01").ok
    assert get_finding(fresh_db, "1")["state"] == "acknowledged" and get_finding(fresh_db, "2")["state"] == "open"
