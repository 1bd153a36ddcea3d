"""The command language shared by the slash command, @mentions, the console and the CLI, and the decisions behind
the buttons, one module per command family. Everything returns a ``Reply`` (Block Kit message + whether it is
private); the adapters (bot/slack/listeners, bot/console.py) only deliver it. Every command and decision checks
authorization first; a refusal is private and audited."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from skywarden.bot.commands.base import (
    MAX_DAYS,
    MAX_ID,
    MAX_PAGE,
    Reply,
    UsageError,
    Who,
    _refuse,
    finding_ref,
    parse_number,
)
from skywarden.bot.commands.decisions import (
    _decision_command,
    acknowledge,
    decide_remediation,
    remediate,
    revoke,
    suppress,
    undo,
    validate_suppression,
)
from skywarden.bot.commands.findings import PER_PAGE, _findings, _suppressions
from skywarden.bot.commands.posture import _posture, collected_types, failing_rules, postures
from skywarden.bot.commands.scans import _scan, _status, scan_accounts
from skywarden.bot.commands.schedules import schedule_command
from skywarden.bot.slack import blocks

if TYPE_CHECKING:
    from skywarden.bot.services import Services

__all__ = [
    "COMMAND_NAMES", "MAX_DAYS", "MAX_ID", "MAX_PAGE", "PER_PAGE", "Reply", "UsageError", "Who", "_refuse",
    "acknowledge", "collected_types", "decide_remediation", "dispatch", "failing_rules", "finding_ref",
    "parse_number", "postures", "remediate", "revoke", "scan_accounts", "schedule_command", "strip_mention",
    "suppress", "undo", "validate_suppression",
]


def strip_mention(text: str) -> str:
    return re.sub(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>\s*", "", text or "").strip()


def dispatch(services: Services, text: str, who: Who) -> Reply:
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        return Reply(blocks.usage(f"cannot parse that: {exc}"), ok=False)
    if not words:
        return Reply(blocks.usage())
    name, args = words[0].lower(), words[1:]
    handler = _COMMANDS.get(name)
    if handler is None:
        return Reply(blocks.usage(f"unknown command {name!r}"), ok=False)
    try:
        return handler(services, args, who)
    except UsageError as exc:
        return Reply(blocks.usage(str(exc)), ok=False)


def _help(services: Services, args: list[str], who: Who) -> Reply:
    return Reply(blocks.usage())


_COMMANDS = {
    "help": _help,
    "scan": _scan,
    "status": _status,
    "findings": _findings,
    "posture": _posture,
    "schedule": lambda s, a, w: schedule_command(s, a, w),
    "suppressions": _suppressions,
    "ack": lambda s, a, w: _decision_command(s, a, w, "ack"),
    "suppress": lambda s, a, w: _decision_command(s, a, w, "suppress"),
    "revoke": lambda s, a, w: _decision_command(s, a, w, "revoke"),
    "remediate": lambda s, a, w: _decision_command(s, a, w, "remediate"),
    "undo": lambda s, a, w: _decision_command(s, a, w, "undo"),
    "approve": lambda s, a, w: _decision_command(s, a, w, "approve"),
    "reject": lambda s, a, w: _decision_command(s, a, w, "reject"),
}


COMMAND_NAMES = tuple(_COMMANDS)

