"""``skywarden schedule add|list|remove|pause|resume``: the same command as ``/warden schedule``, on the
database directly. A running ``skywarden serve`` picks the change up at its next sync (30 s)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from skywarden.bot.core.settings import BotConfig, load_config
from skywarden.storage.db import open_db


class _Operator:
    """Whoever can write the database file may manage schedules: the CLI applies no Slack permissions."""

    def can_scan(self, user: str, accounts: list[str]) -> tuple[bool, str]:
        return True, ""

    def read_accounts(self, user: str) -> set[str] | None:
        return None

    def can_change_schedules(self, user: str) -> tuple[bool, str]:
        return True, ""  # permissions.schedule names Slack users; the CLI is the operator's own path


@dataclass
class _LocalServices:
    db: Any
    config: BotConfig
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    access: _Operator = field(default_factory=_Operator)

    def schedule_changed(self) -> None:
        pass  # no scheduler in this process


def _run(obj: dict[str, Any], config_path: str | None, user: str | None, args: list[str]) -> None:
    from skywarden.bot.commands import UsageError, Who
    from skywarden.bot.commands.schedules import schedule_command
    from skywarden.bot.console import render
    from skywarden.bot.core.schedules import sync_config

    config = load_config(config_path)
    services = _LocalServices(open_db(obj["db"]), config)
    sync_config(services.db, config.schedules)
    try:
        reply = schedule_command(services, args, Who(user or getpass.getuser(), None, "cli"))  # type: ignore[arg-type]
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        services.db.close()
    if not reply.ok:
        raise click.ClickException(render(reply.message))
    click.echo(render(reply.message))


_config = click.option("--config", "config_path", envvar="SKYWARDEN_CONFIG",
                       help="Bot configuration (default ./skywarden.yml): account names, declared schedules.")
_user = click.option("--user", help="Who you are for the audit log (default: your login name).")


@click.group("schedule")
def schedule() -> None:
    """Scheduled scans (the same as /warden schedule in Slack)."""


@schedule.command("add")
@click.argument("provider")
@click.argument("account")
@click.argument("cron")
@click.option("--channel", help="Channel for the results when no route matches (C… id or #name).")
@click.option("--region", "regions", multiple=True, help="Region to scan (repeatable; default: the account's).")
@click.option("--tz", "timezone", help="IANA time zone of the cron expression (default: scans.timezone, UTC).")
@_config
@_user
@click.pass_obj
def schedule_add(obj: dict[str, Any], provider: str, account: str, cron: str, channel: str | None,
                 regions: tuple[str, ...], timezone: str | None, config_path: str | None, user: str | None) -> None:
    """Add a schedule: ACCOUNT is an id or configured name (or all); CRON like "0 6 * * 1-5"."""
    args = ["add", provider, account, cron, *([channel] if channel else []), *regions]
    _run(obj, config_path, user, args + (["--tz", timezone] if timezone else []))


@schedule.command("list")
@_config
@click.pass_obj
def schedule_list(obj: dict[str, Any], config_path: str | None) -> None:
    """Every schedule, declared ones marked as from configuration, with next and last runs."""
    _run(obj, config_path, None, ["list"])


def _by_id(verb: str, help_text: str) -> None:
    @schedule.command(verb, help=help_text)
    @click.argument("schedule_id", type=int)
    @_config
    @_user
    @click.pass_obj
    def command(obj: dict[str, Any], schedule_id: int, config_path: str | None, user: str | None) -> None:
        _run(obj, config_path, user, [verb, str(schedule_id)])


_by_id("remove", "Remove a schedule (declared ones are removed from skywarden.yml instead).")
_by_id("pause", "Pause a schedule: it keeps its place but does not run.")
_by_id("resume", "Resume a paused schedule.")
