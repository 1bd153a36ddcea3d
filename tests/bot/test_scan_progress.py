"""Scan progress in the "scan running" reply: the throttle (no sleeping: an injected clock), the unit counter, the
in-process runner's reports, and Slack refusing an update never failing the scan."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from skywarden.bot.core.orchestrator import PROGRESS_UPDATES, ScanRequest
from skywarden.bot.core.progress_updates import ProgressThrottle, UnitCounter
from skywarden.bot.core.scanning import ScanControl
from skywarden.bot.core.settings import BotConfig
from skywarden.bot.wiring import cloud_scan_runner
from skywarden.scanners.model import CollectionResult
from skywarden.storage.db import open_db
from tests.bot.helpers import ACCOUNT, bucket, slash
from tests.support.aws import pack_rules


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def throttled(interval: float = 5.0, max_updates: int | None = None) -> tuple[ProgressThrottle, list, Clock]:
    sent: list[tuple[int, int]] = []
    clock = Clock()
    return ProgressThrottle(lambda d, t: sent.append((d, t)), interval, max_updates, clock), sent, clock


def test_throttle_sends_at_most_once_per_interval_and_always_the_last_unit():
    throttle, sent, clock = throttled(5.0)
    throttle(0, 40)  # the first report goes at once
    clock.now += 1
    throttle(1, 40)  # 1 s later: held back
    clock.now += 4
    throttle(6, 40)  # 5 s after the last update: sent
    clock.now += 0.5
    throttle(7, 40)
    throttle(40, 40)  # the last unit, 0.5 s later: sent anyway
    throttle(40, 40)  # and only once
    assert sent == [(0, 40), (6, 40), (40, 40)]


def test_throttle_keeps_the_last_of_its_budget_for_the_final_update():
    throttle, sent, clock = throttled(0.0, max_updates=PROGRESS_UPDATES)
    for done in range(0, 41):
        clock.now += 10
        throttle(done, 40)
    assert len(sent) == PROGRESS_UPDATES == 5
    assert sent[:4] == [(0, 40), (1, 40), (2, 40), (3, 40)] and sent[-1] == (40, 40)


def test_throttle_refuses_a_budget_without_room_for_the_final_update():
    with pytest.raises(ValueError, match="max_updates"):
        ProgressThrottle(lambda d, t: None, 5.0, 0)


def test_unit_counter_reports_done_of_total_from_plan_callbacks():
    reports: list[tuple[int, int]] = []
    counter = UnitCounter(lambda d, t: reports.append((d, t)))
    counter.plan(3)
    unit = CollectionResult("aws", ACCOUNT, "s3", "global", ("aws.s3.bucket",), "ok")
    for _ in range(3):
        counter.advance(unit)
    assert reports == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_a_failing_progress_report_never_fails_the_scan():
    control = ScanControl()

    def refuse(done: int, total: int) -> None:
        raise RuntimeError("slack said no")

    control.on_progress = refuse
    control.progress(1, 2)  # logged, not raised
    control.on_progress = None
    control.progress(2, 2)


@mock_aws
def test_in_process_runner_reports_units_through_the_scan_control(tmp_path):
    boto3.client("kms", region_name="us-east-1").create_key(Description="rotation off")
    rules = pack_rules("aws/kms.yaml")
    db = open_db(tmp_path / "s.db")
    control = ScanControl()
    reports: list[tuple[int, int]] = []
    control.on_progress = lambda d, t: reports.append((d, t))
    run = cloud_scan_runner(rules, BotConfig())
    outcome = run(db, ScanRequest("aws", regions=("us-east-1", "eu-west-1"), control=control))
    assert outcome.status == "succeeded"
    total = len(outcome.inventory.coverage)
    assert total > 1 and reports[0] == (0, total) and reports[-1] == (total, total)
    assert [d for d, _ in reports] == list(range(total + 1))
    assert db["scans"].get(outcome.scan_id)["units_total"] is None  # units rows are the distributed scan's


def progressing_runner(estate, steps):
    """The fake estate's scan, reporting collection progress as a real runner does."""
    def run(db, request):
        for done, total in steps:
            request.control.progress(done, total)
        return estate.runner(db, request)
    return run


def test_slash_scan_reply_is_replaced_with_progress(services, app, slack, estate):
    estate.resources = [bucket("open", blocked=False)]
    services.orchestrator.runner = progressing_runner(estate, [(0, 3), (1, 3), (2, 3), (3, 3)])
    services.orchestrator.progress_interval_s = 3600  # only the first report and the last get through
    reply = slash(app, f"scan aws {ACCOUNT}", response_url=slack.response_url("scan"))
    assert "started" in json.loads(reply.body)["blocks"][0]["text"]["text"]
    services.orchestrator.wait_idle()
    updates = slack.of("respond")
    assert [c.path for c in updates] == ["/respond/scan"] * 2
    assert all(c.args["replace_original"] is True and c.args["response_type"] == "ephemeral" for c in updates)
    assert "0 of 3 units collected" in updates[0].args["text"]
    assert "3 of 3 units collected" in updates[1].args["text"]
    assert slack.of("chat.postMessage")  # the results, as always


def test_slack_refusing_progress_updates_does_not_fail_the_scan(services, app, slack, estate):
    estate.resources = [bucket("open", blocked=False)]
    services.orchestrator.runner = progressing_runner(estate, [(0, 2), (2, 2)])
    slack.fail("respond", 404, body={"ok": False, "error": "expired_url"}, times=5)
    slash(app, f"scan aws {ACCOUNT}", response_url=slack.response_url("scan"))
    services.orchestrator.wait_idle()
    assert len(slack.of("respond")) == 2  # tried, refused, logged
    scan = services.db["scans"].get(1)
    assert scan["status"] == "succeeded"
    texts = [c.args.get("text", "") for c in slack.of("chat.postMessage")]
    assert texts and not any("failed" in t for t in texts)


def test_a_mention_has_no_reply_to_edit(services, app, slack, estate):
    from tests.bot.helpers import event

    services.orchestrator.runner = progressing_runner(estate, [(0, 1), (1, 1)])
    event(app, {"type": "app_mention", "user": "U0ALICE", "channel": "C0TEAM", "text": f"<@U0BOT> scan aws {ACCOUNT}",
                "ts": "1.2"})
    services.orchestrator.wait_idle()
    assert slack.of("chat.postEphemeral") and not slack.of("respond")


def test_a_long_scan_stays_within_the_uses_slack_allows_a_response_url(services, app, slack, estate):
    services.orchestrator.runner = progressing_runner(estate, [(done, 40) for done in range(41)])
    services.orchestrator.progress_interval_s = 0  # every report would be due but for the budget
    slash(app, f"scan aws {ACCOUNT}", response_url=slack.response_url("scan"))
    services.orchestrator.wait_idle()
    texts = [c.args["text"] for c in slack.of("respond")]
    assert len(texts) == PROGRESS_UPDATES and "40 of 40 units collected" in texts[-1]
