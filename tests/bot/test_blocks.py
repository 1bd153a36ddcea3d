"""Block Kit builders respect Slack's limits whatever the input size."""

from __future__ import annotations

import pytest

from skywarden.bot.slack import blocks, ids


def finding(number=1, state="open", **extra):
    return {"id": f"f{number:019d}", "number": number, "rule_id": "aws-x", "title": "T" * 400, "severity": "high",
            "resource_id": "arn:" + "r" * 5000, "resource_name": "<b>" * 2000, "account_id": "111111111111",
            "region": "us-east-1", "frameworks": {"cis": [str(i) for i in range(900)]}, "state": state,
            "state_changed_at": "2026-01-01T00:00:00+00:00", "state_changed_by": "U0ALICE", "reopened_count": 0,
            **extra}


def test_huge_fields_are_clipped_not_rejected():
    message = blocks.finding_message(finding(), guidance="g" * 10000, remediation_action="aws.s3.x")
    blocks.check_limits(message.blocks)
    assert all(len(b["text"]["text"]) <= blocks.MAX_TEXT for b in message.blocks if b["type"] == "section")
    assert "&lt;b&gt;" in message.blocks[0]["fields"][0]["text"]  # user-controlled names are escaped


@pytest.mark.parametrize(("state", "action", "expected"), [
    ("open", "aws.s3.x", [ids.ACKNOWLEDGE, ids.SUPPRESS, ids.REMEDIATE]),
    ("open", None, [ids.ACKNOWLEDGE, ids.SUPPRESS]),
    ("acknowledged", "aws.s3.x", [ids.SUPPRESS, ids.REMEDIATE]),
    ("suppressed", "aws.s3.x", []),
    ("resolved", "aws.s3.x", []),
])
def test_buttons_follow_the_state_and_the_rule(state, action, expected):
    assert [b["action_id"] for b in blocks.finding_buttons(finding(state=state), action)] == expected


def test_check_limits_catches_each_limit():
    with pytest.raises(blocks.BlockLimitError):
        blocks.check_limits([blocks.divider()] * 51)
    with pytest.raises(blocks.BlockLimitError):
        blocks.check_limits([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    with pytest.raises(blocks.BlockLimitError):
        blocks.check_limits([{"type": "actions", "elements": [blocks.button("b", "a", "v")] * 26}])
    blocks.check_limits([blocks.divider()] * 50)


def test_more_than_25_buttons_split_into_several_actions_blocks():
    split = blocks.actions([blocks.button(str(i), "a", str(i)) for i in range(60)], block_id="x")
    assert [len(b["elements"]) for b in split] == [25, 25, 10]
    assert len({b["block_id"] for b in split}) == 3


def test_paginate_never_splits_a_group_and_never_exceeds_50():
    groups = [[blocks.divider()] * 3 for _ in range(40)]
    pages = blocks.paginate(groups, head=[blocks.header("h")])
    assert all(len(p) <= 50 for p in pages) and sum(len(p) for p in pages) == 121
    assert all(len(p) % 3 == (1 if i == 0 else 0) for i, p in enumerate(pages))


def test_digest_with_thousands_of_gaps_pages():
    gaps = [{"account_id": "1" * 12, "service": "ec2", "region": f"r{i}", "error_class": "AccessDenied",
             "message": "m" * 200} for i in range(3000)]
    messages = blocks.digest_messages(7, ["a"], {"high": 3}, 1, 0, 2, gaps, 0, False, "partial")
    assert len(messages) > 1 and "part 1 of" in messages[0].text
    for message in messages:
        blocks.check_limits(message.blocks)
    assert messages[0].blocks[0]["type"] == "header"


def test_findings_list_of_20_fits_and_suppression_list_caps():
    listing = blocks.findings_list([finding(i) for i in range(20)], {}, 500, 1, 20, "Open findings")
    blocks.check_limits(listing.blocks)
    exceptions = [{"id": i, "rule_id": "r", "resource_id": "x", "account_id": "1", "created_by": "U1",
                   "expires_at": None, "reason": "r" * 5000, "source": "slack", "scope": "resource"}
                  for i in range(200)]
    blocks.check_limits(blocks.suppressions_list(exceptions).blocks)


def test_home_view_stays_under_100_blocks():
    view = blocks.home_view({"high": 1}, [(f"acct{i}" * 30, {"high": i}) for i in range(5000)], [], [])
    blocks.check_limits(view["blocks"], blocks.MAX_VIEW_BLOCKS)
