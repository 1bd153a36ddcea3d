"""Events: @mentions speak the same command language; App Home shows the posture."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import home, ids

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
        home.publish(services, client, event["user"], event.get("channel"))
