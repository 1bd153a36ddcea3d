"""Two real scans of the same account on two connections: the one that started first collects the broken state,
then commits last. Its stale verdict must not reopen what the newer scan resolved."""

from __future__ import annotations

import threading

from skywarden.bot.core.scanning import run_scan
from skywarden.scanners.model import CollectionResult, Inventory
from skywarden.storage import audit
from skywarden.storage.db import open_db
from skywarden.storage.findings import query_findings
from tests.bot.helpers import ACCOUNT, RULES, bucket


def inventory(*resources):
    unit = CollectionResult("aws", ACCOUNT, "s3", "global", ("aws.s3.bucket",), "ok")
    return Inventory("aws", list(resources), [unit], {ACCOUNT: "prod"}, ["us-east-1"])


def scan(path, collect):
    db = open_db(path)
    try:
        return run_scan(db, list(RULES.values()), "aws", {"accounts": [ACCOUNT]}, collect)
    finally:
        db.close()


def test_slow_older_scan_committing_last_does_not_reopen(tmp_path):
    path = tmp_path / "order.db"
    first = scan(path, lambda types: inventory(bucket("data", blocked=False)))
    assert first.reconcile.new
    collected, release = threading.Event(), threading.Event()
    outcome = {}

    def slow_collect(types):
        seen = inventory(bucket("data", blocked=False))  # the snapshot: still broken
        collected.set()
        assert release.wait(20)
        return seen

    slow = threading.Thread(target=lambda: outcome.update(slow=scan(path, slow_collect)))
    slow.start()
    try:
        assert collected.wait(20)
        fast = scan(path, lambda types: inventory(bucket("data", blocked=True)))  # fixed since
        assert fast.reconcile.resolved == first.reconcile.new
    finally:
        release.set()
        slow.join(30)
    late = outcome["slow"]
    assert late.scan_id < fast.scan_id and late.reconcile.reopened == [] and late.summary["superseded"] >= 1
    db = open_db(path)
    try:
        (row,) = query_findings(db, states=None)
        assert row["state"] == "resolved" and row["last_scan_id"] == fast.scan_id
        assert [e["action"] for e in audit.events(db, finding_id=row["id"])] == ["opened", "resolved"]
    finally:
        db.close()
