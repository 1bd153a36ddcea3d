"""The App Home (issue 12): posture and severity bars, accounts with their last scan, and the Scan / Open findings
/ Refresh buttons, all through signed requests and the Web API stand-in, asserted on the Block Kit JSON."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from skywarden.bot.core.settings import parse_config
from skywarden.bot.slack import blocks, home, home_blocks, ids
from skywarden.storage import audit
from skywarden.storage.scans import last_scan_per_account
from tests.bot.helpers import (
    ACCOUNT,
    OTHER_ACCOUNT,
    TEAM,
    bucket,
    event,
    interactive,
    make_app,
    make_services,
    sign,
    slash,
    trigger_id,
)
from tests.bot.test_escaping import HOSTILE, assert_inert

ACCOUNTS = [{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}]
HOME_CHANNEL = "D0HOME"


def view_of(call: Any) -> dict[str, Any]:
    view = call.args["view"]
    return view if isinstance(view, dict) else json.loads(view)


def text_of(view: dict[str, Any]) -> str:
    """Every shown text of the view's sections, headers and contexts, in order."""
    out = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) if block["type"] == "context"]
    return "\n".join(out)


def buttons_of(view: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}


def open_home(app: Any, slack: Any, user: str = "U0ALICE", headers: dict[str, str] | None = None) -> Any:
    slack.clear()
    body = json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": user, "tab": "home", "channel": HOME_CHANNEL}})
    if headers is not None:
        from tests.bot.helpers import dispatch

        return dispatch(app, body, "application/json", headers)
    assert event(app, {"type": "app_home_opened", "user": user, "tab": "home", "channel": HOME_CHANNEL}).status == 200
    (call,) = slack.of("views.publish")
    assert call.args["user_id"] == user
    return view_of(call)


def home_click(app: Any, action_id: str, value: str, user: str = "U0ALICE") -> Any:
    """A button on the Home tab: the container is the view, which carries its private_metadata back."""
    payload = {
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
        "trigger_id": trigger_id(), "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "private_metadata": json.dumps({"channel": HOME_CHANNEL})},
        "actions": [{"type": "button", "action_id": action_id, "block_id": home_blocks.HOME_BUTTONS_BLOCK,
                     "value": value, "action_ts": str(time.time())}],
    }
    return interactive(app, payload)


def submit_scan(app: Any, value: str | None, user: str = "U0ALICE") -> dict[str, Any]:
    values = {ids.SCAN_TARGET[0]: {ids.SCAN_TARGET[1]: {
        "type": "static_select", "selected_option": {"value": value} if value is not None else None}}}
    payload = {
        "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
        "trigger_id": trigger_id(),
        "view": {"id": "V0SCAN", "type": "modal", "callback_id": ids.SCAN_MODAL,
                 "private_metadata": json.dumps({"channel": HOME_CHANNEL}), "state": {"values": values}},
    }
    response = interactive(app, payload)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


@pytest.fixture
def world(tmp_path, slack, estate):
    """prod: 'prod-site' fails block public access (critical), 'prod-logs' versioning (medium); dev: one
    failing versioning and a coverage gap. Alice may scan (so read) everything, Bob only dev, Carol may read
    prod but scan nothing, Mallory nothing at all."""
    estate.resources = [bucket("prod-site", ACCOUNT, blocked=False), bucket("prod-logs", ACCOUNT, versioned=False),
                        bucket("dev-logs", OTHER_ACCOUNT, versioned=False)]
    made = []

    def build(**config: Any) -> tuple[Any, Any]:
        settings = {"accounts": ACCOUNTS, "default_channel": "C0SEC",
                    "permissions": {"scan": {"U0ALICE": "*", "U0BOB": ["dev"]},
                                    "read": {"U0ALICE": "*", "U0BOB": ["dev"], "U0CAROL": ["prod"]}}, **config}
        services = make_services(tmp_path / f"bot{len(made)}.db", slack, estate, parse_config(settings))
        made.append(services)
        app = make_app(services)
        estate.failed_accounts = {OTHER_ACCOUNT}
        assert slash(app, "scan aws", user="U0ALICE").status == 200
        services.orchestrator.wait_idle()
        estate.failed_accounts = set()
        return services, app

    yield build
    for services in made:
        services.close()


