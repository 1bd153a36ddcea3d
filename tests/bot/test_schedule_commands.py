"""Managing schedules: /warden schedule (signed requests), the console, `skywarden schedule`, skywarden.yml;
cron validation with crontab weekdays; clear private errors; authorization as for scans."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import main
from skywarden.bot.core.schedules import make_trigger, next_runs, sync_config
from skywarden.bot.core.settings import parse_config
from skywarden.bot.wiring import assemble
from skywarden.scanners.errors import ConfigError
from skywarden.storage import audit, schedules
from skywarden.storage.db import open_db
from tests.bot.helpers import ACCOUNT, OTHER_ACCOUNT, RULES, make_services, slash

CONFIG = {
    "accounts": [{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}],
    "permissions": {"scan": {"U0ALICE": "*", "U0BOB": ["dev"]}},
    "schedules": [{"accounts": ["prod"], "cron": "30 7 * * mon", "timezone": "Europe/Paris", "channel": "C0SEC"}],
}


@pytest.fixture
def services(tmp_path, slack, estate):
    svc = make_services(tmp_path / "bot.db", slack, estate, parse_config(CONFIG))
    sync_config(svc.db, svc.config.schedules)
    yield svc
    svc.close()


def text(response) -> str:
    """The private reply, fallback text and blocks together."""
    body = json.loads(response.body)
    assert body.get("response_type") == "ephemeral"
    shown = body["text"] + "\n" + "\n".join(b["text"]["text"] for b in body.get("blocks", []) if "text" in b)
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # as Slack displays it


def test_add_list_pause_resume_remove_from_slack(app, services):
    reply = text(slash(app, 'schedule add aws prod "0 6 * * 1-5" #security --tz Europe/Paris'))
    assert reply.startswith("Schedule 2 added: aws prod `0 6 * * 1-5` (Europe/Paris) → #security")
    row = schedules.get_schedule(services.db, 2)
    assert (row["accounts"], row["channel"], row["source"], row["created_by"]) == ([ACCOUNT], "#security", "slack",
                                                                                   "U0ALICE")
    listing = text(slash(app, "schedule list"))
    assert "from configuration" in listing and "`1` aws prod" in listing and "`2` aws prod" in listing
    assert "paused" in text(slash(app, "schedule pause 2"))
    assert "paused" in text(slash(app, "schedule list")).split("`2`")[1]
    assert "resumed" in text(slash(app, "schedule resume 2"))
    assert "removed" in text(slash(app, "schedule remove 2"))
    assert "no schedule 2" in text(slash(app, "schedule remove 2"))
    actions = [e["action"] for e in audit.events(services.db) if e["action"].startswith("schedule_")]
    assert actions == ["schedule_added", "schedule_added", "schedule_paused", "schedule_resumed", "schedule_removed"]


def test_the_channel_defaults_to_where_the_command_was_typed(app, services):
    text(slash(app, 'schedule add aws all "0 6 * * *" eu-west-1', channel="C0HERE"))
    row = schedules.get_schedule(services.db, 2)
    assert (row["channel"], row["accounts"], row["regions"]) == ("C0HERE", [], ["eu-west-1"])
    text(slash(app, 'schedule add aws dev "0 6 * * *" <#C0ESCAPED|sec>'))
    assert schedules.get_schedule(services.db, 3)["channel"] == "C0ESCAPED"


@pytest.mark.parametrize("command, error", [
    ('schedule add aws prod "0 6 * *"', "invalid cron expression '0 6 * *': it needs 5 fields"),
    ('schedule add aws prod "0 25 * * *"', "invalid cron expression '0 25 * * *'"),
    ('schedule add aws prod "0 6 * * 1-9"', "invalid cron expression"),
    ('schedule add aws staging "0 6 * * *"', "unknown account 'staging' (known: prod, dev)"),
    ('schedule add aws prod "0 6 * * *" --tz Mars/Olympus', "unknown time zone 'Mars/Olympus'"),
    ('schedule add oracle prod "0 6 * * *"', "unknown provider 'oracle'"),
    ('schedule add gcp prod "0 6 * * *"', "'prod' is an aws account, not gcp"),
    ('schedule add gcp all "0 6 * * *"', "a GCP schedule needs a project"),
    ("schedule remove x", "schedule remove <id>"),
    ("schedule frobnicate", "unknown schedule command"),
])
def test_invalid_requests_get_a_clear_private_error(app, services, command, error):
    assert error in text(slash(app, command))
    assert len(schedules.list_schedules(services.db)) == 1


def test_azure_and_gcp_scopes_can_be_scheduled(app, services):
    assert "added" in text(slash(app, 'schedule add azure 5f1c0a3e-0000-4000-8000-00000000a001 "0 6 * * *"'))
    assert "added" in text(slash(app, 'schedule add gcp acme-web-prod "30 6 * * 1-5"'))
    providers = sorted(row["provider"] for row in schedules.list_schedules(services.db))
    assert providers == ["aws", "azure", "gcp"]


def test_authorization_is_the_scan_permission(app, services):
    assert "Not allowed" in text(slash(app, 'schedule add aws prod "0 6 * * *"', user="U0BOB"))
    assert "added" in text(slash(app, 'schedule add aws dev "0 6 * * *"', user="U0BOB"))
    assert "Not allowed" in text(slash(app, "schedule pause 1", user="U0BOB"))  # prod, declared
    assert "Not allowed" in text(slash(app, 'schedule add aws all "0 6 * * *"', user="U0MALLORY"))
    refused = [e for e in audit.events(services.db) if e["action"] == "refused"]
    assert len(refused) == 3


def test_declared_schedules_cannot_be_removed_from_slack(app, services):
    assert "declared in skywarden.yml" in text(slash(app, "schedule remove 1"))
    assert "paused" in text(slash(app, "schedule pause 1"))  # pausing is fine, and survives restarts
    row = schedules.get_schedule(services.db, 1)
    assert row["source"] == "config" and row["paused"] and row["removed_at"] is None


def test_config_sync_adds_keeps_and_removes_declared_schedules(tmp_path):
    db_path = tmp_path / "c.db"
    services = assemble(str(db_path), parse_config(CONFIG), RULES, lambda db, request: None)
    try:
        sync_config(services.db, services.config.schedules)
        sync_config(services.db, services.config.schedules)
        (row,) = schedules.list_schedules(services.db)
        assert (row["cron"], row["timezone"], row["channel"]) == ("30 7 * * mon", "Europe/Paris", "C0SEC")
        services.config = parse_config({**CONFIG, "schedules": []})
        sync_config(services.db, services.config.schedules)
        assert schedules.list_schedules(services.db) == []
        services.config = parse_config(CONFIG)
        sync_config(services.db, services.config.schedules)
        assert [r["id"] for r in schedules.list_schedules(services.db)] == [row["id"]]
    finally:
        services.close()


@pytest.mark.parametrize("entry, message", [
    ({"cron": "0 6 * *"}, "schedules[0].cron: invalid cron expression"),
    ({"cron": "0 6 * * *", "timezone": "Nowhere/Land"}, "schedules[0].timezone: unknown time zone"),
    ({"cron": "0 6 * * *", "accounts": ["staging"]}, "schedules[0].accounts: unknown account 'staging'"),
    ({"cron": "0 6 * * *", "every": "day"}, "schedules[0].every: unknown key"),
    ({"accounts": ["prod"]}, "schedules[0]: needs a cron expression"),
])
def test_configuration_errors_name_the_key(entry, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config({**CONFIG, "schedules": [entry]})
    with pytest.raises(ConfigError, match=r"scans.quiet"):
        parse_config({"scans": {"quiet": "loud"}})


@pytest.mark.parametrize("cron, weekdays", [
    ("0 6 * * 1-5", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
    ("0 6 * * 0", ["Sunday"]),
    ("0 6 * * 7", ["Sunday"]),
    ("0 6 * * 5-7", ["Friday", "Saturday", "Sunday"]),
    ("0 6 * * sat,sun", ["Saturday", "Sunday"]),
    ("0 6 * * */2", ["Sunday", "Tuesday", "Thursday", "Saturday"]),
])
def test_weekdays_are_numbered_as_in_crontab(cron, weekdays):
    runs = next_runs(cron, "UTC", datetime(2026, 1, 4, tzinfo=UTC), 14)  # from a Sunday, two weeks
    assert sorted({r.strftime("%A") for r in runs}, key=weekdays.index) == weekdays


def test_the_time_zone_applies_to_the_cron_expression():
    (run,) = next_runs("0 6 * * *", "Europe/Paris", datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert run.astimezone(UTC).hour == 4  # 06:00 CEST
    assert make_trigger("*/10 * * * * *", "UTC").fields[-1].name == "second"


def test_cli_schedule_commands(tmp_path):
    db = str(tmp_path / "cli.db")
    config = tmp_path / "skywarden.yml"
    config.write_text(json.dumps(CONFIG))  # JSON is YAML
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--db", db, "schedule", *args, "--config", str(config)])

    added = run("add", "aws", "prod", "0 6 * * 1-5", "--channel", "C0OPS", "--region", "eu-west-1", "--user", "ops")
    assert added.exit_code == 0, added.output
    assert "Schedule 2 added: aws prod in eu-west-1 `0 6 * * 1-5` (UTC) → C0OPS" in added.output
    listing = run("list")
    assert "`1` aws prod `30 7 * * mon` (Europe/Paris) → C0SEC · from configuration" in listing.output
    assert run("pause", "2", "--user", "ops").exit_code == 0 and "paused" in run("list").output.split("`2`")[1]
    assert run("resume", "2").exit_code == 0
    removed_declared = run("remove", "1")
    assert removed_declared.exit_code == 1 and "declared in skywarden.yml" in removed_declared.output
    assert run("remove", "2").exit_code == 0
    bad = run("add", "aws", "prod", "0 6 * *")
    assert bad.exit_code == 1 and "invalid cron expression '0 6 * *': it needs 5 fields" in bad.output
    unknown = run("add", "aws", "staging", "0 6 * * *")
    assert unknown.exit_code == 1 and "unknown account 'staging'" in unknown.output
    conn = open_db(db)
    try:
        assert [e["actor"] for e in audit.events(conn) if e["action"] == "schedule_paused"] == ["ops"]
    finally:
        conn.close()


def test_console_speaks_the_same_command(services):
    from skywarden.bot.commands import Who
    from skywarden.bot.console import handle_line

    out = handle_line(services, 'schedule add aws prod "0 6 * * 1-5"', Who("U0ALICE", None, "console"))
    assert "Schedule 2 added: aws prod `0 6 * * 1-5`" in out


def test_help_mentions_schedules(app, services):
    assert "schedule add aws" in text(slash(app, "help"))


def test_make_services_is_unaffected(tmp_path, slack, estate):
    svc = make_services(tmp_path / "x.db", slack, estate)
    try:
        assert svc.orchestrator.max_workers == 2 and svc.scheduler is None
    finally:
        svc.close()
