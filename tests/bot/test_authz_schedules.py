"""Schedules: no expression firing more often than scans.min_interval_minutes, changes only by
permissions.schedule, listings only of accounts the user may see (signed slash commands, skywarden.yml)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from skywarden.bot.core.schedules import shortest_interval
from skywarden.bot.core.settings import parse_config
from skywarden.scanners.errors import ConfigError
from skywarden.storage import audit, schedules
from tests.bot.helpers import ACCOUNT, OTHER_ACCOUNT, make_app, make_services, slash

ACCOUNTS = [{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}]


def reply_text(response) -> str:
    body = json.loads(response.body)
    return body["text"] + "\n" + "\n".join(b["text"]["text"] for b in body.get("blocks", []) if "text" in b)


@pytest.fixture
def world(tmp_path, slack, estate):
    made = []

    def build(**config):
        services = make_services(tmp_path / f"bot{len(made)}.db", slack, estate,
                                 parse_config({"accounts": ACCOUNTS, **config}))
        made.append(services)
        return services, make_app(services)

    yield build
    for services in made:
        services.close()


@pytest.mark.parametrize("cron, gap", [
    ("*/5 * * * *", "5 min"),
    ("0,1 * * * *", "1 min"),  # hourly at a glance, a minute apart in fact
    ("* * * * * *", "1 s"),
    ("*/10 6 * * 1-5", "10 min"),
])
def test_too_frequent_expressions_are_refused_by_default(world, cron, gap):
    services, app = world()
    reply = reply_text(slash(app, f'schedule add aws prod "{cron}"'))
    assert f"fires every {gap} at times" in reply and "at most every 15 min (scans.min_interval_minutes)" in reply
    assert schedules.list_schedules(services.db) == []


def test_the_minimum_is_configurable_and_boundaries_are_allowed(world):
    services, app = world()
    assert "Schedule 1 added" in reply_text(slash(app, 'schedule add aws prod "*/15 * * * *"'))
    assert "Schedule 2 added" in reply_text(slash(app, 'schedule add aws prod "0 6 * * 1-5"'))
    _, strict = world(scans={"min_interval_minutes": 120})
    assert "at most every 2 h" in reply_text(slash(strict, 'schedule add aws prod "0 */1 * * *"'))
    _, unlimited = world(scans={"min_interval_minutes": 0})
    assert "added" in reply_text(slash(unlimited, 'schedule add aws prod "*/5 * * * *"'))


def test_the_gap_is_measured_on_real_fire_times():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Monday 00:00/00:55/23:00/23:55: a naive "every day" reading would see 23:55 -> 00:00 (5 min).
    assert shortest_interval("0,55 0,23 * * 1", "UTC", start) == timedelta(minutes=55)
    # Only on the 1st and 2nd: the 23:50 -> 00:05 gap across midnight is found.
    assert shortest_interval("5,50 0,23 1,2 * *", "UTC", start) == timedelta(minutes=15)
    assert shortest_interval("5,50 0,23 1,2 * *", "UTC", start, stop_below=timedelta(hours=1)) < timedelta(hours=1)


def test_declared_schedules_are_checked_too():
    with pytest.raises(ConfigError, match=r"schedules\[0\]\.cron: cron expression '\*/5 \* \* \* \*' fires every "):
        parse_config({"accounts": ACCOUNTS, "schedules": [{"accounts": ["prod"], "cron": "*/5 * * * *"}]})
    with pytest.raises(ConfigError, match=r"scans\.min_interval_minutes: must be a number of minutes"):
        parse_config({"scans": {"min_interval_minutes": -1}})
    with pytest.raises(ConfigError, match=r"permissions\.schedule: 'alice' is not a Slack user id"):
        parse_config({"permissions": {"schedule": ["alice"]}})
    config = parse_config({"accounts": ACCOUNTS, "scans": {"min_interval_minutes": 5},
                           "schedules": [{"accounts": ["prod"], "cron": "*/5 * * * *"}]})
    assert config.schedules[0].cron == "*/5 * * * *"


def test_only_the_schedule_group_changes_schedules(world, slack):
    slack.usergroups["S0SCHED"] = ["U0ALICE"]
    services, app = world(permissions={"schedule": ["S0SCHED"]})
    assert "Schedule 1 added" in reply_text(slash(app, 'schedule add aws prod "0 6 * * *"'))
    for command in ('schedule add aws dev "0 6 * * *"', "schedule pause 1", "schedule remove 1"):
        reply = reply_text(slash(app, command, user="U0BOB"))
        assert "Not allowed: you are not allowed to change scan schedules (permissions.schedule)" in reply
    row = schedules.get_schedule(services.db, 1)
    assert not row["paused"] and not row["removed_at"] and len(schedules.list_schedules(services.db)) == 1
    refused = [e for e in audit.events(services.db) if e["action"] == "refused"]
    assert [(e["actor"], e["details"]["action"]) for e in refused] == [
        ("U0BOB", "schedule add"), ("U0BOB", "schedule pause"), ("U0BOB", "schedule remove")]
    assert "`1` aws prod" in reply_text(slash(app, "schedule list", user="U0BOB"))  # listing is a read
    assert "paused" in reply_text(slash(app, "schedule pause 1"))


def test_schedule_list_shows_only_readable_accounts(world):
    services, app = world(permissions={"scan": {"U0ALICE": "*", "U0BOB": ["dev"]}})
    slash(app, 'schedule add aws prod "0 6 * * *"')
    slash(app, 'schedule add aws dev "0 7 * * *"')
    slash(app, 'schedule add aws all "0 8 * * *"')
    everything = reply_text(slash(app, "schedule list"))
    assert "`1` aws prod" in everything and "`2` aws dev" in everything and "`3` aws all accounts" in everything
    bobs = reply_text(slash(app, "schedule list", user="U0BOB"))
    assert "`2` aws dev" in bobs and "prod" not in bobs and "all accounts" not in bobs
