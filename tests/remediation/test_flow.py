"""The remediation flow against moto: four-eyes approval, exactly-once apply, expiry, refusals, undo, CLI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws

from bot.cli import main
from bot.remediation import ApprovalPolicy, RemediationService
from bot.remediation_aws import AwsRemediationEnvironment
from bot.scanning import AwsScope, scan_aws
from storage import audit
from storage.db import open_db
from storage.findings import query_findings
from tests.support.aws import ACCOUNT, pack_rules

RULE = "aws-s3-bucket-block-public-access"


@pytest.fixture(scope="module")
def aws():
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/s3.yaml")


@pytest.fixture
def setup(aws, rules, tmp_path, request):
    """A fresh bucket without Block Public Access, scanned into a fresh database."""
    bucket = f"flow-{request.node.name.replace('_', '-')[:40].lower()}"
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    db = open_db(tmp_path / "flow.db")
    session = boto3.Session(region_name="us-east-1")
    scan_aws(db, rules, AwsScope(regions=["us-east-1"]), session=session)
    finding = next(f for f in query_findings(db) if f["rule_id"] == RULE and f["resource_name"] == bucket)
    return db, session, bucket, finding


def service(db, rules, session, **policy):
    return RemediationService(db, rules, AwsRemediationEnvironment(session), ApprovalPolicy(**policy))


def block(bucket):
    try:
        return boto3.client("s3").get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError:
        return None


def state(db, finding):
    return query_findings(db, states=None, ids=[finding["id"]])[0]["state"]


def test_request_approve_apply_verify_then_undo(setup, rules):
    db, session, bucket, finding = setup
    svc = service(db, rules, session, approvers=frozenset({"bob", "carol"}))
    request_id, plan = svc.request(str(finding["number"]), "alice")
    assert plan.calls[0].operation == "put_public_access_block" and block(bucket) is None
    decision = svc.approve(request_id, "bob")
    assert decision.ok and decision.state == "verified", decision.message
    assert block(bucket) == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                             "RestrictPublicBuckets": True}
    assert state(db, finding) == "remediated"
    undo_id, undo_plan = svc.request_undo(finding["id"], "carol")
    assert undo_plan.calls[0].operation == "delete_public_access_block"
    assert svc.approve(undo_id, "carol").refused  # carol asked: four-eyes holds for undo too
    undone = svc.approve(undo_id, "bob")
    assert undone.ok and undone.state == "undone"
    assert block(bucket) is None and state(db, finding) == "open"
    actions = [e["action"] for e in audit.events(db, finding_id=finding["id"])]
    for expected in ("remediation_requested", "remediation_approved", "remediation_applied", "remediation_verified",
                     "undo_requested", "remediation_refused", "undo_applied"):
        assert expected in actions
    applied = next(e for e in audit.events(db, finding_id=finding["id"]) if e["action"] == "remediation_applied")
    assert applied["actor"] == "bob" and applied["details"]["result"]["records"][0]["ok"] is True


def test_self_approval_refused_unless_sandbox(setup, rules):
    db, session, bucket, finding = setup
    svc = service(db, rules, session)
    request_id, _ = svc.request(finding["id"], "alice")
    refused = svc.approve(request_id, "alice")
    assert refused.refused and "four-eyes" in refused.message and block(bucket) is None
    assert audit.events(db, finding_id=finding["id"])[-1]["action"] == "remediation_refused"
    sandbox = service(db, rules, session, self_approval_accounts=frozenset({ACCOUNT}))
    assert sandbox.approve(request_id, "alice").ok


def test_non_approver_refused(setup, rules):
    db, session, bucket, finding = setup
    svc = service(db, rules, session, approvers=frozenset({"bob"}))
    request_id, _ = svc.request(finding["id"], "alice")
    refused = svc.approve(request_id, "mallory")
    assert refused.refused and "not a remediation approver" in refused.message
    assert block(bucket) is None and state(db, finding) == "open"


def test_concurrent_approvals_apply_once(setup, rules):
    db, session, bucket, finding = setup
    calls = []
    session.events.register("before-call.s3.PutPublicAccessBlock", lambda **kw: calls.append(1))
    path = db.execute("PRAGMA database_list").fetchone()[2]
    local = threading.local()

    def connection():
        # Each clicking thread has its own connection, as each Bolt worker thread does in the bot.
        if not hasattr(local, "db"):
            local.db = open_db(path, migrate=False)
        return local.db

    svc = service(connection, rules, session)
    request_id, _ = svc.request(finding["id"], "alice")
    barrier = threading.Barrier(4)
    results = []

    def click(who):
        barrier.wait()
        results.append(svc.approve(request_id, who))

    threads = [threading.Thread(target=click, args=(who,)) for who in ("bob", "carol", "bob", "dave")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for r in results if r.ok) == 1
    assert sum(1 for r in results if r.refused) == 3
    assert len(calls) == 1


def test_expired_request_cannot_be_approved(setup, rules):
    db, session, bucket, finding = setup
    now = [datetime.now(UTC)]
    svc = RemediationService(db, rules, AwsRemediationEnvironment(session), ApprovalPolicy(),
                             clock=lambda: now[0])
    request_id, _ = svc.request(finding["id"], "alice")
    now[0] += timedelta(hours=25)
    refused = svc.approve(request_id, "bob")
    assert refused.refused and "expired" in refused.message and block(bucket) is None


def test_access_denied_on_apply_leaves_finding_open(setup, rules):
    db, session, bucket, finding = setup

    def deny(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no s3:PutBucketPublicAccessBlock"}},
                          "PutPublicAccessBlock")

    session.events.register("before-call.s3.PutPublicAccessBlock", deny)
    svc = service(db, rules, session)
    request_id, _ = svc.request(finding["id"], "alice")
    decision = svc.approve(request_id, "bob")
    assert not decision.ok and decision.state == "failed" and decision.message.startswith("AccessDenied")
    assert state(db, finding) == "open" and block(bucket) is None
    assert audit.events(db, finding_id=finding["id"])[-1]["action"] == "remediation_failed"


def test_resource_changed_since_plan_is_refused(setup, rules):
    db, session, bucket, finding = setup
    svc = service(db, rules, session)
    request_id, _ = svc.request(finding["id"], "alice")
    boto3.client("s3").put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    decision = svc.approve(request_id, "bob")
    assert decision.state == "failed" and "changed since the plan" in decision.message
    assert block(bucket)["IgnorePublicAcls"] is False


def test_already_fixed_is_a_noop(setup, rules):
    db, session, bucket, finding = setup
    svc = service(db, rules, session)
    request_id, _ = svc.request(finding["id"], "alice")
    boto3.client("s3").put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    decision = svc.approve(request_id, "bob")
    assert decision.ok and decision.state == "noop" and "already compliant" in decision.message
    assert state(db, finding) == "resolved"


def test_cli_plan_apply_and_audit_export(setup, tmp_path):
    db, session, bucket, finding = setup
    db_file = str(tmp_path / "flow.db")
    runner = CliRunner()
    shown = runner.invoke(main, ["--db", db_file, "remediate", finding["id"], "--plan"])
    assert shown.exit_code == 0, shown.output
    assert "s3.put_public_access_block(Bucket=" in shown.output and block(bucket) is None
    same = runner.invoke(main, ["--db", db_file, "remediate", finding["id"], "--apply", "--approved-by", "ops",
                                "--requested-by", "ops"])
    assert same.exit_code == 1 and "four-eyes" in same.output and block(bucket) is None
    applied = runner.invoke(main, ["--db", db_file, "remediate", finding["id"], "--apply", "--approved-by", "bob",
                                   "--requested-by", "alice"])
    assert applied.exit_code == 0, applied.output
    assert "verified" in applied.output and block(bucket) is not None
    exported = json.loads(runner.invoke(main, ["--db", db_file, "audit", "--finding", finding["id"]]).output)
    assert {"remediation_refused", "remediation_verified"} <= {e["action"] for e in exported}
    as_csv = runner.invoke(main, ["--db", db_file, "audit", "--format", "csv"]).output
    assert as_csv.splitlines()[0] == "id,at,actor,action,finding_id,scan_id,details"
    assert "remediation_applied" in as_csv
