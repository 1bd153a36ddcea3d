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

from skywarden.bot.cli import main
from skywarden.bot.core.remediation import ApprovalPolicy, RemediationService
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.rules.remediation.aws.environment import AwsRemediationEnvironment
from skywarden.storage import audit, remediations
from skywarden.storage.db import open_db
from skywarden.storage.findings import query_findings
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


def cli_config(tmp_path, name="skywarden.yml", **remediation):
    config = tmp_path / name
    config.write_text(json.dumps({
        "permissions": {"remediation_approvers": ["U0ALICE", "U0BOB"]},
        "remediation": {"cli_operators": {"alice": "U0ALICE", "bob": "U0BOB", "mallory": "U0MALLORY"},
                        **remediation},
    }))  # JSON is YAML
    return str(config)


def as_os_user(monkeypatch, login):
    from skywarden.bot.cli import remediation as cli_remediation

    monkeypatch.setattr(cli_remediation, "os_user", lambda: login)


def test_the_os_user_comes_from_the_password_database_not_the_environment(monkeypatch):
    import os
    import pwd

    from skywarden.bot.cli.remediation import os_user

    for variable in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "somebody-else")
    assert os_user() == pwd.getpwuid(os.geteuid()).pw_name != "somebody-else"


def test_cli_four_eyes_needs_two_os_users(setup, tmp_path, monkeypatch):
    db, session, bucket, finding = setup
    db_file = str(tmp_path / "flow.db")
    config = cli_config(tmp_path)
    runner = CliRunner()

    def run(login, *args, config_path=config):
        as_os_user(monkeypatch, login)
        return runner.invoke(main, ["--db", db_file, "remediate", finding["id"], *args, "--config", config_path])

    shown = runner.invoke(main, ["--db", db_file, "remediate", finding["id"], "--plan"])
    assert shown.exit_code == 0, shown.output
    assert "s3.put_public_access_block(Bucket=" in shown.output and block(bucket) is None
    # One operator can no longer name two people.
    legacy = run("alice", "--apply", "--approved-by", "bob", "--requested-by", "alice")
    assert legacy.exit_code == 2 and "--approved-by is gone" in legacy.output
    off = run("alice", "--apply", config_path=str(tmp_path / "none.yml"))
    assert off.exit_code == 1 and "configuration file not found" in off.output
    assert "is not listed under remediation.cli_operators" in run("eve", "--apply").output

    requested = run("alice", "--apply")
    assert requested.exit_code == 0, requested.output
    assert "request 1 recorded" in requested.output and "--approve 1" in requested.output
    assert block(bucket) is None and remediations.get(db, 1)["requested_by"] == "U0ALICE"

    same = run("alice", "--approve", "1")
    assert same.exit_code == 1 and "four-eyes: OS user alice requested it" in same.output
    # Remapped to another approver in between: still the same OS user, still refused.
    remapped = cli_config(tmp_path, "remapped.yml", cli_operators={"alice": "U0BOB"})
    assert "four-eyes: OS user alice" in run("alice", "--approve", "1", config_path=remapped).output
    assert "U0MALLORY is not a remediation approver" in run("mallory", "--approve", "1").output
    assert block(bucket) is None and remediations.get(db, 1)["state"] == "requested"

    applied = run("bob", "--approve", "1")
    assert applied.exit_code == 0, applied.output
    assert "verified" in applied.output and block(bucket) is not None
    trail = [e for e in audit.events(db, finding_id=finding["id"]) if e["details"].get("request_id") == 1]
    assert {e["details"]["channel"] for e in trail} == {"cli-break-glass"}
    assert [(e["action"], e["actor"], e["details"]["os_user"]) for e in trail if "refused" not in e["action"]][:2] \
        == [("remediation_requested", "U0ALICE", "alice"), ("remediation_approved", "U0BOB", "bob")]
    assert {e["details"]["os_user"] for e in trail if e["action"] == "remediation_refused"} == {"alice", "mallory"}
    assert "has no remediation request 7" in run("bob", "--approve", "7").output

    undo = run("alice", "--undo")
    assert undo.exit_code == 0 and "request 2 recorded" in undo.output, undo.output
    assert run("bob", "--approve", "2", "--reject", "2").exit_code == 2
    rejected = run("bob", "--reject", "2")
    assert rejected.exit_code == 0 and "request 2: rejected" in rejected.output, rejected.output
    assert block(bucket) is not None and state(db, finding) == "remediated"
    exported = json.loads(runner.invoke(main, ["--db", db_file, "audit", "--finding", finding["id"]]).output)
    assert {"remediation_refused", "remediation_verified"} <= {e["action"] for e in exported}
    as_csv = runner.invoke(main, ["--db", db_file, "audit", "--format", "csv"]).output
    assert as_csv.splitlines()[0] == "id,at,actor,action,finding_id,scan_id,details"
    assert "remediation_applied" in as_csv


def test_cli_operators_are_validated():
    from skywarden.bot.core.settings import parse_config
    from skywarden.scanners.errors import ConfigError

    with pytest.raises(ConfigError, match=r"remediation\.cli_operators\.alice: 'alice' is not a Slack user id"):
        parse_config({"remediation": {"cli_operators": {"alice": "alice"}}})
    with pytest.raises(ConfigError, match=r"remediation\.cli_operators: must map OS login names"):
        parse_config({"remediation": {"cli_operators": ["alice"]}})
    assert parse_config({"remediation": {"cli_operators": {"alice": "U0ALICE"}}}).cli_operators == {
        "alice": "U0ALICE"}
