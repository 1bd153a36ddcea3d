"""Nothing a Slack user or a cloud resource supplies can become a mention, a broadcast, a link or formatting:
every builder is fed hostile text in every field, and every text of the result is checked (issue 9, item 6)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from skywarden.bot.core.settings import BotConfig
from skywarden.bot.slack import blocks, home, home_blocks
from skywarden.bot.slack import remediation_blocks as rblocks
from skywarden.bot.slack import reminders as housekeeping
from skywarden.storage import remediations
from tests.bot.helpers import bucket, slash

HOSTILE = "<!everyone> <https://x.example|y> <@U123> <#C123> <!subteam^S1> *bold* _it_ ~gone~ `tick` &amp; <mailto:a@b>"
ACTIVE = ("<!", "<@", "<#", "<http", "<mailto")
MARKERS = ("*bold*", "_it_", "~gone~", "`tick`")


def texts(node: Any) -> Iterator[tuple[str, str]]:
    """Every string Slack shows: each text object's text (with its type) and the message's fallback text."""
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node.get("type", "fallback"), node["text"]
        for key, value in node.items():
            if (key == "text" and isinstance(value, str)) or key in (
                    "private_metadata", "value", "action_id", "block_id", "callback_id", "type"):
                continue  # yielded above, or never displayed
            yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)
    elif isinstance(node, str):  # a line for a context (finding_note)
        yield "mrkdwn", node


def assert_inert(payload: Any, mentions: tuple[str, ...] = ()) -> None:
    """``mentions``: the user ids the bot mentions on purpose (a requester); nothing else may be active."""
    checked = 0
    for kind, text in texts(payload):
        checked += 1
        for user in mentions:
            text = text.replace(f"<@{user}>", "")
        for active in ACTIVE:
            assert active not in text, f"{active!r} survives in {kind}: {text[:300]!r}"
        if kind == "mrkdwn":
            prose = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", text, flags=re.DOTALL))  # code is inert
            for marker in MARKERS:
                assert marker not in prose, f"{marker!r} would format in mrkdwn: {text[:300]!r}"
    assert checked


def hostile_finding(state: str = "open") -> dict[str, Any]:
    return {"id": "f" * 20, "number": 7, "rule_id": HOSTILE, "title": HOSTILE, "severity": "high",
            "resource_id": HOSTILE, "resource_name": HOSTILE, "account_id": HOSTILE, "region": HOSTILE,
            "frameworks": {HOSTILE: [HOSTILE]}, "state": state, "state_changed_at": "2026-01-01T00:00:00+00:00",
            "state_changed_by": HOSTILE, "reopened_count": 0, "resolved_at": None, "failure": HOSTILE,
            "detail": HOSTILE}


def hostile_exception(source: str = "slack") -> dict[str, Any]:
    return {"id": 3, "rule_id": HOSTILE, "resource_id": HOSTILE, "account_id": HOSTILE, "scope": "resource",
            "reason": HOSTILE, "created_by": HOSTILE, "expires_at": "2026-02-01T00:00:00+00:00", "source": source}


def hostile_request(state: str) -> dict[str, Any]:
    plan = {"summary": HOSTILE, "action": HOSTILE,
            "calls": [{"service": HOSTILE, "operation": HOSTILE, "params": {HOSTILE: HOSTILE}, "region": HOSTILE}],
            "before": {"Policy": HOSTILE}, "after": {HOSTILE: HOSTILE}}
    return {"id": 4, "kind": "remediate", "state": state, "plan": plan, "requested_by": HOSTILE,
            "decided_by": HOSTILE, "message": HOSTILE, "expires_at": "2026-01-02T00:00:00+00:00"}


def every_message() -> Iterator[tuple[str, Any]]:
    finding = hostile_finding()
    for state in ("open", "acknowledged", "suppressed", "resolved"):
        yield f"finding {state}", blocks.finding_message(
            hostile_finding(state), guidance=HOSTILE, remediation_action="x",
            note=rblocks.finding_note(hostile_request(remediations.FAILED)),
            exception=hostile_exception() if state == "suppressed" else None).payload()
    gaps = [{"account_id": HOSTILE, "service": HOSTILE, "region": HOSTILE, "error_class": HOSTILE, "message": HOSTILE}]
    for message in blocks.digest_messages(1, [HOSTILE], {"high": 1}, 1, 0, 0, gaps, 1, False, "partial", "aws"):
        yield "digest", message.payload()
    for message in blocks.digest_messages(1, [HOSTILE], {"high": 1}, 1, 0, 0, [], 1, True, "ok", "aws",
                                          top_rules=[(HOSTILE, HOSTILE, "high", 3)]):
        yield "digest top rules", message.payload()
    for state in ("open", "acknowledged", "suppressed"):
        yield f"finding group {state}", blocks.finding_group_message(
            [hostile_finding(state), {**hostile_finding(), "id": "g" * 20}], guidance=HOSTILE,
            remediation_action="x").payload()
    yield "findings list", blocks.findings_list([finding], {}, 1, 1, 20, HOSTILE).payload()
    yield "suppressions", blocks.suppressions_list([hostile_exception(), hostile_exception("code")]).payload()
    yield "usage", blocks.usage(HOSTILE).payload()
    yield "notice", blocks.notice(HOSTILE).payload()
    for error in ("not_in_channel", "channel_not_found", HOSTILE):
        yield f"undeliverable {error[:14]}", blocks.undeliverable_notice(HOSTILE, error, 3).payload()
    yield "suppress modal", blocks.suppress_modal(finding, date(2026, 1, 1), 30, 90, HOSTILE)
    yield from home_messages(finding)
    for state in (remediations.REQUESTED, remediations.FAILED, remediations.REJECTED, remediations.VERIFIED):
        yield f"approval {state}", rblocks.approval_message(hostile_request(state), finding).payload()
        yield f"note {state}", rblocks.finding_note(hostile_request(state))
    yield "plan modal", rblocks.plan_modal(finding, hostile_request("requested")["plan"], "approvers: anyone", 24,
                                                 HOSTILE)
    yield "plan problem", rblocks.plan_problem_modal(finding, HOSTILE)
    services = SimpleNamespace(config=BotConfig())
    yield "reminder", housekeeping.reminder_message(services, hostile_exception(), datetime(2026, 1, 1, tzinfo=UTC)
                                                    ).payload()


def home_messages(finding: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    scan = {"scan_id": 1, "provider": HOSTILE, "status": HOSTILE, "started_at": HOSTILE, "units": 2, "gaps": 1}
    accounts = [home_blocks.AccountLine(HOSTILE, HOSTILE, HOSTILE, {"high": 1}, scan),
                home_blocks.AccountLine(HOSTILE, HOSTILE, None, {}, None)]
    postures = [{"framework": HOSTILE, "name": HOSTILE, "passing": 1, "failing": 1, "not_evaluated": 0,
                 "controls_checked": 2, "percent": 50.0}]
    yield "home", home_blocks.home_view(home_blocks.HomeData(HOSTILE, at, HOSTILE, {"high": 1}, accounts, postures,
                                                             [hostile_exception()], metadata=HOSTILE))
    yield "home no access", home_blocks.home_view(home_blocks.HomeData(HOSTILE, at, HOSTILE, no_access=HOSTILE))
    yield "scan modal", home_blocks.scan_modal([home_blocks.ScanChoice(HOSTILE, HOSTILE)], HOSTILE)
    yield "scan result", home_blocks.scan_result_modal(HOSTILE, home.where_results_go([HOSTILE, "D0"], "D0"))
    yield "home findings", home_blocks.findings_modal([finding, hostile_finding("acknowledged")], 40,
                                                      {HOSTILE: HOSTILE})
    yield "home notice", home_blocks.notice_modal("Scan", HOSTILE)


@pytest.mark.parametrize("payload", [pytest.param(payload, id=name) for name, payload in every_message()])
def test_no_hostile_text_stays_active_in_any_builder(payload):
    assert_inert(payload)


def test_escaped_text_still_reads_as_typed():
    shown = blocks.escape("<!everyone> *a* & b_c")
    assert shown == "&lt;!everyone&gt; \u2217a\u2217 &amp; b\u02cdc"
    assert blocks.code("arn:aws:s3:::my_bucket`x") == "`arn:aws:s3:::my_bucket\u02cbx`"  # markers are inert in code
    assert blocks.mention("U0ALICE") == "<@U0ALICE>" and blocks.mention("<@U0ALICE>") == "&lt;@U0ALICE&gt;"
    assert blocks.mention("alice") == "alice"


def test_fallback_text_is_escaped_once():
    message = blocks.finding_message(hostile_finding())
    assert message.payload()["text"].startswith("&lt;!everyone&gt; &lt;https://x.example|y&gt;")
    assert "&amp;amp;" in message.payload()["text"]  # the literal "&amp;" shows as typed


@pytest.mark.parametrize("command", [
    "scan aws <!channel>", "findings <!everyone>", "<@U123> *bold*", "posture <https://x.example|y>",
    "ack <!here>", "suppress 1 --reason <!channel>", "schedule add aws <!channel> \"0 6 * * *\"",
    "schedule frobnicate <#C123>", "revoke <!everyone>", "approve <@U123>",
])
def test_echoed_slash_command_arguments_are_inert(app, services, command):
    response = slash(app, command)
    services.orchestrator.wait_idle()
    assert response.status == 200
    assert_inert(json.loads(response.body))


def test_a_hostile_resource_name_is_posted_inert(app, services, estate, slack):
    estate.resources = [bucket(HOSTILE, blocked=False)]
    slash(app, "scan aws")
    services.orchestrator.wait_idle()
    posted = [c.args for c in slack.of("chat.postMessage")]
    assert len(posted) == 2  # the digest and the finding
    for args in posted:
        assert_inert({"text": args["text"], "blocks": json.loads(args["blocks"]) if isinstance(args["blocks"], str)
                      else args["blocks"]})
    assert "&lt;!everyone&gt;" in json.dumps(posted[1])


def test_a_failed_scan_with_hostile_scope_and_error_is_posted_inert(app, services, slack):
    def failing(db, request):
        raise RuntimeError(HOSTILE)

    services.orchestrator.runner = failing
    slash(app, "scan aws <!channel>")
    services.orchestrator.wait_idle()
    (posted,) = [c.args for c in slack.of("chat.postMessage")]
    blocks_ = json.loads(posted["blocks"]) if isinstance(posted["blocks"], str) else posted["blocks"]
    assert "failed" in posted["text"]
    assert_inert({"text": posted["text"], "blocks": blocks_}, mentions=("U0ALICE",))
    assert "<@U0ALICE>" in json.dumps(blocks_)  # the requester is still mentioned, on purpose
