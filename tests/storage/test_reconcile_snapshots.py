"""Reconcile orders verdicts by snapshot (when each scan's collection started), not by commit order: a slow,
older scan that commits last never overturns what a newer scan or a remediation decided."""

from __future__ import annotations

from datetime import UTC, datetime

from skywarden.rules.engine import Engine
from skywarden.scanners.model import Inventory
from skywarden.storage import audit, scans
from skywarden.storage.findings import REMEDIATED, finding_id, query_findings, reconcile, set_state
from skywarden.storage.inventory import get_resource
from tests.storage.test_reconcile import ACCOUNT, RULE, sg, unit


def commit(db, scan_id, resources, coverage=None):
    """What run_scan does at the end of a scan: record coverage, then reconcile and finish in one transaction."""
    inventory = Inventory("aws", list(resources), list(coverage or [unit("us-east-1")]), {ACCOUNT: "test"},
                          ["us-east-1"])
    scans.record_coverage(db, scan_id, inventory.coverage)
    with db.atomic():
        result = reconcile(db, scan_id, inventory, Engine([RULE]).evaluate(inventory.resources),
                           datetime.now(UTC).isoformat())
        scans.finish_scan(db, scan_id, "succeeded", result.summary())
    return result


def start(db):
    return scans.start_scan(db, "aws", {"accounts": [ACCOUNT]})


def finding(db, resource):
    (row,) = query_findings(db, ids=[finding_id(RULE.id, resource.id)])
    return row


def actions(db, resource):
    return [e["action"] for e in audit.events(db, finding_id=finding_id(RULE.id, resource.id))]


def test_older_scan_committing_last_does_not_reopen_what_a_newer_scan_resolved(fresh_db):
    bad, fixed = sg("web", open=True), sg("web", open=False)
    commit(fresh_db, start(fresh_db), [bad])
    slow = start(fresh_db)  # collects the bad state, then takes its time
    fast = start(fresh_db)  # starts later, sees the fix, commits first
    assert commit(fresh_db, fast, [fixed]).resolved
    late = commit(fresh_db, slow, [bad])
    assert late.reopened == [] and late.superseded == 1
    row = finding(fresh_db, bad)
    assert row["state"] == "resolved" and row["last_scan_id"] == fast and row["reopened_count"] == 0
    assert actions(fresh_db, bad) == ["opened", "resolved"]


def test_older_scan_does_not_reopen_a_finding_remediated_after_its_snapshot(fresh_db):
    bad = sg("web", open=True)
    commit(fresh_db, start(fresh_db), [bad])
    slow = start(fresh_db)
    assert set_state(fresh_db, finding(fresh_db, bad)["id"], REMEDIATED, "bob", datetime.now(UTC).isoformat())
    late = commit(fresh_db, slow, [bad])
    assert late.reopened == [] and late.superseded == 1
    assert finding(fresh_db, bad)["state"] == REMEDIATED
    # A scan that starts after the remediation and still sees the problem does reopen it.
    assert commit(fresh_db, start(fresh_db), [bad]).reopened == [finding(fresh_db, bad)["id"]]


def test_older_scan_does_not_resolve_what_a_newer_scan_saw_failing(fresh_db):
    bad, fixed = sg("web", open=True), sg("web", open=False)
    commit(fresh_db, start(fresh_db), [bad])
    slow = start(fresh_db)  # saw it fixed (briefly)
    fast = start(fresh_db)  # saw it broken again
    commit(fresh_db, fast, [bad])
    late = commit(fresh_db, slow, [fixed])
    assert late.resolved == [] and late.superseded == 1
    assert finding(fresh_db, bad)["state"] == "open" and finding(fresh_db, bad)["last_scan_id"] == fast


def test_older_scan_opens_nothing_a_newer_committed_scan_saw_passing(fresh_db):
    bad, fixed = sg("web", open=True), sg("web", open=False)
    slow = start(fresh_db)
    fast = start(fresh_db)
    commit(fresh_db, fast, [fixed])
    late = commit(fresh_db, slow, [bad])
    assert late.new == [] and late.superseded == 1
    assert query_findings(fresh_db) == []
    # Where the newer scan's unit failed, it saw nothing: the older scan's failure stands.
    east, west = sg("a", open=True), sg("b", "eu-west-1", open=True)
    slow = start(fresh_db)
    fast = start(fresh_db)
    commit(fresh_db, fast, [], [unit("us-east-1"), unit("eu-west-1", ok=False)])
    late = commit(fresh_db, slow, [east, west], [unit("us-east-1"), unit("eu-west-1")])
    assert late.new == [finding_id(RULE.id, west.id)]


def test_older_scan_keeps_the_newer_inventory(fresh_db):
    slow = start(fresh_db)
    fast = start(fresh_db)
    commit(fresh_db, fast, [sg("web", open=False), sg("created-later", open=False)])
    commit(fresh_db, slow, [sg("web", open=True)])
    web = get_resource(fresh_db, sg("web").id)
    assert web is not None and web.properties == {"open": False}
    assert get_resource(fresh_db, sg("created-later").id) is not None, "the older scan must not forget it"


def test_scans_in_order_behave_as_before(fresh_db):
    bad, fixed = sg("web", open=True), sg("web", open=False)
    commit(fresh_db, start(fresh_db), [bad])
    commit(fresh_db, start(fresh_db), [fixed])
    again = commit(fresh_db, start(fresh_db), [bad])
    assert again.reopened and again.superseded == 0
    assert actions(fresh_db, bad) == ["opened", "resolved", "reopened"]
