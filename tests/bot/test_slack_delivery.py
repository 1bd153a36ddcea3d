"""Slack never fails silently: a channel that refuses the bot (not_in_channel, channel_not_found) closes its
queued messages with the reason after one refusal, tells the requester once how to fix it, and loses nothing."""

from __future__ import annotations

import json

from skywarden.storage import finding_views, outbox
from tests.bot.helpers import bucket, slash

REFUSAL = {"ok": False, "error": "not_in_channel"}


def scan(app, services, channel="C0TEAM", user="U0ALICE"):
    assert slash(app, "scan aws", user=user, channel=channel).status == 200
    services.orchestrator.wait_idle()


def test_not_in_channel_tells_the_requester_once_and_stops_posting(app, services, estate, slack):
    estate.resources = [bucket(f"b{i}", blocked=False) for i in range(12)]
    slack.fail("chat.postMessage", 200, body=REFUSAL, times=1000)
    scan(app, services)

    rows = outbox.counts(services.db)
    assert rows == {"failed": 13}  # the digest and 12 findings, closed, not pending forever
    reasons = {r["last_error"] for r in services.db.query("SELECT last_error FROM outbox")}
    assert reasons == {"not_in_channel: undeliverable to C0TEAM"}
    # One refusal (no storm of 13), then one direct message to the requester (the refused channel is where
    # they asked, so an ephemeral there would be refused too).
    assert [c.args["channel"] for c in slack.of("chat.postMessage")] == ["C0TEAM", "U0ALICE"]
    services.publisher.flush()
    assert len(slack.of("chat.postMessage")) == 2  # later flushes leave the closed messages alone


def test_requester_is_told_ephemerally_in_the_channel_they_asked_from(rebuild, estate, slack):
    from skywarden.bot.core.settings import BotConfig

    app, services = rebuild(BotConfig(default_channel="C0SEC"))
    estate.resources = [bucket(f"b{i}", blocked=False) for i in range(8)]
    slack.fail("chat.postMessage", 200, body=REFUSAL, times=1)
    scan(app, services, channel="C0TEAM")

    assert [c.args["channel"] for c in slack.of("chat.postMessage")] == ["C0SEC"]
    told = slack.of("chat.postEphemeral")
    assert len(told) == 1
    notice = told[0].args
    assert notice["channel"] == "C0TEAM" and notice["user"] == "U0ALICE"
    text = json.dumps(notice["blocks"])
    assert "/invite @Skywarden" in text and "<#C0SEC>" in text and "not_in_channel" in text
    assert outbox.counts(services.db) == {"failed": 9}
    # Nothing lost: every finding is stored and listed.
    assert len(finding_views.open_from_scan(services.db, 1)) == 8

    # A later flush does not retry them; after /invite the next scan posts them again.
    slack.clear()
    assert services.publisher.flush().sent == 0 and not slack.of("chat.postMessage")
    scan(app, services, channel="C0TEAM")
    posted = [c.args for c in slack.of("chat.postMessage")]
    assert {p["channel"] for p in posted} == {"C0SEC"}
    assert sum("b3" in json.dumps(p["blocks"]) for p in posted) >= 1
    assert not slack.of("chat.postEphemeral")


def test_direct_message_when_the_refused_channel_is_where_the_request_came_from(app, services, estate, slack):
    estate.resources = [bucket("open", blocked=False)]
    slack.fail("chat.postMessage", 200, body={"ok": False, "error": "channel_not_found"}, times=1)
    scan(app, services, channel="C0TEAM")
    calls = [c.args for c in slack.of("chat.postMessage")]
    assert [c["channel"] for c in calls] == ["C0TEAM", "U0ALICE"]
    assert "channel_not_found" in json.dumps(calls[1]["blocks"])
    assert outbox.counts(services.db) == {"failed": 2}


# ---------------------------------------------------------------- large first scans
def test_a_large_first_scan_posts_one_message_per_rule_within_block_kit_limits(app, services, estate, slack):
    from skywarden.bot.slack import blocks, ids
    from tests.bot.helpers import click

    estate.resources = [bucket(f"pub{i}", blocked=False) for i in range(45)] + [
        bucket(f"old{i}", versioned=False) for i in range(5)]
    scan(app, services)
    digest, *rest = [c.args for c in slack.of("chat.postMessage")]
    assert len(rest) == 4  # 45 public buckets in 3 parts of <= 20, the 5 unversioned in one: not 50 messages
    top = json.dumps(digest["blocks"])
    assert "Top findings by rule" in top and "45 resource(s)" in top and "5 resource(s)" in top
    assert top.index("45 resource(s)") < top.index("5 resource(s)")  # critical rule first
    assert all(m["thread_ts"] == rest[0]["thread_ts"] for m in rest)  # in the digest's thread
    shown = []
    for message in rest:
        blocks.check_limits(message["blocks"])
        assert len(message["blocks"]) <= 50
        assert message["metadata"]["event_type"] == blocks.GROUP_EVENT
        for block in message["blocks"]:
            if block["type"] == "actions":
                assert [e["value"] for e in block["elements"]] == [block["block_id"][2:]] * len(block["elements"])
                shown.append(block["block_id"][2:])
    assert len(shown) == 50 == len(set(shown))  # buttons per resource, every finding once
    assert "(part 2 of 3)" in rest[1]["text"]

    # A decision on one resource re-renders its group with every resource still there.
    slack.clear()
    target = rest[3]
    fid = next(b["block_id"][2:] for b in target["blocks"] if b["type"] == "actions")
    ts = next(c for c in services.db.query("SELECT ts FROM outbox WHERE id = (SELECT outbox_id FROM "
                                              "slack_messages WHERE finding_id = ?)", [fid]))["ts"]
    click(app, ids.ACKNOWLEDGE, fid, ts=ts)
    update = [c.args for c in slack.of("chat.update")]
    assert len(update) == 1 and update[0]["ts"] == ts
    text = json.dumps(update[0]["blocks"])
    assert "Acknowledged by" in text and all(f"old{i}" in text for i in range(5))

    # The next scan posts only what changed.
    slack.clear()
    estate.resources.append(bucket("late", blocked=False))
    scan(app, services)
    _, *rest = [c.args for c in slack.of("chat.postMessage")]
    assert len(rest) == 1 and "late" in json.dumps(rest[0]["blocks"]) and "metadata" not in rest[0]
