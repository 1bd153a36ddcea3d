"""Distributed scans against real parts: redis-server, `skywarden worker` processes, moto's server."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
import time

import boto3
import pytest

from skywarden.bot.core.distributed import BrokerUnavailable, aws_requests, gather
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.worker.app import TASK_NAME, make_app
from skywarden.scanners.aws.session import AccountSpec
from skywarden.scanners.errors import CollectionError
from skywarden.storage.db import open_db
from skywarden.storage.findings import query_findings
from tests.distributed.conftest import REGION, ROLE, seed_members, start_worker, stop_worker
from tests.support.aws import pack_rules

MEMBERS = ["210000000001", "210000000002", "210000000003", "210000000004"]


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/kms.yaml")


@pytest.fixture(scope="module")
def estate(moto_endpoint, tmp_path_factory):
    """Four member accounts reached by role assumption, each with a KMS key (rotation off) and a bucket."""
    return seed_members(moto_endpoint, tmp_path_factory.mktemp("estate"), MEMBERS, "member", buckets=True)


@pytest.fixture
def aws_env(monkeypatch, moto_endpoint):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)


def findings_of(db) -> set[tuple[str, str, str, str]]:
    return {(row["rule_id"], row["account_id"], row["resource_id"], row["state"]) for row in query_findings(db)}


def test_distributed_scan_matches_the_in_process_scan(tmp_path, rules, estate, workers, redis_url, aws_env):
    local = open_db(tmp_path / "local.db")
    remote = open_db(tmp_path / "remote.db")
    embedded = scan_aws(local, rules, AwsScope(accounts_file=estate), max_workers=4)
    distributed = scan_aws(remote, rules, AwsScope(accounts_file=estate), max_workers=4, broker=redis_url)
    assert distributed.status == embedded.status == "succeeded"
    assert findings_of(local) and findings_of(local) == findings_of(remote)
    assert distributed.inventory.accounts == embedded.inventory.accounts
    assert sorted(u.service for u in distributed.inventory.coverage) == sorted(
        u.service for u in embedded.inventory.coverage)
    assert distributed.summary["resources"] == embedded.summary["resources"]
    row = remote["scans"].get(distributed.scan_id)
    assert json.loads(row["scope"])["distributed"] is True
    # KMS has no global collector: no global unit, one unit for each account's (single) region batch.
    assert (row["units_done"], row["units_total"]) == (len(MEMBERS), len(MEMBERS))
    assert local["scans"].get(embedded.scan_id)["units_total"] is None


def test_status_shows_a_running_distributed_scans_progress(tmp_path):
    from click.testing import CliRunner

    from skywarden.bot.cli import main
    from skywarden.storage import scans

    db = open_db(tmp_path / "s.db")
    scan_id = scans.start_scan(db, "aws", {"distributed": True})
    scans.record_progress(db, scan_id, 3, 8)
    db.close()
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "status"])
    assert result.exit_code == 0, result.output
    assert "distributed: 3/8 units done" in result.output


def units(rules, nonce: str, types: frozenset[str] = frozenset({"aws.kms.key"}), size: int = 0,
          accounts=MEMBERS):
    specs = [AccountSpec(a, f"member{i}", ROLE.format(a), regions=(REGION,)) for i, a in enumerate(accounts)]
    return aws_requests(nonce, specs, (), types, 2, rules, size)


def test_two_workers_share_the_units(rules, estate, workers, redis_url, aws_env):
    from skywarden.bot.core.distributed import plan_distributed_aws

    seen: set[str] = set()
    plan_distributed_aws(AwsScope(accounts_file=estate), redis_url, rules=rules)  # the broker answers
    doubled = units(rules, "share", accounts=MEMBERS * 2)
    doubled = [dataclasses.replace(u, unit=f"{u.unit}-{i}") for i, u in enumerate(doubled)]
    inventory = gather(redis_url, doubled, rules, 60, workers_seen=seen)
    assert not inventory.gaps and len(inventory.resources) == 2 * len(MEMBERS)
    assert len(seen) == 2, seen


def test_redelivery_does_not_double_count(rules, estate, workers, redis_url, aws_env):
    once = gather(redis_url, units(rules, "once"), rules, 60)
    # The same units delivered again (as after a broker restart or a lost ack): same task ids, same keys.
    app = make_app(redis_url, 60)
    for request in units(rules, "twice"):
        app.send_task(TASK_NAME, args=[request.to_dict()], task_id=request.task_id)
    twice = gather(redis_url, units(rules, "twice"), rules, 60)
    assert len(once.resources) == len(twice.resources) == len(MEMBERS)
    assert len({(r.account_id, r.id) for r in twice.resources}) == len(MEMBERS)
    assert len(twice.coverage) == len(once.coverage)
    assert len(twice.report.failures) == len(once.report.failures) == len(MEMBERS)


def test_broker_down_fails_fast_with_one_clear_line(tmp_path, rules, estate, aws_env):
    from tests.distributed.conftest import free_port

    db = open_db(tmp_path / "s.db")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as caught:
        scan_aws(db, rules, AwsScope(accounts_file=estate), broker=f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "unreachable" in message and "\n" not in message and "hunter2" not in message
    # On record as a scan that failed (status, Slack), with the same line and no password.
    assert [(row["status"], row["error"]) for row in db["scans"].rows] == [("failed", f"BrokerUnavailable: {message}")]


def test_cli_broker_down_exits_non_zero(tmp_path, estate, aws_env, monkeypatch):
    from click.testing import CliRunner

    from skywarden.bot.cli import main
    from tests.distributed.conftest import free_port

    monkeypatch.setenv("SKYWARDEN_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "scan", "aws", "--accounts-file", str(estate)])
    assert result.exit_code != 0
    assert "broker redis://127.0.0.1:" in result.output and "unreachable" in result.output


def test_worker_killed_mid_task_is_a_failed_unit_and_resolves_nothing(tmp_path, rules, estate, redis_url,
                                                                      moto_endpoint, aws_env):
    # Its own broker database, so the shared workers cannot pick the stalled unit up.
    broker = redis_url.rsplit("/", 1)[0] + "/3"
    db = open_db(tmp_path / "s.db")
    member = MEMBERS[0]
    scope = AwsScope(accounts=[member], accounts_file=estate)
    first = scan_aws(db, rules, scope, max_workers=4)
    before = findings_of(db)
    assert first.status == "succeeded" and before

    marker = tmp_path / "collecting"
    doomed = start_worker(broker, moto_endpoint, "doomed", marker=marker)

    def kill_once_collecting() -> None:
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        stop_worker(doomed, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_collecting)
    killer.start()
    try:
        from skywarden.bot.core.scanning import ScanControl

        with pytest.raises(CollectionError, match="collected nothing"):
            scan_aws(db, rules, scope, max_workers=4, broker=broker, control=ScanControl(timeout_s=15))
    finally:
        killer.join()
        stop_worker(doomed, signal.SIGKILL)
    assert marker.exists(), "the worker never started the unit"
    assert doomed.returncode == -signal.SIGKILL
    failed = db["scans"].get(first.scan_id + 1)
    assert failed["status"] == "failed"
    assert findings_of(db) == before  # nothing resolved

    survivor = start_worker(broker, moto_endpoint, "survivor")
    try:
        again = scan_aws(db, rules, scope, max_workers=4, broker=broker)
    finally:
        stop_worker(survivor)
    assert again.status == "succeeded"
    assert findings_of(db) == before


def stored(db) -> tuple[set, set, set]:
    findings = {(r["rule_id"], r["resource_id"], r["state"], r["severity"], r["title"], r["detail"], r["failure"])
                for r in query_findings(db)}
    checks = {(r["rule_id"], r["resource_id"], r["status"], r["detail"]) for r in db["check_results"].rows}
    resources = {(r["id"], r["type"], r["region"], r["tags"], r["properties"]) for r in db["resources"].rows}
    return findings, checks, resources


def test_workers_evaluate_with_the_same_evidence_severity_and_pass_records(tmp_path, estate, workers, redis_url,
                                                                            aws_env):
    from skywarden.rules.passes import passes

    rules = pack_rules("aws/kms.yaml", "aws/s3.yaml")  # regional (KMS) and global (S3) collectors
    local, remote = open_db(tmp_path / "local.db"), open_db(tmp_path / "remote.db")
    embedded = scan_aws(local, rules, AwsScope(accounts_file=estate), max_workers=4)
    distributed = scan_aws(remote, rules, AwsScope(accounts_file=estate), max_workers=4, broker=redis_url)
    assert distributed.status == embedded.status
    findings, checks, resources = stored(remote)
    assert findings and checks and resources
    assert (findings, checks, resources) == stored(local)
    assert {s for _, _, s, _ in checks} >= {"pass", "fail"}

    def pass_records(outcome):
        return sorted((e.rule.id, e.resource.id) for e in passes(outcome.report, outcome.inventory.resources))

    assert pass_records(distributed) and pass_records(distributed) == pass_records(embedded)
    assert distributed.summary["outcomes"] == embedded.summary["outcomes"]
    assert sorted((e.rule.id, e.resource.id, e.detail) for e in distributed.report.errors) == sorted(
        (e.rule.id, e.resource.id, e.detail) for e in embedded.report.errors)


def test_a_rule_the_workers_lack_fails_the_units_clearly(tmp_path, estate, workers, redis_url, aws_env):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "rules:\n  - id: aws-kms-local-only\n    title: A rule only the scanning process has\n    severity: low\n"
        "    resource: aws.kms.key\n    check: {key: KeyState, op: eq, value: Enabled}\n"
        "    frameworks: {cis-aws-3.0: [\"3.6\"]}\n")
    rules = [*pack_rules("aws/kms.yaml"), *pack_rules_from(extra)]
    db = open_db(tmp_path / "s.db")
    with pytest.raises(CollectionError, match="RuleSetMismatch: .*lacks rule.*aws-kms-local-only"):
        scan_aws(db, rules, AwsScope(accounts=[MEMBERS[0]], accounts_file=estate), broker=redis_url)
    assert findings_of(db) == set()


def pack_rules_from(path):
    from skywarden.rules.loader import load_rules

    return load_rules([path])


def test_a_lost_region_unit_fails_only_its_account_regions(tmp_path, redis_url, moto_endpoint, aws_env):
    """An account in two regions, one unit per region plus its global unit; the eu-west-1 unit never comes
    back. Only (account, eu-west-1) is failed coverage: us-east-1 and the global services reconcile (a fixed
    key there is resolved), the eu-west-1 finding stays open although its key was fixed too."""
    from skywarden.bot.core.scanning import ScanControl

    account, regions = "210000000005", ("us-east-1", "eu-west-1")
    creds = boto3.client("sts", endpoint_url=moto_endpoint).assume_role(
        RoleArn=ROLE.format(account), RoleSessionName="seed")["Credentials"]
    member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
    kms = {region: member.client("kms", region_name=region, endpoint_url=moto_endpoint) for region in regions}
    keys = {region: kms[region].create_key(Description=region)["KeyMetadata"]["Arn"] for region in regions}
    member.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint).create_bucket(Bucket="lost-unit-bucket")
    accounts = tmp_path / "accounts.yml"
    accounts.write_text(f"accounts:\n  - {{id: '{account}', name: big, role_arn: '{ROLE.format(account)}', "
                        f"regions: [{', '.join(regions)}]}}\n")
    rules = pack_rules("aws/kms.yaml", "aws/s3.yaml")
    scope = AwsScope(accounts_file=accounts)
    db = open_db(tmp_path / "s.db")
    scan_aws(db, rules, scope, max_workers=4)
    rotation = "aws-kms-key-rotation-enabled"

    def kms_state(region: str) -> str:
        return next(r["state"] for r in query_findings(db) if r["rule_id"] == rotation and r["region"] == region)

    assert kms_state("us-east-1") == kms_state("eu-west-1") == "open"
    for region in regions:
        kms[region].enable_key_rotation(KeyId=keys[region])
    global_before = {(r["rule_id"], r["resource_id"], r["state"]) for r in query_findings(db)
                     if r["region"] == "global"}

    broker = redis_url.rsplit("/", 1)[0] + "/5"  # no other worker may take the stalled unit
    marker = tmp_path / "collecting"
    slow = start_worker(broker, moto_endpoint, "slow", concurrency=2, marker=marker, stall_unit="eu-west-1")
    try:
        outcome = scan_aws(db, rules, scope, max_workers=4, broker=broker, regions_per_unit=1,
                           control=ScanControl(timeout_s=20))
    finally:
        stop_worker(slow, signal.SIGKILL)
    assert marker.read_text() == f"collecting {account}/eu-west-1"
    assert outcome.status == "partial"
    failed = {(u.account_id, u.service, u.region, u.error_class) for u in outcome.gaps}
    assert failed == {(account, "kms", "eu-west-1", "TimeoutError")}
    ok = {(u.service, u.region) for u in outcome.inventory.coverage if u.ok}
    assert ("kms", "us-east-1") in ok and ("s3", "global") in ok
    assert kms_state("us-east-1") == "resolved"
    assert kms_state("eu-west-1") == "open"  # fixed, but its unit was lost: not resolved
    assert {(r["rule_id"], r["resource_id"], r["state"]) for r in query_findings(db)
            if r["region"] == "global"} == global_before
    row = db["scans"].get(outcome.scan_id)
    assert (row["units_done"], row["units_total"]) == (3, 3)
