"""The configuration example in docs/slack.md is a valid configuration, and the command table is complete."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from skywarden.bot.commands import _COMMANDS
from skywarden.bot.core.settings import parse_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "slack.md"


def test_documented_configuration_parses():
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block
    config = parse_config(yaml.safe_load(block.group(1)), "docs/slack.md")
    assert config.account_id("azure-prod").count("-") == 4
    assert config.workspace.team_ids == ("T0ACME",)


def test_every_command_is_documented():
    table = DOC.read_text().split("## Commands", 1)[1].split("## ", 1)[0]
    missing = [name for name in _COMMANDS if f"`{name}" not in table and f" {name} " not in table]
    assert missing == []
