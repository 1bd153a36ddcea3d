"""Remediation buttons and the plan modal: Remediate (plan), Request approval (submit), Approve / Reject on the
approval request, Undo on a remediated finding. ack() first; approvals are applied in the background."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import ids
from skywarden.bot.slack.listeners.actions import _who

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def register(reg: Registrar, services: Services) -> None:
    @reg.action(ids.REMEDIATE)
    def on_remediate(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        ack()
        problem = services.remediation.open_plan(client, body["trigger_id"], _who(body), action["value"])
        if problem is not None:
            services.remediation.tell(_who(body), problem)

    @reg.view(ids.REMEDIATE_MODAL)
    def on_request_approval(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()  # closes the modal; re-planning and posting the request take longer than Slack waits
        metadata = json.loads(view.get("private_metadata") or "{}")
        who = commands.Who(body["user"]["id"], metadata.get("channel"))
        reply = services.remediation.request(who, metadata["finding"])
        services.remediation.tell(who, reply)

    @reg.action(ids.UNDO)
    def on_undo(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        who = _who(body)
        services.remediation.tell(who, services.remediation.request(who, action["value"], undo=True))

    @reg.action(ids.APPROVE)
    def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        services.remediation.decide_button(_who(body), str(action.get("value") or ""), approve=True)

    @reg.action(ids.REJECT)
    def on_reject(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        services.remediation.decide_button(_who(body), str(action.get("value") or ""), approve=False)
