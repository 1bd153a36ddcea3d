"""The ``schedule`` command shared by Slack, mentions, the console and ``skywarden schedule``: add, list, remove,
pause and resume scan schedules, each change checked against ``permissions.schedule`` and the scope's accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from skywarden.bot.commands.base import Reply, UsageError, Who, _refuse, parse_number
from skywarden.bot.core.schedules import (
    _CHANNEL_REF,
    _REGION,
    InvalidSchedule,
    check_interval,
    next_runs,
)
from skywarden.bot.slack import blocks
from skywarden.bot.slack.blocks import code, escape
from skywarden.scanners.providers import PROVIDERS
from skywarden.storage import schedules
from skywarden.storage.schedules import list_schedules

if TYPE_CHECKING:
    from skywarden.bot.services import Services


# ---------------------------------------------------------------- the command
USAGE = ('schedule add aws|azure|gcp <account|all> "<cron>" [#channel] [region ...] [--tz Zone] · schedule list · '
         "schedule remove <id> · schedule pause <id> · schedule resume <id>")


@dataclass
class ScheduleRequest:
    provider: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    cron: str
    timezone: str
    channel: str | None
    problems: list[str] = field(default_factory=list)


def channel_ref(text: str) -> str | None:
    match = _CHANNEL_REF.match(text)
    if not match:
        return None
    return match.group("escaped") or match.group("id") or match.group("name")


def resolve_account(services: Services, ref: str, provider: str = "aws") -> str:
    """A configured name or id; otherwise an id of the provider's shape (AWS account, Azure subscription, GCP
    project). Unknown -> InvalidSchedule."""

    account = services.config.account(ref)
    if account is not None:
        if account.provider != provider:
            raise InvalidSchedule(f"{ref!r} is an {account.provider} account, not {provider}")
        return account.id
    if PROVIDERS[provider].account_id.fullmatch(ref):
        return ref
    known = ", ".join(a.name for a in services.config.accounts) or "none configured; use a 12-digit id"
    raise InvalidSchedule(f"unknown account {ref!r} (known: {known})")


def parse_add(services: Services, args: Sequence[str], default_channel: str | None) -> ScheduleRequest:
    rest = list(args)
    timezone = services.config.scans.timezone
    if "--tz" in rest:
        at = rest.index("--tz")
        if at + 1 >= len(rest):
            raise UsageError("--tz needs a time zone such as Europe/Paris")
        timezone = rest[at + 1]
        del rest[at:at + 2]
    if len(rest) < 3:
        raise UsageError(USAGE)
    provider, account, cron, *extra = rest
    provider = provider.lower()
    if provider not in PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}: one of {', '.join(PROVIDERS)}")
    cloud = PROVIDERS[provider]
    if cloud.needs_account and account.lower() in ("all", "*"):
        raise UsageError(f"a {provider.upper()} schedule needs a {cloud.scope_word}: "
                         f"schedule add {provider} <{cloud.scope_word}> \"<cron>\"")
    accounts = () if account.lower() in ("all", "*") else (resolve_account(services, account, provider),)
    channel, regions = default_channel, []
    for word in extra:
        if channel_ref(word):
            channel = channel_ref(word)
        elif _REGION.match(word):
            regions.append(word)
        else:
            raise UsageError(f"unexpected {word!r}: {USAGE}")
    check_interval(cron, timezone, services.config.scans.min_interval, services.clock())
    return ScheduleRequest(provider, accounts, tuple(regions), cron, timezone, channel)


def describe(services: Services, row: Mapping[str, Any], markup: bool = True) -> str:
    """One schedule in a line: mrkdwn with every stored value escaped, or plain words (``markup=False``) for a
    notice, which is plain text already."""
    accounts = ", ".join(services.config.account_name(a) for a in row["accounts"]) or "all accounts"
    regions = f" in {', '.join(row['regions'])}" if row["regions"] else ""
    where = f" → {row['channel']}" if row["channel"] else ""
    if not markup:
        return f"{row['provider']} {accounts}{regions} `{row['cron']}` ({row['timezone']}){where}"
    return (f"{escape(row['provider'])} {escape(accounts)}{escape(regions)} {code(row['cron'])} "
            f"({escape(row['timezone'])}){escape(where)}")



def schedule_command(services: Services, args: list[str], who: Who) -> Reply:
    if not args:
        raise UsageError(USAGE)
    verb, rest = args[0].lower(), args[1:]
    db = services.db
    if verb == "list":
        lines = schedule_lines(services, services.access.read_accounts(who.user))
        return Reply(blocks.Message("schedules", blocks.text_sections(lines)[: blocks.MAX_BLOCKS]))
    if verb == "add":
        try:
            request = parse_add(services, rest, who.channel)
        except InvalidSchedule as exc:
            return Reply(blocks.notice(str(exc)), ok=False)
        allowed, why = services.access.can_change_schedules(who.user)
        if allowed:
            allowed, why = services.access.can_scan(who.user, list(request.accounts))
        if not allowed:
            return _refuse(services, who, "schedule add", why, accounts=list(request.accounts))
        schedule_id = schedules.add_schedule(db, request.provider, request.accounts, request.regions, request.cron,
                                             request.timezone, request.channel, who.source, who.user)
        row = schedules.get_schedule(db, schedule_id)
        assert row is not None
        services.schedule_changed()
        upcoming = next_runs(request.cron, request.timezone, services.clock(), 1)
        when = f"; next run {upcoming[0].isoformat(timespec='minutes')}" if upcoming else ""
        return Reply(blocks.notice(f"Schedule {schedule_id} added: {describe(services, row, markup=False)}{when}."))

    if verb in ("remove", "pause", "resume"):
        if len(rest) != 1:
            raise UsageError(f"schedule {verb} <id> (see `schedule list`)")
        schedule_id = parse_number(rest[0], f"schedule {verb} <id> (see `schedule list`): the id")

        row = schedules.get_schedule(db, schedule_id)
        if row is None or row["removed_at"]:
            return Reply(blocks.notice(f"no schedule {schedule_id} (see `schedule list`)"), ok=False)
        allowed, why = services.access.can_change_schedules(who.user)
        if allowed:
            allowed, why = services.access.can_scan(who.user, list(row["accounts"]))
        if not allowed:
            return _refuse(services, who, f"schedule {verb}", why, schedule_id=schedule_id)
        if verb == "remove":
            if row["source"] == "config":
                return Reply(blocks.notice(f"schedule {schedule_id} is declared in skywarden.yml: remove it there "
                                           "(you can pause it here)"), ok=False)
            schedules.remove_schedule(db, schedule_id, who.user)
            services.schedule_changed()
            return Reply(blocks.notice(f"Schedule {schedule_id} removed."))
        paused = verb == "pause"
        if not schedules.set_paused(db, schedule_id, paused, who.user):
            return Reply(blocks.notice(f"schedule {schedule_id} is already {'paused' if paused else 'active'}"),
                         ok=False)
        services.schedule_changed()
        return Reply(blocks.notice(f"Schedule {schedule_id} {'paused' if paused else 'resumed'}."))
    raise UsageError(f"unknown schedule command {verb!r}: {USAGE}")


def schedule_lines(services: Services, readable: set[str] | None = None) -> list[str]:
    """Every schedule, or (``readable`` given) those whose accounts all are in it: an every-account schedule
    shows only to someone who may see every account."""
    rows = [row for row in list_schedules(services.db)
            if readable is None or (row["accounts"] and set(row["accounts"]) <= readable)]
    if not rows:
        return ['No schedules. Add one: `schedule add aws <account> "0 6 * * 1-5"`']
    lines = [f"*Scan schedules* ({len(rows)})"]
    for row in rows:
        marks = []
        if row["source"] == "config":
            marks.append("from configuration")
        if row["paused"]:
            marks.append("paused")
        else:
            upcoming = next_runs(row["cron"], row["timezone"], services.clock(), 1)
            if upcoming:
                marks.append(f"next {upcoming[0].isoformat(timespec='minutes')}")
        if row["last_run_at"]:
            marks.append(f"last {row['last_run_at']}: {row['last_outcome']}")
        lines.append(f"`{row['id']}` {describe(services, row)}" + (f" · {' · '.join(marks)}" if marks else ""))
    return lines
