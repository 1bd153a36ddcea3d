"""Distributed scans against real parts: redis-server, `skywarden worker` processes, moto's server."""

from __future__ import annotations

import json
import signal
import threading
import time

import boto3
import pytest

from skywarden.bot.core.distributed import BrokerUnavailable, gather
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.worker.app import TASK_NAME, make_app
from skywarden.scanners.aws.session import AccountSpec
from skywarden.scanners.errors import CollectionError
from skywarden.storage.db import open_db
from skywarden.storage.findings import query_findings
from tests.distributed.conftest import start_worker, stop_worker
from tests.support.aws import pack_rules

MEMBERS = ["210000000001", "210000000002", "210000000003", "210000000004"]
ROLE = "arn:aws:iam::{}:role/SkywardenReadOnly"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/kms.yaml")


@pytest.fixture(scope="module")
def estate(moto_endpoint, tmp_path_factory):
    """Four member accounts reached by role assumption, each with a KMS key (rotation off) and a bucket."""
    base = boto3.Session(region_name=REGION)
    for index, account in enumerate(MEMBERS):
        creds = base.client("sts", endpoint_url=moto_endpoint).assume_role(
            RoleArn=ROLE.format(account), RoleSessionName="seed")["Credentials"]
        member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"], region_name=REGION)
        member.client("kms", endpoint_url=moto_endpoint).create_key(Description=f"key {index}")
        member.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=f"estate-bucket-{index}")
    path = tmp_path_factory.mktemp("estate") / "accounts.yml"
    path.write_text("accounts:\n" + "".join(
        f"  - {{id: '{a}', name: member{i}, role_arn: '{ROLE.format(a)}', regions: [{REGION}]}}\n"
        for i, a in enumerate(MEMBERS)))
    return path


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


def test_two_workers_share_the_units(rules, estate, workers, redis_url, aws_env):
    from skywarden.bot.core.distributed import plan_distributed_aws

    seen: set[str] = set()
    specs = [AccountSpec(a, f"member{i}", ROLE.format(a), regions=(REGION,)) for i, a in enumerate(MEMBERS * 2)]
    plan_distributed_aws(AwsScope(accounts_file=estate), redis_url)  # the broker answers
    inventory = gather(redis_url, specs, (), frozenset({"aws.kms.key"}), 2, 60, workers_seen=seen)
    assert not inventory.gaps
    assert len({name.split(":")[0] for name in seen}) >= 1 and len(seen) == 2, seen


def test_redelivery_does_not_double_count(rules, workers, redis_url, aws_env):
    specs = [AccountSpec(a, f"member{i}", ROLE.format(a), regions=(REGION,)) for i, a in enumerate(MEMBERS)]
    types = frozenset({"aws.kms.key"})
    once = gather(redis_url, specs, (), types, 2, 60, nonce="once")
    # The same units delivered again (as after a broker restart or a lost ack): same task ids, same keys.
    app = make_app(redis_url, 60)
    from skywarden.bot.worker.payload import UnitRequest

    for spec in specs:
        request = UnitRequest("twice", spec.id, spec, (), tuple(sorted(types)), 2)
        app.send_task(TASK_NAME, args=[request.to_dict()], task_id=request.task_id)
    twice = gather(redis_url, specs, (), types, 2, 60, nonce="twice")
    assert len(once.resources) == len(twice.resources) == len(MEMBERS)
    assert len({(r.account_id, r.id) for r in twice.resources}) == len(MEMBERS)
    assert len(twice.coverage) == len(once.coverage)


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
