"""Reconcile: the lifecycle of findings across scans, and coverage gaps that must never resolve anything."""

from __future__ import annotations

import sqlite3

import pytest

from skywarden.rules.engine import Engine
from skywarden.scanners.model import CollectionResult, Inventory, Resource
from skywarden.storage import audit, scans
from skywarden.storage.findings import ACKNOWLEDGED, finding_id, query_findings, reconcile
from tests.rules.test_engine import make_rule

ACCOUNT = "111111111111"
RULE = make_rule("sg-open", {"key": "open", "op": "eq", "value": False}, resource_type="aws.ec2.security_group")
BROKEN = make_rule("sg-age", {"key": "age", "op": "gt", "value": 10}, resource_type="aws.ec2.security_group")


def sg(name: str, region: str = "us-east-1", **props) -> Resource:
    return Resource("aws", ACCOUNT, region, "aws.ec2.security_group",
                    f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{name}", name, {}, props)


def unit(region: str, ok: bool = True) -> CollectionResult:
    return CollectionResult("aws", ACCOUNT, "ec2", region, ("aws.ec2.security_group",), "ok" if ok else "failed",
                            None if ok else "AccessDenied", None if ok else "not authorized")


def run(db, resources, coverage, rules=(RULE,), at="2026-01-01T00:00:00+00:00"):
    inventory = Inventory("aws", list(resources), list(coverage), {ACCOUNT: "test"}, ["us-east-1", "eu-west-1"])
    scan_id = scans.start_scan(db, "aws", {})
    report = Engine(list(rules)).evaluate(inventory.resources)
    result = reconcile(db, scan_id, inventory, report, at)
    return scan_id, result


def state(db, resource: Resource, rule=RULE) -> str:
    return query_findings(db, ids=[finding_id(rule.id, resource.id)])[0]["state"]


def test_open_resolved_reopened(fresh_db):
    bad = sg("web", open=True)
    _, first = run(fresh_db, [bad], [unit("us-east-1")])
    assert len(first.new) == 1 and state(fresh_db, bad) == "open"
    _, again = run(fresh_db, [bad], [unit("us-east-1")], at="2026-01-02T00:00:00+00:00")
    assert again.still_failing == first.new and again.new == []
    _, fixed = run(fresh_db, [sg("web", open=False)], [unit("us-east-1")])
    assert fixed.resolved == first.new and state(fresh_db, bad) == "resolved"
    _, back = run(fresh_db, [bad], [unit("us-east-1")])
    assert back.reopened == first.new
    row = query_findings(fresh_db, ids=first.new)[0]
    assert row["state"] == "open" and row["reopened_count"] == 1 and row["resolved_at"] is None
    assert row["first_seen"] == "2026-01-01T00:00:00+00:00"
    actions = [e["action"] for e in audit.events(fresh_db, finding_id=first.new[0])]
    assert actions == ["opened", "resolved", "reopened"]


def test_failed_region_leaves_its_findings_untouched(fresh_db):
    east, west = sg("a", "us-east-1", open=True), sg("b", "eu-west-1", open=True)
    run(fresh_db, [east, west], [unit("us-east-1"), unit("eu-west-1")])
    # eu-west-1 now answers AccessDenied: nothing was seen there, which must not read as "fixed".
    _, result = run(fresh_db, [sg("a", "us-east-1", open=False)], [unit("us-east-1"), unit("eu-west-1", ok=False)])
    assert state(fresh_db, east) == "resolved"
    assert state(fresh_db, west) == "open"
    assert result.untouched == 1


def test_deleted_resource_resolves_only_when_its_unit_succeeded(fresh_db):
    gone = sg("gone", open=True)
    run(fresh_db, [gone], [unit("us-east-1")])
    run(fresh_db, [], [unit("us-east-1", ok=False)])
    assert state(fresh_db, gone) == "open"
    _, result = run(fresh_db, [], [unit("us-east-1")])
    assert state(fresh_db, gone) == "resolved"
    assert query_findings(fresh_db, ids=result.resolved)[0]["detail"] == "resource no longer exists"


def test_error_outcome_never_resolves(fresh_db):
    run(fresh_db, [sg("x", age=5)], [unit("us-east-1")], rules=(BROKEN,))
    _, result = run(fresh_db, [sg("x", age="unknown")], [unit("us-east-1")], rules=(BROKEN,))
    assert result.errors == 1 and result.resolved == []
    assert state(fresh_db, sg("x"), BROKEN) == "open"


def test_decided_states_survive_reconcile(fresh_db):
    bad = sg("web", open=True)
    _, first = run(fresh_db, [bad], [unit("us-east-1")])
    fresh_db["findings"].update(first.new[0], {"state": ACKNOWLEDGED})
    _, again = run(fresh_db, [bad], [unit("us-east-1")])
    assert state(fresh_db, bad) == ACKNOWLEDGED and again.new == [] and again.reopened == []


def test_global_unit_covers_every_region(fresh_db):
    bucket_rule = make_rule("b", {"key": "ok", "op": "eq", "value": True})
    bucket = Resource("aws", ACCOUNT, "eu-west-1", "aws.s3.bucket", "arn:aws:s3:::b", "b", {}, {"ok": False})
    glob = CollectionResult("aws", ACCOUNT, "s3", "global", ("aws.s3.bucket",), "ok")
    run(fresh_db, [bucket], [glob], rules=(bucket_rule,))
    run(fresh_db, [], [glob], rules=(bucket_rule,))
    assert state(fresh_db, bucket, bucket_rule) == "resolved"


def test_finding_ids_are_stable_and_numbers_increase(fresh_db):
    _, result = run(fresh_db, [sg("a", open=True), sg("b", open=True)], [unit("us-east-1")])
    rows = query_findings(fresh_db)
    assert {r["id"] for r in rows} == {finding_id("sg-open", sg(n).id) for n in "ab"} == set(result.new)
    assert sorted(r["number"] for r in rows) == [1, 2]


def test_audit_log_is_append_only(fresh_db):
    run(fresh_db, [sg("a", open=True)], [unit("us-east-1")])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        fresh_db.execute("UPDATE events SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        fresh_db.execute("DELETE FROM events")


def test_inventory_keeps_first_seen_and_drops_gone_resources(fresh_db):
    run(fresh_db, [sg("a", open=False), sg("b", open=False)], [unit("us-east-1")], at="2026-01-01T00:00:00+00:00")
    run(fresh_db, [sg("a", open=False)], [unit("us-east-1")], at="2026-01-05T00:00:00+00:00")
    rows = list(fresh_db.query("SELECT name, first_seen, last_seen FROM resources"))
    assert rows == [{"name": "a", "first_seen": "2026-01-01T00:00:00+00:00", "last_seen": "2026-01-05T00:00:00+00:00"}]
