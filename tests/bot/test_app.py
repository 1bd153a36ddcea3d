"""The bot end to end through signed requests: app.dispatch(BoltRequest) with real signature checks, a
loopback Web API stand-in recording every call, and rows in SQLite."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from skywarden.bot.core.settings import BotConfig, Route
from skywarden.bot.slack import ids
from skywarden.storage import audit
from skywarden.storage.findings import finding_id, get_finding
from tests.bot.helpers import (
    ACCOUNT,
    OTHER_ACCOUNT,
    bucket,
    click,
    event,
    make_app,
    make_services,
    sign,
    slash,
    slash_body,
    submit_suppress,
)

PUBLIC = "aws-s3-bucket-block-public-access"
VERSIONING = "aws-s3-bucket-versioning"


def body_of(response) -> dict:
    return json.loads(response.body)


def posted(slack, channel=None):
    return [c.args for c in slack.of("chat.postMessage") if channel is None or c.args["channel"] == channel]


def action_ids(message_args) -> list[str]:
    return [e["action_id"] for b in message_args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def scan(app, services, text="scan aws", user="U0ALICE", channel="C0TEAM"):
    response = slash(app, text, user=user, channel=channel)
    assert response.status == 200
    services.orchestrator.wait_idle()
    return body_of(response)


def fid(name, rule=PUBLIC):
    return finding_id(rule, f"arn:aws:s3:::{name}")


def events_of(services, action):
    return [e for e in audit.events(services.db) if e["action"] == action]


@pytest.fixture
def scanned(app, services, estate, slack):
    """One scan: 'open' fails block-public-access (has a remediation action), 'old' fails versioning."""
    estate.resources = [bucket("open", blocked=False), bucket("old", versioned=False), bucket("fine")]
    reply = scan(app, services)
    return reply


def test_scan_is_acknowledged_at_once_and_posts_digest_and_findings(scanned, slack, services):
    assert scanned["response_type"] == "ephemeral" and "started" in scanned["text"]
    messages = posted(slack, "C0TEAM")
    digest, *findings = messages
    assert digest["blocks"][0]["type"] == "header" and "1 new" not in digest["text"]
    assert "2 new" in digest["text"]
    by_resource = {m["blocks"][0]["fields"][2]["text"].split("\n")[1]: m for m in findings}  # *Resource*
    assert set(by_resource) == {"open", "old"}
    assert action_ids(by_resource["open"]) == [ids.ACKNOWLEDGE, ids.SUPPRESS, ids.REMEDIATE]
    assert action_ids(by_resource["old"]) == [ids.ACKNOWLEDGE, ids.SUPPRESS]  # no automated action
    text = json.dumps(by_resource["open"]["blocks"])
    for expected in ("CRITICAL", PUBLIC, ACCOUNT, "us-east-1", "test-fw 1.1", "Turn on blocked"):
        assert expected in text
    # The failure first (stored by the scan with its evidence), then the rule title, then the evidence.
    first = by_resource["open"]["blocks"][0]
    assert first["text"]["text"].startswith(":red_circle: *Bucket open is not blocked*")
    assert first["fields"][0]["text"].startswith("*Rule*\nBucket has blocked")
    assert "*Evidence*\nopen: blocked is false (required: eq true)" in text.replace("\\n", "\n")
    assert by_resource["open"]["text"].startswith("Bucket open is not blocked [critical] Bucket has blocked")
    rows = list(services.db.query("SELECT finding_id, channel, ts FROM slack_messages WHERE active = 1"))
    assert {r["finding_id"] for r in rows} == {fid("open"), fid("old", VERSIONING)} and all(r["ts"] for r in rows)


def test_known_findings_are_not_posted_again_and_resolution_updates_the_message(scanned, app, services, estate, slack):
    slack.clear()
    scan(app, services)
    assert len(posted(slack)) == 1  # the digest only
    assert "Nothing new" in json.dumps(posted(slack)[0]["blocks"])
    ts = next(iter(services.db.query("SELECT ts FROM slack_messages WHERE finding_id = ?", [fid("open")])))["ts"]
    estate.resources = [bucket("open"), bucket("old", versioned=False), bucket("fine")]
    slack.clear()
    scan(app, services)
    updates = [c.args for c in slack.of("chat.update")]
    assert [u["ts"] for u in updates] == [ts]
    assert "Resolved" in json.dumps(updates[0]["blocks"]) and action_ids(updates[0]) == []
    # It fails again: reopened, and posted anew.
    estate.resources = [bucket("open", blocked=False), bucket("old", versioned=False)]
    slack.clear()
    scan(app, services)
    assert "1 reopened" in json.dumps(posted(slack)[0]["blocks"])
    assert len(posted(slack)) == 2


@pytest.mark.parametrize("headers", [
    pytest.param(lambda body: sign(body, secret="forged-secret"), id="forged-signature"),
    pytest.param(lambda body: sign(body, ts=int(time.time()) - 301), id="stale-timestamp"),
    pytest.param(lambda body: {}, id="no-signature"),
])
def test_unsigned_forged_or_stale_requests_are_refused_and_change_nothing(app, services, estate, slack, headers):
    estate.resources = [bucket("open", blocked=False)]
    body = slash_body("scan aws")
    response = slash(app, "scan aws", headers=headers(body))
    services.orchestrator.wait_idle()
    assert response.status == 401
    assert estate.requests == [] and slack.of("chat.postMessage") == []
    assert list(services.db.query("SELECT COUNT(*) AS n FROM scans"))[0]["n"] == 0
    assert audit.events(services.db) == []


def test_forged_button_click_changes_nothing(scanned, app, services):
    from tests.bot.helpers import interactive

    payload = {"type": "block_actions", "user": {"id": "U0ALICE"}, "team": {"id": "T0TEAM"},
               "actions": [{"action_id": ids.ACKNOWLEDGE, "value": fid("open"), "type": "button"}]}
    body = "payload=" + json.dumps(payload)
    response = interactive(app, payload, headers=sign(body, secret="wrong"))
    assert response.status == 401
    assert get_finding(services.db, fid("open"))["state"] == "open"


@pytest.mark.parametrize("text", ["", "frobnicate", "scan", "scan mars", "findings a b c", "suppress 1", "page"])
def test_unknown_or_malformed_commands_get_the_usage(app, text):
    reply = body_of(slash(app, text))
    assert reply["response_type"] == "ephemeral"
    assert "Usage" in json.dumps(reply["blocks"])


def test_commands_status_findings_posture_suppressions_help(scanned, app, services):
    status = json.dumps(body_of(slash(app, "status"))["blocks"])
    assert "scan 1" in status and "succeeded" in status
    listing = body_of(slash(app, "findings critical"))
    assert "1 finding(s)" in listing["text"] and PUBLIC not in json.dumps(listing)  # titles, not ids, in a list
    assert "Bucket has blocked" in json.dumps(listing["blocks"])
    assert action_ids(listing)[:2] == [ids.ACKNOWLEDGE, ids.SUPPRESS]
    assert "2 finding(s)" in body_of(slash(app, f"findings {ACCOUNT}"))["text"]
    posture = json.dumps(body_of(slash(app, "posture")))
    assert "0 of 2 checked controls passing (0.0%), 2 failing, 0 not evaluated" in posture
    one = json.dumps(body_of(slash(app, "posture test-fw")))
    assert ":x: `1.1` Block public access (1 open finding(s))" in one
    assert one.index("`1.1`") < one.index("`1.2` Versioning")
    assert "No active suppressions" in body_of(slash(app, "suppressions"))["text"]
    assert "Usage" in json.dumps(body_of(slash(app, "help")))


def test_findings_listing_pages_within_block_kit_limits(app, services, estate):
    estate.resources = [bucket(f"b{i:03}", blocked=False) for i in range(45)]
    scan(app, services)
    first = body_of(slash(app, "findings"))
    assert len(first["blocks"]) <= 50 and "page 1 of 3" in json.dumps(first["blocks"])
    last = body_of(slash(app, "findings page 3"))
    assert last["blocks"][0]["text"]["text"].endswith("page 3 of 3")


def test_a_large_scan_is_paged_into_a_thread(app, services, estate, slack):
    estate.resources = [bucket(f"b{i:03}", blocked=False) for i in range(60)]
    scan(app, services)
    digest, *findings = posted(slack, "C0TEAM")
    # above the grouping threshold: one message per rule, 20 resources each (tests/bot/test_slack_delivery.py)
    assert len(findings) == 3 and "in this thread" in json.dumps(digest["blocks"])
    digest_ts = slack.of("chat.postMessage")[0]
    assert digest_ts.args.get("thread_ts") is None
    assert {m.get("thread_ts") for m in findings} == {"1700000000.000001"} or len({m.get("thread_ts")
                                                                                   for m in findings}) == 1
    assert all(len(m["blocks"]) <= 50 for m in posted(slack))


def test_app_mention_speaks_the_same_language(scanned, app, slack):
    response = event(app, {"type": "app_mention", "user": "U0ALICE", "channel": "C0TEAM",
                           "text": "<@U0BOT> findings critical", "ts": "1.2"})
    assert response.status == 200
    (call,) = slack.of("chat.postEphemeral")
    assert call.args["user"] == "U0ALICE" and "1 finding(s)" in call.args["text"]


def test_app_home_shows_posture_and_expiring_suppressions(scanned, app, services, slack):
    from skywarden.bot.commands import Who, suppress

    soon = (datetime.now(UTC) + timedelta(days=3)).date()
    suppress(services, Who("U0ALICE"), fid("old", VERSIONING), "legacy bucket", soon, "resource")
    event(app, {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "channel": "D0"})
    (call,) = slack.of("views.publish")
    view = call.args["view"] if isinstance(call.args["view"], dict) else json.loads(call.args["view"])
    text = "\n".join(b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict))
    assert view["type"] == "home" and ":red_circle: `critical ▓▓▓▓▓▓▓▓▓▓▓▓     1`" in text  # the other is suppressed
    assert "`test-fw`\n`▓▓▓▓▓▓░░░░░░    50%`  :white_check_mark: 1 passing · :x: 1 failing" in text
    assert "expiring within 7 days*: 1" in text and "legacy bucket" in text


def test_acknowledge_updates_the_message_and_a_double_click_has_one_effect(scanned, app, services, slack):
    slack.clear()
    target = fid("open")
    assert click(app, ids.ACKNOWLEDGE, target, response_url=slack.response_url("a")).status == 200
    assert click(app, ids.ACKNOWLEDGE, target, response_url=slack.response_url("b")).status == 200
    finding = get_finding(services.db, target)
    assert finding["state"] == "acknowledged" and finding["state_changed_by"] == "U0ALICE"
    assert len([e for e in audit.events(services.db, target) if e["action"] == "acknowledged"]) == 1
    (update,) = [c.args for c in slack.of("chat.update")]
    assert "Acknowledged by <@U0ALICE>" in json.dumps(update["blocks"])
    assert action_ids(update) == [ids.SUPPRESS, ids.REMEDIATE]
    (second,) = slack.of("respond")
    assert "already acknowledged" in second.args["text"]
    slack.clear()
    scan(app, services)
    assert len(posted(slack)) == 1  # acknowledged: not re-posted


def test_two_people_clicking_at_once_have_one_effect(scanned, tmp_path, services, slack):
    # Separate threads use separate SQLite connections, as Bolt's workers do.
    app = make_app(services, process_before_response=True)
    target = fid("open")
    barrier = threading.Barrier(4)

    def go(user):
        barrier.wait()
        click(app, ids.ACKNOWLEDGE, target, user=user, response_url=slack.response_url(user))

    threads = [threading.Thread(target=go, args=(f"U0P{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([e for e in audit.events(services.db, target) if e["action"] == "acknowledged"]) == 1
    assert len(slack.of("respond")) == 3


def test_unauthorized_users_are_refused_privately_and_audited(tmp_path, slack, estate):
    config = BotConfig(scan={"U0ALICE": (ACCOUNT,)}, suppress=("S0SEC",), acknowledge=("U0ALICE",))
    slack.usergroups["S0SEC"] = ["U0ALICE"]
    services = make_services(tmp_path / "a.db", slack, estate, config)
    app = make_app(services)
    try:
        estate.resources = [bucket("open", blocked=False)]
        assert "started" in body_of(slash(app, f"scan aws {ACCOUNT}"))["text"]
        services.orchestrator.wait_idle()
        refused = body_of(slash(app, f"scan aws {OTHER_ACCOUNT}"))
        assert refused["response_type"] == "ephemeral" and "Not allowed" in refused["text"]
        assert "Not allowed" in body_of(slash(app, f"scan aws {ACCOUNT}", user="U0MALLORY"))["text"]
        assert "Not allowed" in body_of(slash(app, "scan aws"))["text"]  # all accounts includes ones she lacks
        click(app, ids.ACKNOWLEDGE, fid("open"), user="U0MALLORY", response_url=slack.response_url())
        click(app, ids.SUPPRESS, fid("open"), user="U0MALLORY", response_url=slack.response_url())
        assert get_finding(services.db, fid("open"))["state"] == "open"
        assert slack.of("views.open") == []
        assert all("Not allowed" in c.args["text"] for c in slack.of("respond"))
        refusals = events_of(services, "refused")
        assert [(e["actor"], e["details"]["action"]) for e in refusals] == [
            ("U0ALICE", "scan"), ("U0MALLORY", "scan"), ("U0ALICE", "scan"),
            ("U0MALLORY", "acknowledge"), ("U0MALLORY", "suppress")]
        # Group membership counts (usergroups.users.list).
        click(app, ids.SUPPRESS, fid("open"), user="U0ALICE")
        assert len(slack.of("views.open")) == 1
    finally:
        services.close()


def test_suppress_modal_validates_and_stores_the_exception(scanned, app, services, slack):
    target = fid("open")
    click(app, ids.SUPPRESS, target)
    (opened,) = slack.of("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == ids.SUPPRESS_MODAL
    default = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    assert json.dumps(view).count(default) == 1
    missing = submit_suppress(app, target, "  ", default)
    assert body_of(missing) == {"response_action": "errors", "errors": {"reason_block": "A reason is required."}}
    too_long = (datetime.now(UTC) + timedelta(days=91)).date().isoformat()
    assert "At most 90 days" in body_of(submit_suppress(app, target, "test bucket", too_long))["errors"]["until_block"]
    assert get_finding(services.db, target)["state"] == "open"
    slack.clear()
    assert submit_suppress(app, target, "test bucket", default).status == 200
    assert submit_suppress(app, target, "test bucket", default).status == 200  # double submit
    (row,) = list(services.db.query("SELECT * FROM exceptions"))
    assert (row["created_by"], row["reason"], row["scope"], row["expires_at"][:10]) == (
        "U0ALICE", "test bucket", "resource", default)
    assert get_finding(services.db, target)["state"] == "suppressed"
    (update,) = [c.args for c in slack.of("chat.update")]
    assert f"Suppressed by <@U0ALICE> until {default}" in json.dumps(update["blocks"]) and action_ids(update) == []
    assert "already suppressed" in slack.of("chat.postEphemeral")[-1].args["text"]
    listing = body_of(slash(app, "suppressions"))
    assert "test bucket" in json.dumps(listing) and ids.REVOKE in json.dumps(listing)


def test_rule_scope_suppresses_the_rule_in_the_account_including_new_resources(scanned, app, services, estate):
    estate.resources.append(bucket("open2", blocked=False))
    scan(app, services)
    default = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    submit_suppress(app, fid("open"), "sandbox account", default, scope="rule")
    assert get_finding(services.db, fid("open2"))["state"] == "suppressed"
    estate.resources.append(bucket("open3", blocked=False))
    scan(app, services)
    assert get_finding(services.db, fid("open3"))["state"] == "suppressed"
    assert get_finding(services.db, fid("old", VERSIONING))["state"] == "open"


def test_revoke_ends_the_suppression_and_reopens(scanned, app, services, slack):
    from skywarden.bot.commands import Who, suppress

    until = (datetime.now(UTC) + timedelta(days=10)).date()
    reply = suppress(services, Who("U0ALICE"), fid("open"), "wip", until, "resource")
    assert reply.ok
    exception_id = next(iter(services.db.query("SELECT id FROM exceptions")))["id"]
    slack.clear()
    click(app, ids.REVOKE, str(exception_id), ephemeral=True, response_url=slack.response_url())
    assert get_finding(services.db, fid("open"))["state"] == "open"
    assert events_of(services, "suppression_revoked")[0]["actor"] == "U0ALICE"
    assert any("revoked" in c.args.get("text", "") for c in slack.of("respond"))
    (update,) = [c.args for c in slack.of("chat.update")]
    assert action_ids(update) == [ids.ACKNOWLEDGE, ids.SUPPRESS, ids.REMEDIATE]


def test_an_expired_suppression_reopens_at_the_next_scan_and_is_posted_again(scanned, app, services, slack):
    from skywarden.storage.suppressions import suppress

    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    assert suppress(services.db, fid("open"), "U0ALICE", "short", past, "2020-01-01T00:00:00+00:00").ok
    assert get_finding(services.db, fid("open"))["state"] == "suppressed"
    slack.clear()
    scan(app, services)
    assert get_finding(services.db, fid("open"))["state"] == "open"
    assert events_of(services, "suppression_expired") and events_of(services, "unsuppressed")
    reposted = [m for m in posted(slack)[1:] if "open" in m["blocks"][0]["fields"][2]["text"]]
    assert len(reposted) == 1 and ids.ACKNOWLEDGE in action_ids(reposted[0])
    assert "suppression ended" in json.dumps([c.args for c in slack.of("chat.update")]).lower()


def test_remediate_without_approvers_explains_privately_and_changes_nothing(scanned, app, services, slack):
    # The full remediation flow is in tests/bot/test_remediation_slack.py (moto); with no approvers it is off.
    click(app, ids.REMEDIATE, fid("open"))
    assert slack.of("views.open") == []
    (told,) = slack.of("chat.postEphemeral")
    assert told.args["user"] == "U0ALICE" and "no remediation approvers are configured" in told.args["text"]
    assert "Nothing was changed" in told.args["text"]
    assert list(services.db.query("SELECT COUNT(*) AS n FROM remediations"))[0]["n"] == 0
    assert get_finding(services.db, fid("open"))["state"] == "open"


def test_a_second_scan_of_the_same_scope_is_told_so(app, services, estate):
    estate.gate = threading.Event()
    try:
        assert "started" in body_of(slash(app, "scan aws"))["text"]
        second = body_of(slash(app, "scan aws"))["text"]
        assert "already running" in second
        assert "started" in body_of(slash(app, f"scan aws {ACCOUNT}"))["text"]  # another scope runs
    finally:
        estate.gate.set()
        services.orchestrator.wait_idle()
    assert len(estate.requests) == 2


def test_routing_sends_findings_to_team_channels(tmp_path, slack, estate):
    config = BotConfig(routes=(Route("C0PROD", accounts=(ACCOUNT,)), Route("C0SEC", severities=("critical",))),
                       default_channel="C0CATCH")
    services = make_services(tmp_path / "r.db", slack, estate, config)
    app = make_app(services)
    try:
        estate.resources = [bucket("open", blocked=False), bucket("old", versioned=False),
                            bucket("other", account=OTHER_ACCOUNT, versioned=False)]
        scan(app, services)
        channels = {c: len(posted(slack, c)) for c in ("C0PROD", "C0SEC", "C0CATCH", "C0TEAM")}
        assert channels == {"C0PROD": 3, "C0SEC": 2, "C0CATCH": 2, "C0TEAM": 0}
    finally:
        services.close()


def test_rate_limits_and_outages_are_retried_then_kept_in_the_outbox(scanned, app, services, estate, slack):
    from skywarden.storage import outbox

    estate.resources.append(bucket("new1", blocked=False))
    slack.clear()
    slack.fail("chat.postMessage", 429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"})
    scan(app, services)
    assert len(slack.of("chat.postMessage")) == 3  # 429, retried digest, finding
    assert outbox.counts(services.db) == {"sent": outbox.counts(services.db)["sent"]}
    slack.clear()
    estate.resources.append(bucket("new2", blocked=False))
    slack.fail("chat.postMessage", 503, times=2)  # the first try and its one retry
    scan(app, services)
    assert outbox.counts(services.db).get("pending") == 2  # digest + finding, nothing lost
    assert "waiting" in json.dumps(body_of(slash(app, "status")))
    result = services.publisher.flush()
    assert result.sent == 2 and outbox.counts(services.db).get("pending") is None
    assert [m for m in posted(slack) if "new2" in json.dumps(m["blocks"])]


def test_over_real_loopback_http(scanned, services):
    import http.client

    from skywarden.bot.slack.app import http_server

    app = make_app(services, process_before_response=False)
    server = http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        body = slash_body("findings critical")
        conn.request("POST", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                    **sign(body)})
        response = conn.getresponse()
        assert response.status == 200 and "1 finding(s)" in json.loads(response.read())["text"]
        conn.request("POST", "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                    **sign(body, ts=int(time.time()) - 600)})
        response = conn.getresponse()
        assert response.status == 401
        response.read()
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
