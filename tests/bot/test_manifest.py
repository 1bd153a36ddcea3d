"""manifest.yml and the code agree: every command, event and interaction the app registers is declared, and
no OAuth scope is requested that the code does not use."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from skywarden.bot.slack import ids

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# The bot-token scope each Web API method the code calls needs (None: no scope).
METHOD_SCOPES = {
    "auth_test": None,
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "views_open": None,
    "views_publish": None,
    "views_update": None,
    "usergroups_users_list": "usergroups:read",
    "files_upload_v2": "files:write",
}
EVENT_SCOPES = {"app_mention": "app_mentions:read", "app_home_opened": None}


def web_api_calls() -> set[str]:
    calls = set()
    for path in (ROOT / "bot").rglob("*.py"):
        calls.update(re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)\(", path.read_text()))
    return calls


def test_registered_listeners_are_declared(app):
    registered = app.skywarden_registered
    declared_commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert registered["commands"] == declared_commands == [ids.COMMAND]
    assert sorted(registered["events"]) == sorted(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert sorted(registered["actions"]) == sorted(ids.ACTIONS)
    assert sorted(registered["views"]) == sorted(ids.VIEWS)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_scopes_are_exactly_the_ones_the_code_uses(app):
    calls = web_api_calls()
    unknown = calls - set(METHOD_SCOPES)
    assert not unknown, f"add the scope of {unknown} to METHOD_SCOPES (and manifest.yml if needed)"
    needed = {METHOD_SCOPES[c] for c in calls} | {EVENT_SCOPES[e] for e in app.skywarden_registered["events"]}
    needed |= {"commands"} if app.skywarden_registered["commands"] else set()
    needed.discard(None)
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(needed)


def test_every_button_in_blocks_has_a_listener(app, services):
    from skywarden.bot.slack import blocks
    from skywarden.bot.slack.remediation_blocks import approval_message

    finding = {"id": "f", "number": 1, "state": "open"}
    buttons = {b["action_id"] for b in blocks.finding_buttons(finding, "aws.s3.x")}
    buttons |= {b["action_id"] for b in blocks.finding_buttons({**finding, "state": "remediated"}, "aws.s3.x")}
    plan = {"action": "aws.s3.x", "summary": "s", "calls": [], "before": {}, "after": {}}
    request = {"id": 1, "kind": "fix", "state": "requested", "requested_by": "U1", "expires_at": "2030-01-01T00:00",
               "plan": plan}
    full = {**finding, "severity": "high", "title": "t", "resource_id": "r", "account_id": "1", "region": "g",
            "rule_id": "x"}
    approval = approval_message(request, full).blocks
    buttons |= {e["action_id"] for b in approval if b["type"] == "actions" for e in b["elements"]}
    exceptions = [{"id": 1, "rule_id": "r", "resource_id": "x", "account_id": "1", "created_by": "U1",
                   "expires_at": None, "reason": "r", "source": "slack", "scope": "resource"}]
    listing = blocks.suppressions_list(exceptions).blocks
    buttons |= {b["accessory"]["action_id"] for b in listing if "accessory" in b}
    from datetime import UTC, datetime

    from skywarden.bot.slack.reminders import reminder_message

    reminder = reminder_message(services, {**exceptions[0], "expires_at": "2030-01-01T00:00:00+00:00"},
                                datetime(2029, 12, 28, tzinfo=UTC)).blocks
    buttons |= {e["action_id"] for b in reminder if b["type"] == "actions" for e in b["elements"]}
    from skywarden.bot.slack import home

    home_view = home.home_view(services)
    buttons |= {e["action_id"] for b in home_view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert buttons == set(app.skywarden_registered["actions"])