def test_home_shows_bars_counts_accounts_last_scans_and_the_buttons(world, slack):
    services, app = world()
    view = open_home(app, slack)
    if os.environ.get("SKYWARDEN_PRINT_HOME"):  # to read it once at Slack's widths: the JSON goes to stdout
        print(json.dumps(view, indent=1, ensure_ascii=False))
    text = text_of(view)
    assert view["type"] == "home" and json.loads(view["private_metadata"]) == {"channel": HOME_CHANNEL}
    assert buttons_of(view) == {ids.HOME_SCAN: "scan", ids.HOME_FINDINGS: "findings", ids.HOME_REFRESH: "refresh"}
    # 3 open findings: 1 critical (a third: 4 of 12 cells), 2 medium (two thirds: 8 of 12), nothing else
    assert "*Open findings: 3*" in text
    assert ":red_circle: `critical ▓▓▓▓░░░░░░░░     1`" in text
    assert ":large_yellow_circle: `medium   ▓▓▓▓▓▓▓▓░░░░     2`" in text
    assert ":large_orange_circle: `high     ░░░░░░░░░░░░     0`" in text
    # both controls fail (1.1 in prod, 1.2 in both accounts)
    assert "*Test framework*  `test-fw`\n`░░░░░░░░░░░░     0%`  :white_check_mark: 0 passing · :x: 2 failing" in text
    assert "0 not evaluated (of 2)" in text
    # accounts, most pressing first, each with its last scan and coverage
    assert text.index("*prod* `111111111111`") < text.index("*dev* `222222222222`")
    assert ":red_circle: 1 critical  :large_yellow_circle: 1 medium" in text
    assert "last scan #1 partial" in text and ":warning: 1 of 1 coverage unit(s) failed" in text
    assert text.count("full coverage") == 1
    # read at Slack's limits: no empty section, at most 100 blocks, every text under 3,000 characters
    blocks.check_limits(view["blocks"], blocks.MAX_VIEW_BLOCKS)
    assert all(b["text"]["text"].strip() for b in view["blocks"] if b["type"] == "section")
    assert view["blocks"][0]["type"] == "header" and view["blocks"][2]["block_id"] == home_blocks.HOME_BUTTONS_BLOCK


def test_home_shows_only_readable_accounts_and_explains_no_access(world, slack):
    services, app = world()
    bobs = text_of(open_home(app, slack, "U0BOB"))
    assert "*dev*" in bobs and "prod" not in bobs and ACCOUNT not in bobs and "*Open findings: 1*" in bobs
    assert "1 account(s) you may see" in bobs
    mallory = open_home(app, slack, "U0MALLORY")
    shown = text_of(mallory)
    assert "Nothing to show you yet" in shown and "You may not see any account (permissions.read)" in shown
    assert buttons_of(mallory) == {ids.HOME_REFRESH: "refresh"} and "prod" not in shown and "dev" not in shown
    slack.clear()
    home_click(app, ids.HOME_FINDINGS, "findings", user="U0MALLORY")  # a button from an older Home
    assert "You may not see any account (permissions.read)." in json.dumps(view_of(slack.of("views.open")[0]))


def test_scan_button_opens_a_modal_of_what_the_user_may_scan(world, slack):
    services, app = world()
    slack.clear()
    assert home_click(app, ids.HOME_SCAN, "scan").status == 200
    (call,) = slack.of("views.open")
    modal = view_of(call)
    assert modal["callback_id"] == ids.SCAN_MODAL and json.loads(modal["private_metadata"])["channel"] == HOME_CHANNEL
    (select,) = [b["element"] for b in modal["blocks"] if b["type"] == "input"]
    assert [(o["value"], o["text"]["text"]) for o in select["options"]] == [
        (f"aws|{ACCOUNT}", f"prod · {ACCOUNT} (AWS)"), (f"aws|{OTHER_ACCOUNT}", f"dev · {OTHER_ACCOUNT} (AWS)"),
        ("aws|*", "Every AWS account the credentials reach")]
    slack.clear()
    home_click(app, ids.HOME_SCAN, "scan", user="U0BOB")
    (select,) = [b["element"] for b in view_of(slack.of("views.open")[0])["blocks"] if b["type"] == "input"]
    assert [o["value"] for o in select["options"]] == [f"aws|{OTHER_ACCOUNT}"]
    assert select["initial_option"]["value"] == f"aws|{OTHER_ACCOUNT}"  # one choice: preselected


