"""`serve` scans through the workers: a signed `/warden scan aws <account>` through the Bolt app, the production
scan runner with ``broker_url:`` from the configuration, a real redis-server, real `skywarden worker` processes
and moto's server; the Slack Web API is the loopback stand-in."""

from __future__ import annotations

import json

import pytest

from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.core.settings import parse_config, scan_broker
from skywarden.bot.slack.app import make_client
from skywarden.bot.wiring import assemble, cloud_scan_runner
from skywarden.storage.findings import query_findings
from tests.bot.helpers import make_app, slash
from tests.bot.slack_standin import SlackStandIn
from tests.distributed.conftest import free_port, seed_members
from tests.support.aws import pack_rules

MEMBERS = ["230000000001", "230000000002"]


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/kms.yaml")


@pytest.fixture(scope="module")
def accounts_file(moto_endpoint, tmp_path_factory):
    """Two member accounts reached by role assumption, each with a KMS key whose rotation is off."""
    return seed_members(moto_endpoint, tmp_path_factory.mktemp("serve-estate"), MEMBERS, "serve")


@pytest.fixture
def slack():
    server = SlackStandIn()
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, moto_endpoint):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("SKYWARDEN_BROKER_URL", raising=False)


def bot(tmp_path, slack, rules, accounts_file, broker_url):
    """Services wired as `serve` wires them (build_services), with the KMS pack only to keep moto quick."""
    config = parse_config({"accounts": [{"id": a, "name": f"serve{i}"} for i, a in enumerate(MEMBERS)],
                           "accounts_file": str(accounts_file), "broker_url": broker_url}, "skywarden.yml")
    runner = cloud_scan_runner(rules, config, broker=scan_broker(config))
    client = make_client("xoxb-test", slack.base_url, retries=1, backoff_s=0.01)
    services = assemble(str(tmp_path / "bot.db"), config, {r.id: r for r in rules}, runner, client)
    return services, make_app(services)


def test_slash_scan_runs_on_the_workers_and_shows_progress(tmp_path, slack, rules, accounts_file, workers,
                                                            redis_url, aws_env):
    services, app = bot(tmp_path, slack, rules, accounts_file, redis_url)
    try:
        reply = slash(app, "scan aws serve0", response_url=slack.response_url("scan"))
        assert reply.status == 200
        assert "started" in json.loads(reply.body)["text"]
        services.orchestrator.wait_idle(120)
        db = services.db
        scan = db["scans"].get(1)
        assert scan["status"] == "succeeded", scan["error"]
        assert json.loads(scan["scope"])["distributed"] is True
        assert scan["units_total"] == 1 and scan["units_done"] == scan["units_total"]

        updates = [c.args for c in slack.of("respond")]
        assert all(u["replace_original"] is True and u["response_type"] == "ephemeral" for u in updates)
        texts = [u["text"] for u in updates]
        assert texts[0].startswith("Scan of aws (230000000001") and "0 of 1 units collected" in texts[0]
        assert "1 of 1 units collected" in texts[-1] and len(texts) == 2

        findings = query_findings(db)
        assert {(f["rule_id"], f["account_id"]) for f in findings} == {("aws-kms-key-rotation-enabled", MEMBERS[0])}
        posted = " ".join(json.dumps(c.args) for c in slack.of("chat.postMessage"))
        assert findings[0]["resource_id"] in posted
        assert all(c.args["channel"] == "C0TEAM" for c in slack.of("chat.postMessage"))
    finally:
        services.close()


def test_slash_scan_with_the_broker_down_tells_the_requester_and_resolves_nothing(tmp_path, slack, rules,
                                                                                   accounts_file, aws_env):
    broker = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    services, app = bot(tmp_path, slack, rules, accounts_file, broker)
    try:
        db = services.db
        first = scan_aws(db, rules, AwsScope(accounts=[MEMBERS[1]], accounts_file=accounts_file))  # in-process
        before = {(f["id"], f["state"]) for f in query_findings(db)}
        assert first.status == "succeeded" and before

        slash(app, "scan aws serve1", response_url=slack.response_url("scan"))
        services.orchestrator.wait_idle(60)
        failed = db["scans"].get(first.scan_id + 1)
        assert failed["status"] == "failed" and failed["error"].startswith("BrokerUnavailable: broker redis://***@")
        assert {(f["id"], f["state"]) for f in query_findings(db)} == before  # nothing resolved

        messages = slack.of("chat.postMessage")
        assert len(messages) == 1, [m.args for m in messages]
        text = messages[0].args["text"]
        port = broker.rsplit(":", 1)[1].split("/")[0]
        assert f"failed: broker redis://***@127.0.0.1:{port}/0 unreachable:" in text
        assert "\n" not in text and "hunter2" not in json.dumps(messages[0].args)
        assert not slack.of("respond")  # no unit ever started: no progress to show
    finally:
        services.close()
