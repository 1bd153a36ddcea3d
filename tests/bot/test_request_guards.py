"""Replays within the signature window have no second effect (item 8), and requests from a workspace other
than the installed one are refused (item 9): through signed requests, real loopback HTTP and Socket Mode."""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest

from skywarden.bot.core.settings import parse_config
from skywarden.bot.slack.app import verify_token
from skywarden.bot.slack.guards import WorkspacePolicy
from skywarden.scanners.errors import ConfigError
from skywarden.storage import audit, replays, schedules
from tests.bot.helpers import (
    ACCOUNT,
    TEAM,
    bucket,
    dispatch,
    make_app,
    make_services,
    sign,
    slash_body,
    trigger_id,
)

FORM = "application/x-www-form-urlencoded"
ADD = f'schedule add aws {ACCOUNT} "0 6 * * *"'


def active_schedules(services) -> list:
    return [row for row in schedules.list_schedules(services.db) if not row["removed_at"]]


def suppress_payload(finding_id: str, team: str = TEAM, enterprise: str | None = None) -> str:
    until = (date.today() + timedelta(days=10)).isoformat()
    values = {
        "reason_block": {"reason": {"type": "plain_text_input", "value": "accepted risk"}},
        "until_block": {"until": {"type": "datepicker", "selected_date": until}},
        "scope_block": {"scope": {"type": "radio_buttons", "selected_option": {"value": "resource"}}},
    }
    team_obj = {"id": team, **({"enterprise_id": enterprise} if enterprise else {})}
    payload = {"type": "view_submission", "team": team_obj, "user": {"id": "U0ALICE"}, "api_app_id": "A0APP",
               "trigger_id": trigger_id(),
               "view": {"id": "V0VIEW", "type": "modal", "callback_id": "suppress_modal",
                        "private_metadata": json.dumps({"finding": finding_id, "channel": "C0TEAM"}),
                        "state": {"values": values}}}
    return urlencode({"payload": json.dumps(payload)})


# ---------------------------------------------------------------- item 8: replays
def test_a_replayed_schedule_add_creates_one_schedule(app, services):
    body, headers = slash_body(ADD), None
    headers = sign(body)
    first = dispatch(app, body, FORM, headers)
    assert first.status == 200 and "added" in first.body
    again = dispatch(app, body, FORM, headers)  # the same signed request, within the 5 minutes
    assert again.status == 200 and again.body == ""
    assert len(active_schedules(services)) == 1
    assert [e["action"] for e in audit.events(services.db)].count("schedule_added") == 1


def test_a_replayed_suppression_and_approval_have_one_effect(app, services, estate):
    estate.resources = [bucket("open", blocked=False)]
    dispatch(app, slash_body("scan aws"), FORM)
    services.orchestrator.wait_idle()
    (finding,) = list(services.db.query("SELECT id FROM findings"))
    body = suppress_payload(finding["id"])
    headers = sign(body)
    assert dispatch(app, body, FORM, headers).status == 200
    assert dispatch(app, body, FORM, headers).status == 200
    assert len(list(services.db.query("SELECT id FROM exceptions"))) == 1
    assert [e["action"] for e in audit.events(services.db)].count("suppressed") == 1

    decided = []
    services.remediation.decide = lambda who, request_id, approve: decided.append(request_id)  # type: ignore
    body = slash_body("approve 7")
    headers = sign(body)
    dispatch(app, body, FORM, headers)
    dispatch(app, body, FORM, headers)
    assert decided == [7]


def test_a_distinct_request_with_the_same_text_is_not_a_replay(app, services):
    assert "added" in dispatch(app, slash_body(ADD), FORM).body
    assert "added" in dispatch(app, slash_body(ADD), FORM).body  # a new trigger id: typed twice on purpose
    assert len(active_schedules(services)) == 2


def test_an_event_retried_by_slack_is_handled_once(app, slack):
    def delivery(event_time: int) -> str:
        return json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                           "event_id": "Ev0SAME", "event_time": event_time,
                           "event": {"type": "app_mention", "user": "U0ALICE", "channel": "C0TEAM",
                                     "text": "<@U0BOT> help", "ts": "1.1"}})

    assert dispatch(app, delivery(1), "application/json").status == 200
    # Slack's retry: a new signature (new timestamp), even a different body, but the same event_id.
    assert dispatch(app, delivery(2), "application/json").status == 200
    assert len(slack.of("chat.postEphemeral")) == 1


