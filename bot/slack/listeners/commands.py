"""The /warden slash command: parse, answer at once (ack carries the private reply)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import ids

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def register(reg: Registrar, services: Services) -> None:
    @reg.command(ids.COMMAND)
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        who = commands.Who(command["user_id"], command.get("channel_id"),
                           response_url=command.get("response_url") or None)
        # Every command is quick (scans are handed to the orchestrator), so the reply is the ack itself.
        reply = commands.dispatch(services, command.get("text", ""), who)
        ack(response_type="ephemeral", **reply.message.payload())
        words = command.get("text", "").split()
        if reply.ok and words[:1] == ["posture"] and who.channel:
            # The bars as a picture too, after the private text: covering what both asker and channel may see.
            services.charts.post_posture(who.channel, who.user, services.access.read_accounts(who.user))
