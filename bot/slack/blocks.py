"""Block Kit as pure functions from findings to blocks; Slack's limits are enforced here and nowhere else.

Limits (api.slack.com/reference/block-kit): 50 blocks per message, 100 per modal or Home tab; 3,000
characters per section text, 2,000 per field (10 fields), 150 per header, 75 per button label, 2,000 per
button value; 25 elements per actions block, 10 per context block. A builder never fails on size: it clips
text and pages long lists into several messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from skywarden.bot.slack import ids

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK = 3000  # the notification text; Slack allows more, but nobody reads it

SEVERITY_ICON = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                 "low": ":large_blue_circle:", "info": ":white_circle:"}
Block = dict[str, Any]
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class BlockLimitError(ValueError):
    """A block list breaks a Slack limit (only raised by check_limits, for tests and assertions)."""


@dataclass
class Message:
    text: str
    blocks: list[Block]

    def payload(self) -> dict[str, Any]:
        # ``text`` is kept raw (plain words, never mrkdwn) and escaped here, once: Slack parses it for mentions
        # and links like any message text, so an echoed `<!channel>` would ping the channel. With blocks present it
        # is only the notification, which shows no formatting, so `*` and `_` may stay as typed.
        return {"text": escape_entities(clip(self.text, MAX_FALLBACK)), "blocks": self.blocks}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not turn bare URLs or #names from resource data into links on its own.
    return {"type": "mrkdwn", "text": clip(text, MAX_TEXT), "verbatim": True}


def plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


# mrkdwn has no escape character, so its markers in untrusted text become look-alikes that Slack leaves alone.
_MRKDWN_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def escape_entities(text: str) -> str:
    """Slack's three control characters only (for text inside code spans and blocks, where markers are inert)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: Any) -> str:
    """THE escape for text from Slack users or cloud resources placed in mrkdwn (and the fallback ``text``):
    no mention, link or broadcast can survive (`<`, `>`, `&`), and no `*bold*`, `_italic_`, `~strike~` or
    `code` marker either. Our own formatting goes around the escaped text, never through it."""
    return escape_entities(str(text)).translate(_MRKDWN_LOOKALIKES)


def code(text: Any) -> str:
    """Untrusted text as inline code: formatting is inert there, but links and mentions are not, and a backtick
    would end the span early."""
    return "`" + escape_entities(str(text)).replace("`", "\u02cb") + "`"


def section(text: str, fields: Sequence[str] = (), accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, MAX_FIELD)} for f in fields[:MAX_FIELDS]]
    if accessory:
        block["accessory"] = accessory
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id,
                      "value": clip(value, MAX_VALUE)}
    if style:
        element["style"] = style
    return element


def actions(buttons: Sequence[Block], block_id: str | None = None) -> list[Block]:
    """One actions block per 25 buttons (block ids must be unique per message, so they get a suffix)."""
    out = []
    for start in range(0, len(buttons), MAX_ACTION_ELEMENTS):
        block: Block = {"type": "actions", "elements": list(buttons[start : start + MAX_ACTION_ELEMENTS])}
        if block_id:
            block["block_id"] = f"{block_id}-{start // MAX_ACTION_ELEMENTS}" if start else block_id
        out.append(block)
    return out


