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


def test_requester_is_told_ephemerally_in_the_channel_they_asked_from(app, services, estate, slack):
    from skywarden.bot.settings import BotConfig

    services.config = BotConfig(default_channel="C0SEC")
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
