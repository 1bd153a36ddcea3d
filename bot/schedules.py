"""Scan schedules as people write them: cron expressions (validated, with the crontab's weekday numbering),
time zones, scopes and channels; the ``scans:``/``schedules:`` sections of skywarden.yml; and the
``schedule`` command shared by Slack, mentions, the console and ``skywarden schedule``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skywarden.scanners.errors import ConfigError
from skywarden.scanners.providers import PROVIDERS

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from skywarden.bot.command_base import Reply, Who
    from skywarden.bot.slack.app import Services

QUIET_MODES = ("silent", "line")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_CHANNEL_REF = re.compile(
    r"^(?:<#(?P<escaped>[CG][A-Z0-9]+)(?:\|[^>]*)?>|(?P<id>[CG][A-Z0-9]{2,})|(?P<name>#[a-z0-9_-]+))$")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class InvalidSchedule(ConfigError):
    pass


# ---------------------------------------------------------------- cron
def _weekday(token: str) -> int:
    token = token.lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAYS and len(token) == 3:
        return _DAYS.index(token)
    raise ValueError(f"{token!r} is not a day of the week (0-7 or sun-sat)")


def _day_of_week(field_text: str) -> str:
    """Crontab weekdays (0 and 7 = Sunday) as names. APScheduler 3 numbers Monday as 0 (its documented
    'historical mistake'), so "1-5" passed through would mean Tuesday to Saturday."""
    if field_text == "*":
        return "*"
    days: set[int] = set()
    for part in field_text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"{part!r}: the step must be a positive number")
        if span == "*":
            start, end = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            start, end = _weekday(first), _weekday(last)
            if last.strip() == "7":
                end = 7
            if end < start:
                raise ValueError(f"{span!r}: a range runs from the earlier day to the later one")
        else:
            start = end = _weekday(span)
        days.update(d % 7 for d in range(start, end + 1, step or 1))
    return ",".join(_DAYS[d] for d in sorted(days))


def make_trigger(cron: str, timezone: str) -> CronTrigger:
    """5 fields (minute hour day month weekday, as in crontab) or 6 (seconds first). Raises InvalidSchedule
    with the reason."""
    from apscheduler.triggers.cron import CronTrigger

    tz = check_timezone(timezone)
    fields = cron.split()
    if len(fields) not in (5, 6):
        raise InvalidSchedule(f"invalid cron expression {cron!r}: it needs 5 fields (minute hour day month weekday),"
                              f" e.g. \"0 6 * * 1-5\"; got {len(fields)}")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_day_of_week(weekday), timezone=tz)
    except ValueError as exc:
        raise InvalidSchedule(f"invalid cron expression {cron!r}: {exc}") from exc


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown time zone {name!r} (use an IANA name such as UTC or Europe/Paris)") from exc


# How far ahead the interval check looks: a year covers every day-of-month and month pattern, and the fire-time
# cap bounds the work for frequent expressions, whose shortest gap shows within their first days anyway.
_INTERVAL_HORIZON = timedelta(days=366)
_INTERVAL_MAX_FIRES = 5000


def shortest_interval(cron: str, timezone: str, start: datetime,
                      stop_below: timedelta | None = None) -> timedelta | None:
    """The shortest time between two successive fire times over the next year (None: it fires at most once).

    Measured on the real fire times rather than read off the fields: "0,1 * * * *" and "*/5 * * * *" look
    hourly-ish but fire minutes apart, and day/month fields can bring two days' runs close across midnight."""
    trigger = make_trigger(cron, timezone)
    end = start + _INTERVAL_HORIZON
    shortest: timedelta | None = None
    previous: datetime | None = None
    moment = start
    for _ in range(_INTERVAL_MAX_FIRES):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or fire > end:
            break
        if previous is not None:
            gap = fire - previous
            shortest = gap if shortest is None else min(shortest, gap)
            if stop_below is not None and shortest < stop_below:
                break  # already too frequent: the exact minimum does not matter
        previous, moment = fire, fire + timedelta(seconds=1)
    return shortest


