"""Block Kit builders respect Slack's limits whatever the input size."""

from __future__ import annotations

import json

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
    assert "&lt;b&gt;" in message.blocks[0]["fields"][2]["text"]  # user-controlled names are escaped


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
    from datetime import UTC, datetime

    from skywarden.bot.slack import home_blocks

    accounts = [home_blocks.AccountLine(f"acct{i}" * 30, f"name{i}" * 30, "aws", {"high": i}, None)
                for i in range(5000)]
    postures = [{"framework": f"fw{i}" * 50, "name": f"Framework {i}" * 20, "passing": 1, "failing": 1,
                 "not_evaluated": 0, "controls_checked": 2, "percent": 50.0} for i in range(30)]
    expiring = [{"id": i, "rule_id": "r" * 200, "resource_id": "x" * 500, "account_id": "1", "reason": "y" * 2000,
                 "expires_at": None} for i in range(300)]
    data = home_blocks.HomeData("U0ALICE", datetime(2026, 1, 1, tzinfo=UTC), "every account", {"high": 10},
                                accounts, postures, expiring)
    view = home_blocks.home_view(data)
    blocks.check_limits(view["blocks"], blocks.MAX_VIEW_BLOCKS)
    assert "4960 more account(s)" in json.dumps(view) and len(view["blocks"]) == blocks.MAX_VIEW_BLOCKS


def test_a_finding_message_leads_with_the_failure_then_rule_severity_controls_evidence_fix():
    shown = {"id": "f" * 20, "number": 7, "rule_id": "aws-s3-bucket-not-public", "severity": "critical",
             "title": "S3 bucket is not publicly accessible", "resource_id": "arn:aws:s3:::acme-logs",
             "resource_name": "acme-logs", "account_id": "111111111111", "region": "us-east-1",
             "frameworks": {"cis-aws-5.0": ["2.1.4"]}, "state": "open", "state_changed_at": "2026-01-01T00:00:00+00:00",
             "reopened_count": 0, "failure": "S3 bucket acme-logs is publicly readable",
             "detail": "acme-logs: ACL grants READ to AllUsers; policy statement PublicRead allows s3:GetObject to *"}
    message = blocks.finding_message(shown, guidance="Turn on Block Public Access.")
    first = message.blocks[0]
    assert first["text"]["text"] == ":red_circle: *S3 bucket acme-logs is publicly readable*  `#7`"
    fields = [f["text"] for f in first["fields"]]
    assert fields[0].startswith("*Rule*\nS3 bucket is not publicly accessible")
    assert fields[1] == "*Severity*\n:red_circle: *CRITICAL*"
    assert "cis-aws-5.0 2.1.4" in fields[4]
    sections = [b["text"]["text"] for b in message.blocks[1:] if b["type"] == "section"]
    assert sections[0].startswith("*Evidence*\nacme-logs: ACL grants READ to AllUsers; policy statement PublicRead")
    assert "s3:GetObject to \u2217" in sections[0]  # the evidence is escaped: `*` cannot start bold text
    assert sections[1] == "*Remediation*\nTurn on Block Public Access."
    assert message.text.startswith("S3 bucket acme-logs is publicly readable [critical] S3 bucket is not publicly")
    assert message.text.endswith("allows s3:GetObject to *")
    # Once resolved, the evidence of the past failure is not presented as current.
    resolved = blocks.finding_message({**shown, "state": "resolved", "resolved_at": "2026-01-02T00:00:00+00:00"})
    assert not any("*Evidence*" in b.get("text", {}).get("text", "") for b in resolved.blocks)
    assert resolved.blocks[0]["text"]["text"] == (
        ":white_check_mark: *Resolved:* was S3 bucket acme-logs is publicly readable  `#7`")
    assert resolved.text == ("Resolved: was S3 bucket acme-logs is publicly readable [critical] S3 bucket is not"
                             " publicly accessible")


def test_a_finding_stored_before_headlines_reads_resource_then_rule():
    old = finding(title="EBS volume is encrypted", resource_name="vol-1")
    assert blocks.finding_message(old).blocks[0]["text"]["text"].startswith(
        ":large_orange_circle: *vol-1 fails: EBS volume is encrypted*")
