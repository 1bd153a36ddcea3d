"""Events: @mentions speak the same command language; App Home shows the posture."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import blocks, ids
from skywarden.rules.model import SEVERITIES
from skywarden.storage import finding_views
from skywarden.storage.db import now
from skywarden.storage.suppressions import list_exceptions

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def register(reg: Registrar, services: Services) -> None:
    @reg.event(ids.EVENT_APP_MENTION)
    def on_mention(event: dict[str, Any], client: Any) -> None:
        who = commands.Who(event["user"], event.get("channel"))
        reply = commands.dispatch(services, commands.strip_mention(event.get("text", "")), who)
        client.chat_postEphemeral(channel=event["channel"], user=event["user"],
                                  thread_ts=event.get("thread_ts"), **reply.message.payload())

    @reg.event(ids.EVENT_APP_HOME_OPENED)
    def on_home(event: dict[str, Any], client: Any) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=event["user"], view=home_view(services, event["user"]))


def home_view(services: Services, user: str | None = None) -> dict[str, Any]:
    """The App Home of ``user``: only the accounts they may see (None: every account, for tests and tools)."""
    db = services.db
    readable = services.access.read_accounts(user) if user is not None else None
    by_severity: dict[str, int] = {}
    by_account: dict[str, dict[str, int]] = {}
    for row in finding_views.open_counts(db, readable):
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + row["n"]
        by_account.setdefault(row["account_id"], {})[row["severity"]] = row["n"]
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    accounts = sorted(
        by_account.items(), key=lambda kv: tuple(-kv[1].get(s, 0) for s in sorted(rank, key=rank.__getitem__))
    )
    named = [(services.config.account_name(a), counts) for a, counts in accounts]
    at = services.clock()
    expiring = [row for row in list_exceptions(db, now(), expiring_before=(at + timedelta(days=7)).isoformat(
        timespec="seconds")) if readable is None or row["account_id"] in readable]
    views = commands.postures(services, readable) if readable != set() else []
    return blocks.home_view(by_severity, named, views, expiring)