def text_sections(lines: Iterable[str], limit: int = MAX_TEXT) -> list[Block]:
    """Pack lines into as few sections as the 3,000-character limit allows."""
    out: list[Block] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            out.append(section(current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(section(current))
    return out


def paginate(groups: Sequence[Sequence[Block]], max_blocks: int = MAX_BLOCKS,
             head: Sequence[Block] = ()) -> list[list[Block]]:
    """Pack groups of blocks (a finding is a group: never split) into pages of at most max_blocks."""
    pages: list[list[Block]] = []
    page: list[Block] = list(head)
    for group in groups:
        group = list(group)[:max_blocks]
        if len(page) + len(group) > max_blocks and page:
            pages.append(page)
            page = []
        page.extend(group)
    if page or not pages:
        pages.append(page)
    return pages


def check_limits(blocks: Sequence[Block], max_blocks: int = MAX_BLOCKS) -> None:
    if len(blocks) > max_blocks:
        raise BlockLimitError(f"{len(blocks)} blocks > {max_blocks}")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        if block.get("block_id"):
            if block["block_id"] in seen_ids:
                raise BlockLimitError(f"block {index}: duplicate block_id {block['block_id']}")
            seen_ids.add(block["block_id"])
        kind = block["type"]
        if kind == "section":
            if len(block["text"]["text"]) > MAX_TEXT:
                raise BlockLimitError(f"block {index}: section text over {MAX_TEXT}")
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS or any(len(f["text"]) > MAX_FIELD for f in fields):
                raise BlockLimitError(f"block {index}: fields over the limits")
        elif kind == "header" and len(block["text"]["text"]) > MAX_HEADER:
            raise BlockLimitError(f"block {index}: header over {MAX_HEADER}")
        elif kind == "actions":
            if len(block["elements"]) > MAX_ACTION_ELEMENTS:
                raise BlockLimitError(f"block {index}: {len(block['elements'])} elements > {MAX_ACTION_ELEMENTS}")
            for element in block["elements"]:
                if len(element["text"]["text"]) > MAX_BUTTON_TEXT or len(element.get("value", "")) > MAX_VALUE:
                    raise BlockLimitError(f"block {index}: button over the limits")
        elif kind == "context" and len(block["elements"]) > MAX_CONTEXT_ELEMENTS:
            raise BlockLimitError(f"block {index}: context over {MAX_CONTEXT_ELEMENTS} elements")


# ---------------------------------------------------------------- findings
def severity_label(severity: str) -> str:
    return f"{SEVERITY_ICON.get(severity, '')} *{severity.upper()}*".strip()


def _frameworks_text(frameworks: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{escape(key)} {escape(', '.join(ids_))}" for key, ids_ in sorted(frameworks.items())) or "none"


def _day(iso: str | None) -> str:
    return iso[:10] if iso else "no expiry"


def mention(user: str | None) -> str:
    """A Slack user id becomes a mention; anything else (a console user, a CLI name) is shown as text."""
    if not user:
        return "someone"
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape(user)


def is_user_id(user: str | None) -> bool:
    return bool(user) and _USER_ID.fullmatch(str(user)) is not None


def channel_ref(channel: str | None) -> str:
    """A Slack channel id becomes a channel link; anything else (a #name from the configuration) is text."""
    if not channel:
        return "a channel"
    return f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else escape(channel)


def undeliverable_notice(channel: str, error: str, dropped: int) -> Message:
    """Told to whoever asked, when Slack refuses a channel: what happened and the one step that fixes it."""
    where = channel_ref(channel)
    if error == "not_in_channel":
        fix = f"Invite me there with `/invite @Skywarden` (in {where}), then run the scan again."
    else:
        fix = ("Check the channel id in skywarden.yml (routes, default_channel); if it is private, "
               "invite me with `/invite @Skywarden` first.")
    text = (f":warning: I could not post {dropped} message(s) to {where}: Slack answered {code(error)}. "
            f"Nothing is lost: the findings are stored and `/warden findings` lists them. {fix}")
    fallback = f"Could not post to {channel}: {error}. Invite the bot with /invite @Skywarden."
    return Message(fallback, [section(text)])


def state_line(finding: Mapping[str, Any], exception: Mapping[str, Any] | None = None) -> str:
    state = finding["state"]
    who = finding.get("state_changed_by") or "system"
    who_text = mention(who)
    if state == "acknowledged":
        return f":eyes: Acknowledged by {who_text} on {_day(finding['state_changed_at'])}"
    if state == "suppressed":
        if exception:
            origin = " (suppressions.yml)" if exception["source"] == "code" else ""
            by = exception["created_by"]
            by_text = mention(by)
            scope = "this rule in the account" if exception["scope"] == "rule" else "this resource"
            return (f":zipper_mouth_face: Suppressed by {by_text}{origin} until {_day(exception['expires_at'])}"
                    f" ({scope}): {escape(exception['reason'])}")
        return f":zipper_mouth_face: Suppressed by {who_text}"
    if state in ("resolved", "remediated"):
        when = finding.get("resolved_at") or finding["state_changed_at"]
        return f":white_check_mark: {state.capitalize()} on {_day(when)}"
    if finding.get("reopened_count"):
        return f":repeat: Open again (reopened {finding['reopened_count']}×)"
    return ":new: Open"


def finding_buttons(finding: Mapping[str, Any], remediation_action: str | None) -> list[Block]:
    state = finding["state"]
    buttons: list[Block] = []
    if state == "open":
        buttons.append(button("Acknowledge", ids.ACKNOWLEDGE, finding["id"]))
    if state in ("open", "acknowledged"):
        buttons.append(button("Suppress", ids.SUPPRESS, finding["id"]))
    if remediation_action and state in ("open", "acknowledged"):
        buttons.append(button("Remediate", ids.REMEDIATE, finding["id"], style="primary"))
    if remediation_action and state == "remediated":
        buttons.append(button("Undo", ids.UNDO, finding["id"]))
    return buttons


def failure_headline(finding: Mapping[str, Any]) -> str:
    """What is wrong, in words (raw): the rule's `failure:` headline stored with the finding, or, for a finding
    stored before headlines existed, the resource and the rule title."""
    name = finding.get("resource_name") or finding["resource_id"]
    return finding.get("failure") or f"{name} fails: {finding['title']}"


def finding_blocks(
    finding: Mapping[str, Any],
    guidance: str = "",
    remediation_action: str | None = None,
    exception: Mapping[str, Any] | None = None,
    note: str | None = None,
    with_buttons: bool = True,
) -> list[Block]:
    """One finding, failure first (read on a phone, the first line must say what is wrong, not the passing
    condition): headline, then rule title, severity, resource, account/region, controls, evidence, fix, state."""
    name = escape(finding.get("resource_name") or finding["resource_id"])
    active = finding["state"] not in ("resolved", "remediated")
    if active:
        icon = SEVERITY_ICON.get(finding["severity"], "")
        headline = f"{icon} *{escape(failure_headline(finding))}*  `#{finding['number']}`".strip()
    else:  # the stored headline describes the past failure: say so, or a fixed finding reads as still broken
        headline = (f":white_check_mark: *{finding['state'].capitalize()}:* was {escape(failure_headline(finding))}"
                    f"  `#{finding['number']}`")
    blocks = [
        section(headline, fields=[
            f"*Rule*\n{escape(finding['title'])}\n{code(finding['rule_id'])}",
            f"*Severity*\n{severity_label(finding['severity'])}",
            f"*Resource*\n{name}\n{code(finding['resource_id'])}",
            f"*Account / region*\n{escape(finding['account_id'])} / {escape(finding['region'])}",
            f"*Controls*\n{_frameworks_text(finding.get('frameworks') or {})}",
        ]),
    ]
    if finding.get("detail") and active:
        blocks.append(section(f"*Evidence*\n{escape(finding['detail'])}"))
    if guidance and active:
        blocks.append(section(f"*Remediation*\n{escape(guidance)}"))
    lines = [state_line(finding, exception)]
    if note:
        lines.append(note)
    blocks.append(context(*lines))
    if with_buttons:
        blocks.extend(actions(finding_buttons(finding, remediation_action), block_id=f"f-{finding['id']}"))
    return blocks


def finding_message(finding: Mapping[str, Any], **kwargs: Any) -> Message:
    # The notification a phone shows: the failure, then the rule; the evidence only when still failing.
    text = f"{failure_headline(finding)} [{finding['severity']}] {finding['title']}"
    if finding["state"] in ("resolved", "remediated"):
        text = f"{finding['state'].capitalize()}: was {text}"
    elif finding.get("detail"):
        text += f": {finding['detail']}"
    blocks = finding_blocks(finding, **kwargs)
    check_limits(blocks)
    return Message(text, blocks)


GROUP_EVENT = "skywarden_finding_group"  # message metadata of a grouped message: which findings it shows
GROUP_SIZE = 20  # resources per grouped message: 2 blocks each + 3 head blocks stays under 50


def finding_group_message(findings: Sequence[Mapping[str, Any]], guidance: str = "",
                          remediation_action: str | None = None, part: int = 1, parts: int = 1) -> Message:
    """One rule's findings in one message (a large first scan): the rule once, then per resource a line and its
    own buttons. Carries the finding ids as message metadata, so a decision re-renders the whole group."""
    first = findings[0]
    suffix = f" (part {part} of {parts})" if parts > 1 else ""
    icon = SEVERITY_ICON.get(first["severity"], "")
    blocks = [
        section(f"{icon} *{escape(first['title'])}*  {code(first['rule_id'])}\n"
                f"{severity_label(first['severity'])}: {len(findings)} resource(s){escape(suffix)}\n"
                f"*Controls*: {_frameworks_text(first.get('frameworks') or {})}".strip()),
    ]
    if guidance:
        blocks.append(section(f"*Remediation*\n{escape(clip(guidance, 1500))}"))
    blocks.append(divider())
    for finding in findings[:GROUP_SIZE]:
        name = escape(finding.get("resource_name") or finding["resource_id"])
        line = (f"*{name}*  `#{finding['number']}`  {escape(finding['account_id'])} / {escape(finding['region'])}\n"
                f"{code(finding['resource_id'])}")
        if finding.get("detail"):
            line += f"\n{escape(clip(str(finding['detail']), 500))}"
        if finding["state"] != "open":
            line += f"\n{state_line(finding)}"
        blocks.append(section(line))
        blocks.extend(actions(finding_buttons(finding, remediation_action), block_id=f"f-{finding['id']}"))
    check_limits(blocks)
    text = f"[{first['severity']}] {first['title']}: {len(findings)} resource(s){suffix}"
    return Message(text, blocks)


def group_metadata(findings: Sequence[Mapping[str, Any]], part: int = 1, parts: int = 1) -> dict[str, Any]:
    return {"event_type": GROUP_EVENT,
            "event_payload": {"findings": [f["id"] for f in findings], "part": part, "parts": parts}}


def grouped_ids(payload: Mapping[str, Any]) -> tuple[list[str], int, int]:
    """(finding ids, part, parts) of a grouped message's payload; no ids for a one-finding message."""
    metadata = payload.get("metadata") or {}
    if metadata.get("event_type") != GROUP_EVENT:
        return [], 1, 1
    event = metadata.get("event_payload") or {}
    return [str(fid) for fid in event.get("findings", [])], int(event.get("part", 1)), int(event.get("parts", 1))


# ---------------------------------------------------------------- digest
_CLOUD_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}

def digest_messages(
    scan_id: int,
    accounts: Sequence[str],
    severity_counts: Mapping[str, int],
    new: int,
    reopened: int,
    resolved: int,
    gaps: Sequence[Mapping[str, Any]],
    posted: int,
    threaded: bool,
    status: str,
    provider: str | None = None,
    top_rules: Sequence[tuple[str, str, str, int]] = (),
) -> list[Message]:
    """``top_rules``: (title, rule id, severity, resources) of a large scan's most pressing rules, listed first."""
    from skywarden.rules.model import SEVERITIES

    cloud = f" {_CLOUD_NAMES.get(provider, provider)}" if provider else ""
    head = [
        header(f"Skywarden{cloud} scan #{scan_id}: {status}"),
        section(
            f"*Accounts*: {escape(', '.join(accounts)) or 'none'}\n"
            f"*Open findings by severity*: "
            + ", ".join(f"{SEVERITY_ICON[s]} {s} {severity_counts.get(s, 0)}" for s in SEVERITIES)
            + f"\n*Since the last scan*: {new} new, {reopened} reopened, {resolved} resolved"
        ),
    ]
    if posted:
        head.append(context(f"{posted} finding(s) to look at {'in this thread' if threaded else 'below'}."))
    else:
        head.append(context("Nothing new to decide on."))
    gap_blocks: list[Block] = []
    if gaps:
        lines = [f"*Coverage gaps ({len(gaps)})*: these were not checked, so nothing there was resolved"]
        lines += [f"• {escape(g['account_id'])} {escape(g['service'])} {escape(g['region'])}: "
                  f"{escape(g.get('error_class'))}: {escape(clip(str(g.get('message') or ''), 300))}" for g in gaps]
        gap_blocks = text_sections(lines)
    if top_rules:
        lines = ["*Top findings by rule*"] + [
            f"{SEVERITY_ICON.get(severity, '')} {escape(title)} {code(rule_id)}: {count} resource(s)"
            for title, rule_id, severity, count in top_rules]
        gap_blocks = text_sections(lines) + gap_blocks
    pages = paginate([[b] for b in gap_blocks], head=head)
    messages = []
    for number, page in enumerate(pages, 1):
        suffix = f" (part {number} of {len(pages)})" if len(pages) > 1 else ""
        check_limits(page)
        messages.append(Message(f"Skywarden scan #{scan_id}: {new} new, {resolved} resolved{suffix}", page))
    return messages


# ---------------------------------------------------------------- command replies
def findings_list(
    findings: Sequence[Mapping[str, Any]],
    rules: Mapping[str, Any],
    total: int,
    page: int,
    per_page: int,
    title: str,
) -> Message:
    """One page of a findings listing; each finding in 2 blocks, so 20 per page stays under 50 blocks."""
    pages = max(1, -(-total // per_page))
    blocks = [section(f"*{escape(title)}*: {total} finding(s)" + (f", page {page} of {pages}" if pages > 1 else ""))]
    for finding in findings:
        rule = rules.get(finding["rule_id"])
        action = getattr(rule, "remediation_action", None)
        blocks.append(section(
            f"{severity_label(finding['severity'])} `#{finding['number']}` {escape(failure_headline(finding))}\n"
            f"{escape(finding['title'])} · {escape(finding['account_id'])} / "
            f"{escape(finding['region'])} · {finding['state']}"
        ))
        buttons = finding_buttons(finding, action)
        if buttons:
            blocks.extend(actions(buttons, block_id=f"f-{finding['id']}"))
    if page < pages:
        blocks.append(context(f"More: add `page {page + 1}`, or narrow by account and severity."))
    check_limits(blocks)
    return Message(f"{total} finding(s)", blocks)


def suppressions_list(exceptions: Sequence[Mapping[str, Any]], limit: int = 45) -> Message:
    if not exceptions:
        return Message("No active suppressions", [section("No active suppressions.")])
    blocks = [section(f"*Active suppressions*: {len(exceptions)}")]
    for exception in exceptions[:limit]:
        target = exception["resource_id"] or f"every resource in {exception['account_id']}"
        by_text = mention(exception["created_by"])
        text = (f"`{exception['id']}` {code(exception['rule_id'])} on {escape(target)}\n"
                f"by {by_text} until {_day(exception['expires_at'])}: {escape(exception['reason'])}")
        if exception["source"] == "code":
            blocks.append(section(text + "\n_kept as code in suppressions.yml_"))
        else:
            blocks.append(section(text, accessory=button("Revoke", ids.REVOKE, str(exception["id"]), "danger")))
    if len(exceptions) > limit:
        blocks.append(context(f"and {len(exceptions) - limit} more"))
    check_limits(blocks)
    return Message(f"{len(exceptions)} active suppression(s)", blocks)


def usage(problem: str | None = None) -> Message:
    lines = [
        f"*Usage*: `{ids.COMMAND} <command>` or mention me",
        "• `scan aws [account] [region ...]`: scan in the background, results to the team channels",
        "• `status`: recent scans and their coverage gaps",
        "• `schedule add aws <account|all> \"0 6 * * 1-5\" [#channel] [--tz Zone]` · `schedule list` · "
        "`schedule remove|pause|resume <id>`: scheduled scans",
        "• `findings [account] [severity] [page N]`: open findings",
        "• `posture [framework]`: controls passing and failing per framework",
        "• `suppressions`: active suppressions, with Revoke",
        "• `ack <n>` · `suppress <n> --reason \"...\" [--days N] [--scope rule]` · `revoke <id>` · `remediate <n>`",
        "• `approve <request>` · `reject <request>` · `undo <n>`: remediation approvals (four-eyes)",
        "• `help`: this message",
    ]
    body = section("\n".join(escape_entities(line) for line in lines))  # `<n>` placeholders would be links
    if not problem:
        return Message("usage", [body])
    # The problem often quotes what was typed: plain text, like a notice.
    return Message(problem, [{"type": "section", "text": plain(escape_entities(f":warning: {problem}"))}, body])


def scan_progress(scope: str, done: int, total: int) -> Message:
    """The "scan running" reply as collection advances; ``scope`` is what the person typed: plain text."""
    if done >= total:
        return notice(f"Scan of {scope}: {done} of {total} units collected; evaluating the rules, "
                      "results will be posted shortly.")
    return notice(f"Scan of {scope} running: {done} of {total} units collected; "
                  "results will be posted when it finishes.")


def notice(text: str) -> Message:
    """A sentence for the person; it often quotes what they typed, so it is plain text: nothing in it formats,
    links or mentions."""
    return Message(text, [{"type": "section", "text": plain(escape_entities(text))}])


# ---------------------------------------------------------------- modals
def suppress_modal(finding: Mapping[str, Any], today: date, default_days: int, max_days: int,
                   private_metadata: str) -> Block:
    return {
        "type": "modal",
        "callback_id": ids.SUPPRESS_MODAL,
        "private_metadata": clip(private_metadata, 3000),
        "title": plain("Suppress finding", 24),
        "submit": plain("Suppress", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(f"{severity_label(finding['severity'])} `#{finding['number']}` {escape(finding['title'])}\n"
                    f"{escape(finding.get('resource_name') or finding['resource_id'])} · "
                    f"{escape(finding['account_id'])}"),
            {"type": "input", "block_id": ids.REASON[0], "label": plain("Why is this acceptable?"),
             "element": {"type": "plain_text_input", "action_id": ids.REASON[1], "multiline": True,
                         "max_length": 1000}},
            {"type": "input", "block_id": ids.UNTIL[0], "label": plain(f"Until (at most {max_days} days)"),
             "element": {"type": "datepicker", "action_id": ids.UNTIL[1],
                         "initial_date": (today + timedelta(days=default_days)).isoformat()}},
            {"type": "input", "block_id": ids.SCOPE[0], "label": plain("Scope"),
             "element": {"type": "radio_buttons", "action_id": ids.SCOPE[1],
                         "initial_option": _option("This resource", ids.SCOPE_RESOURCE),
                         "options": [_option("This resource", ids.SCOPE_RESOURCE),
                                     _option(f"This rule in account {escape_entities(finding['account_id'])}",
                                             ids.SCOPE_RULE)]}},
        ],
    }


def _option(text: str, value: str) -> Block:
    return {"text": plain(text, 75), "value": value}
