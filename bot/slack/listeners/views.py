"""Modal submissions: the Suppress form (reason required, expiry at most the configured maximum, scope)."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import ids

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def register(reg: Registrar, services: Services) -> None:
    @reg.view(ids.SUPPRESS_MODAL)
    def on_suppress_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        values = view["state"]["values"]
        reason = (values.get(ids.REASON[0], {}).get(ids.REASON[1], {}).get("value") or "").strip()
        raw_date = values.get(ids.UNTIL[0], {}).get(ids.UNTIL[1], {}).get("selected_date")
        option = values.get(ids.SCOPE[0], {}).get(ids.SCOPE[1], {}).get("selected_option") or {}
        scope = option.get("value", ids.SCOPE_RESOURCE)
        try:
            until = date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            until = None
        metadata = json.loads(view.get("private_metadata") or "{}")
        who = commands.Who(body["user"]["id"], metadata.get("channel"))
        problems = commands.validate_suppression(services, reason, until)
        allowed, why = services.access.can_suppress(who.user)
        if not allowed:
            commands._refuse(services, who, "suppress", why, metadata.get("finding"))
            problems = {"reason": f"Not allowed: {why}."}
        if scope not in (ids.SCOPE_RESOURCE, ids.SCOPE_RULE):
            problems["scope"] = "Choose a scope."
        if problems:
            block_of = {"reason": ids.REASON[0], "until": ids.UNTIL[0], "scope": ids.SCOPE[0]}
            ack(response_action="errors", errors={block_of[k]: v for k, v in problems.items()})
            return
        ack()
        reply = commands.suppress(services, who, metadata["finding"], reason, until, scope)
        if who.channel:
            client.chat_postEphemeral(channel=who.channel, user=who.user, **reply.message.payload())