def check_interval(cron: str, timezone: str, minimum: timedelta, start: datetime) -> None:
    """Refuse an expression that fires more often than ``minimum`` (InvalidSchedule naming both); an invalid
    expression or time zone is refused as by make_trigger."""
    if minimum <= timedelta(0):
        make_trigger(cron, timezone)
        return
    gap = shortest_interval(cron, timezone, start, stop_below=minimum)
    if gap is not None and gap < minimum:
        raise InvalidSchedule(
            f"cron expression {cron!r} fires every {_duration(gap)} at times; scheduled scans may run at most "
            f"every {_duration(minimum)} (scans.min_interval_minutes)")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def next_runs(cron: str, timezone: str, after: datetime, count: int = 1) -> list[datetime]:
    trigger = make_trigger(cron, timezone)
    out: list[datetime] = []
    previous = None
    moment = after
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        out.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    return out


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ScanPolicy:
    """``scans:`` in skywarden.yml: how scans share the process."""

    max_concurrent: int = 2
    timeout_s: float = 3600.0
    misfire_grace_s: float = 600.0
    quiet: str = "silent"  # a scheduled scan with nothing new/reopened/resolved: post nothing, or one line
    housekeeping_cron: str = "0 9 * * *"
    weekly_digest_cron: str | None = "0 9 * * 1"  # posture + trend charts per routed channel; None: off
    timezone: str = "UTC"  # default for schedules and housekeeping
    reminder_days: int = 7
    min_interval_s: float = 15 * 60.0  # a schedule may not fire more often than this (0: no limit)

    @property
    def min_interval(self) -> timedelta:
        return timedelta(seconds=self.min_interval_s)


@dataclass(frozen=True)
class ScheduleSpec:
    """One entry of ``schedules:`` in skywarden.yml."""

    provider: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    cron: str
    timezone: str
    channel: str | None = None

    @property
    def key(self) -> str:
        ident = json.dumps([self.provider, sorted(self.accounts), sorted(self.regions), self.cron, self.timezone,
                            self.channel])
        return hashlib.sha256(ident.encode()).hexdigest()[:20]

    def fields(self) -> dict[str, Any]:
        return {"provider": self.provider, "accounts": list(self.accounts), "regions": list(self.regions),
                "cron": self.cron, "timezone": self.timezone, "channel": self.channel}


def parse_scan_policy(data: Any, source: str) -> ScanPolicy:
    if data is None:
        return ScanPolicy()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: scans: must be a mapping")
    known = {"max_concurrent", "timeout_minutes", "misfire_grace_minutes", "quiet", "housekeeping", "timezone",
             "reminder_days", "min_interval_minutes", "weekly_digest"}
    for extra in sorted(set(data) - known):
        raise ConfigError(f"{source}: scans.{extra}: unknown key; known: {', '.join(sorted(known))}")

    def positive(key: str, default: float) -> float:
        value = data.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{source}: scans.{key}: must be a positive number")
        return float(value)

    min_interval = data.get("min_interval_minutes", 15)
    if not isinstance(min_interval, int | float) or isinstance(min_interval, bool) or min_interval < 0:
        raise ConfigError(f"{source}: scans.min_interval_minutes: must be a number of minutes (0: no limit)")
    quiet = data.get("quiet", "silent")
    if quiet not in QUIET_MODES:
        raise ConfigError(f"{source}: scans.quiet: must be one of {', '.join(QUIET_MODES)}")
    timezone = str(data.get("timezone", "UTC"))
    housekeeping = str(data.get("housekeeping", "0 9 * * *"))
    try:
        make_trigger(housekeeping, timezone)
    except InvalidSchedule as exc:
        key = "timezone" if "time zone" in str(exc) else "housekeeping"
        raise ConfigError(f"{source}: scans.{key}: {exc}") from exc
    digest = data.get("weekly_digest", "0 9 * * 1")
    weekly_digest = None if digest in (None, False, "off") else str(digest)
    if weekly_digest is not None:
        try:
            make_trigger(weekly_digest, timezone)
        except InvalidSchedule as exc:
            raise ConfigError(f"{source}: scans.weekly_digest: {exc} (or \"off\")") from exc
    return ScanPolicy(
        weekly_digest_cron=weekly_digest,
        max_concurrent=int(positive("max_concurrent", 2)),
        timeout_s=positive("timeout_minutes", 60) * 60,
        misfire_grace_s=positive("misfire_grace_minutes", 10) * 60,
        quiet=quiet,
        housekeeping_cron=housekeeping,
        timezone=timezone,
        reminder_days=int(positive("reminder_days", 7)),
        min_interval_s=float(min_interval) * 60,
    )