def test_submitting_the_scan_modal_requests_the_scan_like_the_command_and_refreshes_home(world, slack, estate):
    services, app = world(routing=[{"channel": "C0PROD", "accounts": ["prod"]}])
    estate.requests.clear()
    slack.clear()
    answer = submit_scan(app, f"aws|{ACCOUNT}")
    services.orchestrator.wait_idle()
    (request,) = estate.requests
    assert (request.provider, request.accounts, request.requested_by) == ("aws", (ACCOUNT,), "U0ALICE")
    assert request.origin_channel == HOME_CHANNEL and request.trigger == "slack"
    (requested,) = [e for e in audit.events(services.db) if e["action"] == "scan_requested"][-1:]
    assert requested["actor"] == "U0ALICE" and requested["details"]["scope"] == f"aws ({ACCOUNT}; all regions)"
    assert answer["response_action"] == "update"
    shown = json.dumps(answer["view"])
    assert f"Scan of aws ({ACCOUNT}; all regions) started" in shown
    assert "Results will be posted to <#C0PROD>." in shown
    assert any(c.args["channel"] == "C0PROD" for c in slack.of("chat.postMessage"))  # where it said
    deadline = time.time() + 5  # the Home is republished once the scan is stored (a worker thread's callback)
    while not slack.of("views.publish") and time.time() < deadline:
        time.sleep(0.02)
    (published,) = slack.of("views.publish")
    assert published.args["user_id"] == "U0ALICE" and "last scan #2 succeeded" in text_of(view_of(published))


def test_a_scan_of_every_account_falls_back_to_the_home_channel_when_nothing_routes_it(world, slack, estate):
    services, app = world(default_channel=None)
    estate.requests.clear()
    slack.clear()
    answer = submit_scan(app, "aws|*")
    services.orchestrator.wait_idle()
    (request,) = estate.requests
    assert request.accounts == () and "your messages with Skywarden" in json.dumps(answer["view"])
    assert {c.args["channel"] for c in slack.of("chat.postMessage")} == {HOME_CHANNEL}


def test_scan_refused_without_permission_from_button_and_from_submission(world, slack, estate):
    services, app = world()
    slack.clear()
    home_click(app, ids.HOME_SCAN, "scan", user="U0CAROL")  # may read prod, may scan nothing
    (call,) = slack.of("views.open")
    modal = view_of(call)
    assert "callback_id" not in modal and "Not allowed: you may not scan any account (permissions.scan)." in \
        json.dumps(modal)
    estate.requests.clear()
    answer = submit_scan(app, f"aws|{ACCOUNT}", user="U0BOB")  # Bob may scan dev only: a forged choice
    services.orchestrator.wait_idle()
    assert estate.requests == [] and "Not allowed: you are not allowed to scan prod (permissions.scan)" in \
        json.dumps(answer["view"])
    refusals = [(e["actor"], e["details"]["action"], e["details"]["why"]) for e in audit.events(services.db)
                if e["action"] == "refused"]
    assert refusals == [("U0CAROL", "scan", "you may not scan any account (permissions.scan)"),
                        ("U0BOB", "scan", "you are not allowed to scan prod (permissions.scan)")]
    slash_refusal = json.loads(slash(app, "scan aws prod", user="U0BOB").body)  # the same words as the command
    assert "you are not allowed to scan prod (permissions.scan)" in slash_refusal["text"]


def test_a_malformed_scan_choice_is_an_error_on_the_field(world, estate):
    services, app = world()
    estate.requests.clear()
    for value in (None, "nonsense", "ftp|x", "aws|"):
        answer = submit_scan(app, value)
        assert answer == {"response_action": "errors", "errors": {ids.SCAN_TARGET[0]: "Choose what to scan."}}
    assert estate.requests == []


