"""Block Kit for remediation: the plan modal, the approval request and its outcome. Pure functions, like
bot/slack/blocks.py, whose helpers and limits they reuse."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from skywarden.bot.slack import ids
from skywarden.bot.slack.blocks import (
    MAX_FIELD,
    MAX_TEXT,
    Block,
    Message,
    actions,
    button,
    check_limits,
    clip,
    code,
    context,
    escape,
    escape_entities,
    header,
    mention,
    plain,
    section,
    severity_label,
)
from skywarden.storage import remediations

ICON = {
    remediations.REQUESTED: ":hourglass_flowing_sand:",
    remediations.APPROVED: ":gear:",
    remediations.VERIFIED: ":white_check_mark:",
    remediations.NOOP: ":information_source:",
    remediations.FAILED: ":x:",
    remediations.REJECTED: ":no_entry_sign:",
    remediations.EXPIRED: ":hourglass:",
    remediations.UNDONE: ":leftwards_arrow_with_hook:",
}


who = mention


def _code(text: str, limit: int) -> str:
    # Backticks inside a code block would end it early; links and mentions stay live even there.
    return "```" + clip(escape_entities(text).replace("```", "'''"), limit - 6) + "```"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1, default=str)


def finding_summary(finding: Mapping[str, Any]) -> Block:
    name = escape(finding.get("resource_name") or finding["resource_id"])
    return section(
        f"{severity_label(finding['severity'])}  {escape(finding['title'])}  `#{finding['number']}`",
        fields=[f"*Resource*\n{name}\n{code(finding['resource_id'])}",
                f"*Account / region*\n{escape(finding['account_id'])} / {escape(finding['region'])}",
                f"*Rule*\n{code(finding['rule_id'])}"],
    )


def plan_blocks(plan: Mapping[str, Any]) -> list[Block]:
    """What the approver approves: the summary, the exact API calls, and the before/after of what they touch."""
    calls = plan.get("calls") or []
    lines = []
    for call in calls:
        args = ", ".join(f"{k}={v!r}" for k, v in (call.get("params") or {}).items())
        region = f"  # {call['region']}" if call.get("region") else ""
        lines.append(f"{call['service']}.{call['operation']}({args}){region}")
    out = [section(f"*Plan*: {escape(plan['summary'])}  ({code(plan['action'])})"),
           section(f"*API calls ({len(calls)})*\n" + _code("\n".join(lines) or "none", MAX_TEXT - 30))]
    out.append(section("*Before → after*", fields=[
        "*Before*\n" + _code(_json(plan.get("before") or {}), MAX_FIELD - 20),
        "*After*\n" + _code(_json(plan.get("after") or {}), MAX_FIELD - 20),
    ]))
    return out


# ---------------------------------------------------------------- the modal
def _modal(blocks: Sequence[Block], submit: bool = False, metadata: str = "") -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": ids.REMEDIATE_MODAL,
        "title": plain("Remediate", 24),
        "close": plain("Cancel" if submit else "Close", 24),
        "blocks": list(blocks),
    }
    if submit:
        view["submit"] = plain("Request approval", 24)
        view["private_metadata"] = clip(metadata, 3000)
    check_limits(view["blocks"])
    return view


def planning_modal(finding: Mapping[str, Any]) -> Block:
    """Shown at once (a trigger_id lives 3 s); replaced by the plan when it is read from the account."""
    return _modal([finding_summary(finding),
                   context(":hourglass_flowing_sand: Reading the resource's current settings to plan the change…")])


def plan_modal(finding: Mapping[str, Any], plan: Mapping[str, Any], approvers: str, expiry_hours: int,
               metadata: str) -> Block:
    return _modal([
        finding_summary(finding), *plan_blocks(plan),
        context(f"Nothing changes until an approver other than you approves ({approvers}). "
                f"The request expires after {expiry_hours} h; the plan is checked again before it is applied."),
    ], submit=True, metadata=metadata)


def plan_problem_modal(finding: Mapping[str, Any], problem: str, already_compliant: bool = False) -> Block:
    text = (f":white_check_mark: *Nothing to do*: {escape(problem)}" if already_compliant
            else f":warning: *Cannot plan this remediation*\n{escape(problem)}")
    return _modal([finding_summary(finding), section(text)])


# ---------------------------------------------------------------- the approval request
def status_line(request: Mapping[str, Any]) -> str:
    state = request["state"]
    icon = ICON.get(state, "")
    message = escape(request.get("message") or "")
    by = who(request.get("decided_by"))
    if state == remediations.REQUESTED:
        return f"{icon} Waiting for approval; expires {request['expires_at'][:16].replace('T', ' ')} UTC"
    if state == remediations.APPROVED:
        return f"{icon} Approved by {by}; applying…"
    if state == remediations.VERIFIED:
        return f"{icon} Remediated and verified by a rescan (approved by {by})"
    if state == remediations.NOOP:
        return f"{icon} No-op: the resource was already compliant (approved by {by})"
    if state == remediations.UNDONE:
        if request.get("kind") == "undo":
            return f"{icon} Undone: the previous state is restored (approved by {by}); the finding is open again"
        return f"{icon} Remediated, then undone"
    if state == remediations.FAILED:
        if message.startswith("refused"):
            return f":no_entry: Not applied (approved by {by}): {message}. The finding stays open."
        return f"{icon} Failed (approved by {by}): {message}. The finding stays open."
    if state == remediations.REJECTED:
        return f"{icon} Rejected by {by}" + (f": {message}" if message and message != "rejected" else "")
    if state == remediations.EXPIRED:
        return f"{icon} Expired at {request['expires_at'][:16].replace('T', ' ')} UTC without approval; nothing changed"
    return f"{icon} {state}"


def approval_message(request: Mapping[str, Any], finding: Mapping[str, Any]) -> Message:
    kind = "Undo" if request["kind"] == "undo" else "Remediation"
    blocks = [
        header(f"{kind} request {request['id']}: approval needed"
               if request["state"] == remediations.REQUESTED else f"{kind} request {request['id']}"),
        finding_summary(finding),
        section(f"*Requested by* {who(request['requested_by'])} · four-eyes: the requester cannot approve"),
        *plan_blocks(request["plan"]),
        context(status_line(request)),
    ]
    if request["state"] == remediations.REQUESTED:
        value = remediations.button_value(request)  # bound to this request by its own token
        blocks.extend(actions([button("Approve", ids.APPROVE, value, "primary"),
                               button("Reject", ids.REJECT, value, "danger")], block_id=f"r-{request['id']}"))
    check_limits(blocks)
    text = (f"{kind} request {request['id']} for finding #{finding['number']} ({finding['title']}) by "
            f"{request['requested_by']}: {request['state']}")
    return Message(text, blocks)


def finding_note(request: Mapping[str, Any]) -> str:
    """The line added to the finding's own message."""
    label = "Undo" if request["kind"] == "undo" else "Remediation"
    if request["state"] == remediations.REQUESTED:
        return (f":hourglass_flowing_sand: {label} requested by {who(request['requested_by'])} "
                f"(request {request['id']}), waiting for approval")
    return f"{label} request {request['id']}: {status_line(request)}"
