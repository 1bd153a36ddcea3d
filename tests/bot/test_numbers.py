"""Overflowing or odd numbers in commands get a usage error, never a 500 or a traceback (issue 9, item 10):
through signed slash commands, the console's command language, and the helper itself."""

from __future__ import annotations

import json

import pytest

from skywarden.bot import commands
from skywarden.storage import audit
from skywarden.storage.findings import get_finding
from tests.bot.helpers import bucket, slash

HUGE = "9" * 40
ODD_COMMANDS = [
    f"ack {HUGE}", "ack ²", "ack ١٢", "ack １", "ack 0", "ack -1", "ack 1_0", f"ack #{HUGE}",
    f"remediate {HUGE}", f"undo {HUGE}", "undo ³",
    f"suppress {HUGE} --reason x", "suppress ² --reason x",
    f"suppress 1 --reason x --days {'9' * 11}", "suppress 1 --reason x --days ²", "suppress 1 --reason x --days 1e3",
    "suppress 1 --reason x --days 0", "suppress 1 --reason x --days -5",
    "findings page 1e20", f"findings page {HUGE}", "findings page ²", "findings page 0", "findings page 1.5",
    f"revoke {HUGE}", "revoke ²", f"approve {HUGE}", "reject ²", "approve 1e3",
    f"schedule remove {HUGE}", "schedule pause ²", "schedule resume 1e3",
]


@pytest.mark.parametrize("text", ODD_COMMANDS)
def test_odd_numbers_in_slash_commands_get_a_usage_error(app, services, text):
    response = slash(app, text)
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    assert "whole number from" in body["text"] and "Usage" in json.dumps(body["blocks"])
    assert [e for e in audit.events(services.db) if e["action"] != "refused"] == []  # nothing happened


@pytest.mark.parametrize("text", ODD_COMMANDS)
def test_the_console_speaks_the_same_language(services, text):
    reply = commands.dispatch(services, text, commands.Who("U0ALICE", None, "console"))
    assert not reply.ok and "whole number from" in reply.message.text


def test_valid_numbers_still_work(app, services, estate):
    estate.resources = [bucket("open", blocked=False)]
    slash(app, "scan aws")
    services.orchestrator.wait_idle()
    assert "acknowledged" in json.loads(slash(app, "ack #1").body)["text"]
    assert get_finding(services.db, "1")["state"] == "acknowledged"
    finding = get_finding(services.db, "1")
    assert "already acknowledged" in json.loads(slash(app, f"ack {finding['id']}").body)["text"]  # ids still work
    assert "1 finding(s)" in json.loads(slash(app, "findings page 1").body)["text"]


def test_a_button_value_that_is_no_number_finds_nothing(services):
    # Button values and CLI arguments reach the store directly: '²' is a digit to isdigit() but not to int().
    assert get_finding(services.db, "²") is None and get_finding(services.db, HUGE) is None


@pytest.mark.parametrize(("text", "expected"), [("7", 7), ("#7", 7), (" 12 ", 12), ("0007", 7), ("90", 90)])
def test_parse_number_accepts_plain_digits(text, expected):
    assert commands.parse_number(text, "n", 1, 90) == expected


@pytest.mark.parametrize("text", ["91", "0", "", "²", "٣", "１", "1_0", "1e3", "-1", "+1", "1.0", HUGE, "9" * 5000])
def test_parse_number_refuses_the_rest_with_the_range(text):
    with pytest.raises(commands.UsageError, match="must be a whole number from 1 to 90"):
        commands.parse_number(text, "n", 1, 90)