def test_open_findings_modal_lists_readable_findings_most_severe_first_with_ids_and_evidence(world, slack):
    services, app = world()
    slack.clear()
    assert home_click(app, ids.HOME_FINDINGS, "findings").status == 200
    modal = view_of(slack.of("views.open")[0])
    text = text_of(modal)
    assert modal["title"]["text"] == "Open findings" and "*3 open finding(s)*" in text
    assert text.index("prod-site") < text.index("prod-logs") and "dev-logs" in text
    assert "`arn:aws:s3:::prod-site`" in text and "*Evidence*:" in text and "`#1`" in text
    assert "more: use" not in text
    slack.clear()
    home_click(app, ids.HOME_FINDINGS, "findings", user="U0BOB")
    bobs = text_of(view_of(slack.of("views.open")[0]))
    assert "dev-logs" in bobs and "prod" not in bobs and "*1 open finding(s)*" in bobs


def test_open_findings_modal_is_truncated_with_the_command_for_the_rest(world, slack, estate):
    estate.resources = [bucket(f"b{i:03}", blocked=False) for i in range(27)]
    services, app = world()
    slack.clear()
    home_click(app, ids.HOME_FINDINGS, "findings")
    modal = view_of(slack.of("views.open")[0])
    blocks.check_limits(modal["blocks"], blocks.MAX_VIEW_BLOCKS)
    assert text_of(modal).count("*Evidence*") == home_blocks.MODAL_FINDINGS
    assert "7 more: use `/warden findings page 2`" in json.dumps(modal)


def test_refresh_republishes_the_home(world, slack):
    services, app = world()
    slack.clear()
    assert home_click(app, ids.HOME_REFRESH, "refresh", user="U0BOB").status == 200
    (call,) = slack.of("views.publish")
    assert call.args["user_id"] == "U0BOB" and json.loads(view_of(call)["private_metadata"])["channel"] == \
        HOME_CHANNEL


def test_hostile_account_names_and_resource_ids_are_inert_on_home_and_in_the_modal(world, slack, estate):
    estate.resources = [bucket(HOSTILE, ACCOUNT, blocked=False)]
    services, app = world(accounts=[{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}])
    view = open_home(app, slack)
    assert_inert(view, mentions=("U0ALICE",))  # whose Home it is, on purpose
    slack.clear()
    home_click(app, ids.HOME_FINDINGS, "findings")
    modal = view_of(slack.of("views.open")[0])
    assert_inert(modal)
    assert "&lt;!everyone&gt;" in json.dumps(modal)


def test_a_forged_signature_is_refused_and_publishes_nothing(world, slack):
    services, app = world()
    response = open_home(app, slack, headers=sign("{}", secret="not-the-secret"))
    assert response.status == 401 and slack.of("views.publish") == []
    payload = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0ALICE"}, "trigger_id": trigger_id(),
               "actions": [{"action_id": ids.HOME_SCAN, "value": "scan", "action_ts": "1"}]}
    assert interactive(app, payload, headers=sign("x", secret="not-the-secret")).status == 401
    assert slack.of("views.open") == []


def test_last_scan_per_account_keeps_the_latest_and_honours_readable(world):
    services, app = world()
    slash(app, "scan aws dev", user="U0ALICE")
    services.orchestrator.wait_idle()
    every = last_scan_per_account(services.db, None)
    assert (every[ACCOUNT]["scan_id"], every[OTHER_ACCOUNT]["scan_id"]) == (1, 2)
    assert (every[OTHER_ACCOUNT]["gaps"], every[OTHER_ACCOUNT]["status"]) == (0, "succeeded")
    assert set(last_scan_per_account(services.db, {OTHER_ACCOUNT})) == {OTHER_ACCOUNT}
    assert last_scan_per_account(services.db, set()) == {}
    assert set(last_scan_per_account(services.db, None, recent=1)) == {OTHER_ACCOUNT}


def test_bars_read_right_at_the_edges():
    assert home_blocks.bar(0) == "░" * 12 and home_blocks.bar(1) == "▓" * 12
    assert home_blocks.bar(0.01) == "▓" + "░" * 11 and home_blocks.bar(0.99) == "▓" * 11 + "░"
    assert home_blocks.bar(0.5, 10) == "▓" * 5 + "░" * 5


def test_parse_choice():
    assert home.parse_choice(f"aws|{ACCOUNT}") == ("aws", ACCOUNT)
    assert home.parse_choice("gcp|*") == ("gcp", None)
    assert home.parse_choice("aws") is None and home.parse_choice("x|y") is None