def parse_schedules(data: Any, source: str, account_ids: Any, default_tz: str,
                    min_interval: timedelta = timedelta(0)) -> tuple[ScheduleSpec, ...]:
    """``schedules:`` entries: {provider, accounts, regions, cron, timezone, channel}; accounts by id or name.
    An expression firing more often than ``min_interval`` is refused like an invalid one."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigError(f"{source}: schedules: must be a list")
    out = []
    for index, entry in enumerate(data):
        key = f"schedules[{index}]"
        if not isinstance(entry, dict) or "cron" not in entry:
            raise ConfigError(f"{source}: {key}: needs a cron expression")
        for extra in sorted(set(entry) - {"provider", "accounts", "regions", "cron", "timezone", "channel"}):
            raise ConfigError(f"{source}: {key}.{extra}: unknown key")
        provider = str(entry.get("provider", "aws"))
        if provider not in PROVIDERS:
            raise ConfigError(f"{source}: {key}.provider: {provider!r} is not one of {', '.join(PROVIDERS)}")
        accounts = entry.get("accounts") or []
        accounts = () if accounts in ("*", ["*"], "all") else account_ids(accounts, f"{key}.accounts")
        regions = entry.get("regions") or []
        regions = [regions] if isinstance(regions, str) else regions
        for region in regions:
            if not isinstance(region, str) or not _REGION.match(region):
                raise ConfigError(f"{source}: {key}.regions: {region!r} is not a region such as eu-west-1")
        timezone = str(entry.get("timezone", default_tz))
        try:
            check_interval(str(entry["cron"]), timezone, min_interval, datetime.now(ZoneInfo("UTC")))
        except InvalidSchedule as exc:
            field_name = "timezone" if "time zone" in str(exc) else "cron"
            raise ConfigError(f"{source}: {key}.{field_name}: {exc}") from exc
        channel = entry.get("channel")
        if channel is not None and not _CHANNEL_REF.match(str(channel)):
            raise ConfigError(f"{source}: {key}.channel: {channel!r} is not a channel id (C…) or #name")
        out.append(ScheduleSpec(provider, tuple(accounts), tuple(regions), str(entry["cron"]), timezone,
                                str(channel) if channel else None))
    return tuple(out)


def sync_config(services: Services) -> None:
    from skywarden.storage.schedules import sync_config_schedules

    sync_config_schedules(services.db, {spec.key: spec.fields() for spec in services.config.schedules})


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
    from skywarden.bot.command_base import UsageError

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
    from skywarden.bot.slack.blocks import code, escape

    accounts = ", ".join(services.config.account_name(a) for a in row["accounts"]) or "all accounts"
    regions = f" in {', '.join(row['regions'])}" if row["regions"] else ""
    where = f" → {row['channel']}" if row["channel"] else ""
    if not markup:
        return f"{row['provider']} {accounts}{regions} `{row['cron']}` ({row['timezone']}){where}"
    return (f"{escape(row['provider'])} {escape(accounts)}{escape(regions)} {code(row['cron'])} "
            f"({escape(row['timezone'])}){escape(where)}")



def schedule_command(services: Services, args: list[str], who: Who) -> Reply:
    from skywarden.bot.command_base import Reply, UsageError, _refuse
    from skywarden.bot.slack import blocks
    from skywarden.storage import schedules

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
        from skywarden.bot.command_base import parse_number

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
    from skywarden.storage.schedules import list_schedules

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
