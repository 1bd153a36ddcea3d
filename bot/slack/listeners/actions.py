"""Buttons: ack() first, then decide. The message itself is updated by the publisher (chat.update on every
live message of the finding); an ephemeral listing is replaced through its response_url."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import blocks, home, home_blocks, ids
from skywarden.bot.slack.posting import render_finding
from skywarden.storage.db import now
from skywarden.storage.findings import ACKNOWLEDGED, OPEN
from skywarden.storage.suppressions import find_finding, list_exceptions

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def _who(body: dict[str, Any]) -> commands.Who:
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    return commands.Who(body["user"]["id"], channel)


def _is_ephemeral(body: dict[str, Any]) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


def _tell(respond: Any, reply: commands.Reply) -> None:
    respond(response_type="ephemeral", replace_original=False, **reply.message.payload())


def register(reg: Registrar, services: Services) -> None:
    @reg.action(ids.ACKNOWLEDGE)
    def on_acknowledge(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        reply = commands.acknowledge(services, _who(body), action["value"])
        if not reply.ok:
            _tell(respond, reply)
        elif _is_ephemeral(body):
            finding = find_finding(services.db, action["value"])
            if finding:
                respond(replace_original=True, **render_finding(services.db, services.rules, finding).payload())

    @reg.action(ids.SUPPRESS)
    def on_suppress(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: Any) -> None:
        ack()
        who = _who(body)
        finding = find_finding(services.db, action["value"])
        allowed, why = services.access.can_suppress(who.user)
        if not allowed:
            _tell(respond, commands._refuse(services, who, "suppress", why, finding["id"] if finding else None))
            return
        if finding is None or finding["state"] not in (OPEN, ACKNOWLEDGED):
            state = finding["state"] if finding else "unknown"
            _tell(respond, commands.Reply(blocks.notice(f"This finding is {state}; nothing to suppress."), ok=False))
            return
        metadata = json.dumps({"finding": finding["id"], "channel": who.channel})
        today = services.clock().date()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.suppress_modal(
            finding, today, services.config.default_suppression_days, services.config.max_suppression_days, metadata))

    @reg.action(ids.REVOKE)
    def on_revoke(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        reply = commands.revoke(services, _who(body), int(action["value"]))
        if reply.ok and _is_ephemeral(body):
            respond(replace_original=True, **blocks.suppressions_list(list_exceptions(services.db, now())).payload())
        _tell(respond, reply)

    # ------------------------------------------------------------ App Home
    @reg.action(ids.HOME_SCAN)
    def on_home_scan(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        user, channel = body["user"]["id"], home.home_channel(body.get("view"))
        choices = home.scan_choices(services, user)
        if not choices:  # refused and audited as `/warden scan` refuses, told in a modal (a Home has no thread)
            reply = commands._refuse(services, commands.Who(user, channel), "scan",
                                     "you may not scan any account (permissions.scan)")
            client.views_open(trigger_id=body["trigger_id"], view=home_blocks.notice_modal("Scan",
                                                                                         reply.message.text))
            return
        client.views_open(trigger_id=body["trigger_id"],
                          view=home_blocks.scan_modal(choices, json.dumps({"channel": channel})))

    @reg.action(ids.HOME_FINDINGS)
    def on_home_findings(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=home.findings_modal(services, body["user"]["id"]))

    @reg.action(ids.HOME_REFRESH)
    def on_home_refresh(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        home.publish(services, client, body["user"]["id"], home.home_channel(body.get("view")))
