"""Scan schedules as people write them: cron expressions (validated, with the crontab's weekday numbering),
time zones, scopes and channels; the ``scans:``/``schedules:`` sections of skywarden.yml. The ``schedule``
command that people type is in ``bot.commands.schedules``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skywarden.scanners.errors import ConfigError
from skywarden.scanners.providers import PROVIDERS

if TYPE_CHECKING:
    import sqlite_utils
    from apscheduler.triggers.cron import CronTrigger

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


def sync_config(db: sqlite_utils.Database, schedules: Sequence[ScheduleSpec]) -> None:
    """The ``schedules:`` of skywarden.yml into the schedules table (rows from the file follow the file)."""
    from skywarden.storage.schedules import sync_config_schedules

    sync_config_schedules(db, {spec.key: spec.fields() for spec in schedules})