def test_replays_are_caught_across_threads_over_real_http(services):
    app = make_app(services, process_before_response=False)
    from skywarden.bot.slack.app import http_server

    server = http_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    body = slash_body(ADD)
    headers = {"Content-Type": FORM, **sign(body)}
    statuses: list[int] = []

    def send() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.request("POST", "/slack/events", body, headers)
        statuses.append(conn.getresponse().status)
        conn.close()

    try:
        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
        server.server_close()
    assert statuses == [200] * 6
    assert len(active_schedules(services)) == 1


def test_a_resent_socket_mode_envelope_is_handled_once(app, services):
    payload = {"token": "x", "team_id": TEAM, "channel_id": "C0TEAM", "user_id": "U0ALICE", "command": "/warden",
               "text": ADD, "api_app_id": "A0APP", "response_url": "", "trigger_id": trigger_id()}
    for attempt in (None, "1"):
        headers = {"x-slack-retry-num": attempt} if attempt else None
        response = app.dispatch(BoltRequest(mode="socket_mode", body=dict(payload), headers=headers))
        assert response.status == 200
    assert len(active_schedules(services)) == 1


def test_seen_keys_expire_after_the_window(services):
    at = time.time()
    assert replays.first_time(services.db, ["k"], at)
    assert not replays.first_time(services.db, ["k"], at + replays.WINDOW_S)
    assert replays.first_time(services.db, ["k"], at + 3 * replays.WINDOW_S)  # pruned: the table stays small
    assert list(services.db.query("SELECT COUNT(*) AS n FROM seen_requests"))[0]["n"] == 1


# ---------------------------------------------------------------- item 9: foreign workspaces
@pytest.fixture
def guarded(tmp_path, slack, estate):
    def build(workspace):
        config = parse_config({"workspace": workspace})
        services = make_services(tmp_path / f"w{len(str(workspace))}.db", slack, estate, config)
        built.append(services)
        return services, make_app(services)

    built: list = []
    yield build
    for services in built:
        services.close()


def test_a_foreign_team_is_refused_and_nothing_happens(guarded):
    services, app = guarded({"team_ids": ["T0OURS"]})
    response = dispatch(app, slash_body(ADD), FORM)  # signed with the app's secret, but from T0TEAM
    assert response.status == 403
    assert active_schedules(services) == []
    assert audit.events(services.db) == []


def test_the_listed_team_or_enterprise_is_served(guarded, estate):
    services, app = guarded({"team_ids": [TEAM]})
    assert dispatch(app, slash_body(ADD), FORM).status == 200
    assert len(active_schedules(services)) == 1

    services, app = guarded({"enterprise_ids": ["E0ORG"]})
    estate.resources = [bucket("open", blocked=False)]
    from skywarden.bot.core.orchestrator import ScanRequest

    services.orchestrator.submit(ScanRequest("aws", (), (), "U0ALICE", "C0TEAM"))
    services.orchestrator.wait_idle()
    (finding,) = list(services.db.query("SELECT id FROM findings"))
    assert dispatch(app, suppress_payload(finding["id"], team="T0OTHER"), FORM).status == 403
    assert dispatch(app, suppress_payload(finding["id"], team="T0OTHER", enterprise="E0ORG"), FORM).status == 200
    assert len(list(services.db.query("SELECT id FROM exceptions"))) == 1


def test_by_default_serve_allows_the_tokens_own_workspace(services, app, slack):
    identity = verify_token(services.client)
    services.workspace = WorkspacePolicy.from_auth_test(identity)  # what `serve` does without `workspace:`
    assert services.workspace == WorkspacePolicy(("T0TEAM",), ())
    assert dispatch(app, slash_body("help"), FORM).status == 200
    foreign = slash_body("help").replace(f"team_id={TEAM}", "team_id=T0ELSE")
    assert dispatch(app, foreign, FORM).status == 403
    org = WorkspacePolicy.from_auth_test({"team_id": "T1", "enterprise_id": "E1", "is_enterprise_install": True})
    assert org.allows("T9", "E1") and not WorkspacePolicy.from_auth_test({"team_id": "T1"}).allows("T9", "E1")


@pytest.mark.parametrize(("workspace", "message"), [
    ("T0TEAM", "workspace: must be a mapping"),
    ({"teams": ["T0TEAM"]}, "workspace.teams: unknown key"),
    ({"team_ids": ["C0CHANNEL"]}, "workspace.team_ids: 'C0CHANNEL' is not a Slack team id"),
    ({"enterprise_ids": [42]}, "workspace.enterprise_ids: 42 is not a Slack enterprise id"),
    ({"team_ids": {"T0": 1}}, "workspace.team_ids: must be a list"),
])
def test_bad_workspace_configuration_names_the_key(workspace, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"workspace": workspace}, "skywarden.yml")
