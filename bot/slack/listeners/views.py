"""Modal submissions: the Suppress form (reason required, expiry at most the configured maximum, scope), and the
App Home's Scan form (one choice, submitted through `/warden scan`)."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import home, home_blocks, ids

log = logging.getLogger(__name__)

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

    @reg.view(ids.SCAN_MODAL)
    def on_scan_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        values = view["state"]["values"]
        option = values.get(ids.SCAN_TARGET[0], {}).get(ids.SCAN_TARGET[1], {}).get("selected_option") or {}
        user, channel = body["user"]["id"], home.home_channel(view)
        answer = home.request_scan(services, user, channel, option.get("value"))
        if answer is None:
            ack(response_action="errors", errors={ids.SCAN_TARGET[0]: "Choose what to scan."})
            return
        reply, where = answer
        ack(response_action="update", view=home_blocks.scan_result_modal(reply.message.text, where))
        future = reply.submission.future if reply.submission is not None else None
        if future is not None:  # the Home shows the new numbers once the scan is stored
            future.add_done_callback(lambda _: _republish(client, user, channel))

    def _republish(client: Any, user: str, channel: str | None) -> None:
        try:
            home.publish(services, client, user, channel)
        except Exception:  # a Home left stale is not worth a traceback in the scan worker
            log.warning("could not refresh the App Home of %s after a scan", user, exc_info=True)
