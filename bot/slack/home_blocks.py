"""Block Kit for the App Home and its modals, as pure functions of what bot/slack/home.py gathered.

The Home tab reads at a glance: a bar per framework (controls passing) and per severity (share of the open
findings), drawn with block characters in code spans so they line up in Slack's fixed-width font, then one entry
per account with its open findings and last scan. Everything from a cloud or a configuration goes through
``escape()`` / ``code()``; the limits are checked by ``check_limits`` like every other builder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skywarden.bot.slack import ids
from skywarden.bot.slack.blocks import (
    MAX_VIEW_BLOCKS,
    SEVERITY_ICON,
    Block,
    actions,
    button,
    check_limits,
    clip,
    code,
    context,
    divider,
    escape,
    escape_entities,
    failure_headline,
    header,
    mention,
    plain,
    section,
    severity_label,
    text_sections,
)
from skywarden.rules.model import SEVERITIES

BAR_WIDTH = 12  # characters: with the label and count it stays within a phone's width in a code span
FULL, EMPTY = "\u2593", "\u2591"  # ▓ ░
MAX_HOME_ACCOUNTS = 40  # entries on the Home tab; more are named by a count and the command that lists them
MODAL_FINDINGS = 20  # findings in the "Open findings" modal (2 blocks each, far below a modal's 100)
MAX_OPTIONS = 100  # Slack's limit for a static_select
MAX_OPTION_VALUE = 150
CLOUD_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}
HOME_BUTTONS_BLOCK = "home-buttons"


@dataclass(frozen=True)
class AccountLine:
    """One account on the Home tab: its open findings per severity and the last scan that reached it."""

    account_id: str
    name: str
    provider: str | None
    counts: Mapping[str, int]
    last_scan: Mapping[str, Any] | None  # storage.scans.last_scan_per_account's row


@dataclass(frozen=True)
class HomeData:
    user: str | None
    updated_at: datetime
    scope: str  # "every account", or "2 accounts you may see"
    by_severity: Mapping[str, int] = field(default_factory=dict)
    accounts: Sequence[AccountLine] = ()
    postures: Sequence[Mapping[str, Any]] = ()
    expiring: Sequence[Mapping[str, Any]] = ()
    no_access: str | None = None  # why this user may see nothing (the whole view explains it instead)
    metadata: str = ""  # private_metadata: carried back by the buttons (the user's App Home channel)


@dataclass(frozen=True)
class ScanChoice:
    value: str  # "<provider>|<account id or *>"
    label: str  # raw; escaped when shown


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``fraction`` (0..1) as a bar of ``width`` characters; anything above zero shows at least one block, and
    anything short of everything leaves at least one empty, so 1% and 99% never read as 0% and 100%."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    if fraction > 0:
        filled = max(1, filled)
    if fraction < 1:
        filled = min(width - 1, filled)
    return FULL * filled + EMPTY * (width - filled)


def _percent(value: float) -> str:
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"


def _cloud(provider: str | None) -> str:
    return CLOUD_NAMES.get(provider or "", escape(provider or "cloud"))


def _when(iso: str | None) -> str:
    if not iso:
        return "unknown time"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return escape(iso[:25])


def severity_lines(by_severity: Mapping[str, int]) -> list[str]:
    total = sum(by_severity.values())
    if not total:
        return [":white_check_mark: *No open findings* in the accounts you may see."]
    lines = [f"*Open findings: {total}*"]
    for severity in SEVERITIES:
        n = by_severity.get(severity, 0)
        lines.append(f"{SEVERITY_ICON[severity]} `{severity:<8} {bar(n / total)} {n:>5}`")
    return lines


def posture_lines(postures: Sequence[Mapping[str, Any]]) -> list[str]:
    """Weakest framework first (then by name): what needs attention is at the top."""
    lines = ["*Compliance posture*: controls passing per framework"]
    for view in sorted(postures, key=lambda v: (v["percent"], str(v["name"]))):
        checked = view["controls_checked"]
        lines.append(
            f"*{escape(view['name'])}*  {code(view['framework'])}\n"
            f"`{bar(view['passing'] / checked if checked else 0)} {_percent(view['percent']):>6}`  "
            f":white_check_mark: {view['passing']} passing · :x: {view['failing']} failing · "
            f":grey_question: {view['not_evaluated']} not evaluated (of {checked})")
    return lines


def account_lines(accounts: Sequence[AccountLine]) -> list[str]:
    lines = [f"*Accounts* ({len(accounts)})"]
    for account in accounts[:MAX_HOME_ACCOUNTS]:
        name = (f"*{escape(account.name)}* {code(account.account_id)}" if account.name != account.account_id
                else code(account.account_id))
        open_n = sum(account.counts.values())
        findings = ("  ".join(f"{SEVERITY_ICON.get(s, '')} {account.counts[s]} {s}" for s in SEVERITIES
                              if account.counts.get(s)) if open_n else ":white_check_mark: no open findings")
        scan = account.last_scan
        if scan is None:
            last = "no scan yet"
        else:
            gaps = int(scan.get("gaps") or 0)
            coverage = (f":warning: {gaps} of {scan.get('units')} coverage unit(s) failed" if gaps
                        else "full coverage")
            last = (f"last scan #{scan['scan_id']} {escape(scan['status'])}, {_when(scan.get('started_at'))}, "
                    f"{coverage}")
        lines.append(f"• {name} · {_cloud(account.provider)}\n      {findings}\n      {last}")
    if len(accounts) > MAX_HOME_ACCOUNTS:
        lines.append(f"_{len(accounts) - MAX_HOME_ACCOUNTS} more account(s): `/warden status`, "
                     "`/warden findings &lt;account&gt;`_")
    return lines


def expiring_lines(expiring: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"*Suppressions expiring within 7 days*: {len(expiring)}"] + [
        f"• `{e['id']}` {code(e['rule_id'])} on {escape(e['resource_id'] or e['account_id'])} until "
        f"{(e['expires_at'] or '')[:10] or 'no expiry'}: {escape(e['reason'])}" for e in expiring]


def home_buttons(with_scan: bool = True) -> list[Block]:
    buttons = []
    if with_scan:
        buttons += [button("Scan", ids.HOME_SCAN, "scan", style="primary"),
                    button("Open findings", ids.HOME_FINDINGS, "findings")]
    buttons.append(button("Refresh", ids.HOME_REFRESH, "refresh"))
    return actions(buttons, block_id=HOME_BUTTONS_BLOCK)


def home_view(data: HomeData) -> Block:
    """The Home tab of one user: bars, accounts, expiring suppressions; or, for a user who may see nothing,
    why, and what to ask for."""
    blocks: list[Block] = [header("Skywarden security posture")]
    stamp = f"{data.updated_at:%Y-%m-%d %H:%M} UTC"
    if data.no_access:
        blocks.append(section(f":lock: *Nothing to show you yet.* {escape(data.no_access)}.\nAsk whoever runs "
                              "Skywarden to grant you accounts in `permissions.read` (or `permissions.scan`) in "
                              "skywarden.yml; this page then shows their posture, findings and scans."))
        blocks.append(context(f"Updated {stamp}"))
        blocks.extend(home_buttons(with_scan=False))
        return _view(blocks, data.metadata)
    who = f"{mention(data.user)}: " if data.user else ""
    blocks.append(context(f"{who}{escape(data.scope)} · updated {stamp}"))
    blocks.extend(home_buttons())
    blocks.append(divider())
    blocks.extend(text_sections(severity_lines(data.by_severity)))
    blocks.append(divider())
    if data.postures:
        blocks.extend(text_sections(posture_lines(data.postures)))
        blocks.append(context("A control fails while one of its rules has an open finding; it is not evaluated "
                              "while nothing it checks was ever collected."))
    else:
        blocks.append(context("No framework control is checked by the loaded rules."))
    blocks.append(divider())
    if data.accounts:
        blocks.extend(text_sections(account_lines(data.accounts)))
    else:
        blocks.append(context("No account has been scanned yet: press *Scan*, or `/warden scan aws`."))
    blocks.append(divider())
    if data.expiring:
        blocks.extend(text_sections(expiring_lines(data.expiring)))
    else:
        blocks.append(context("No suppression expires within 7 days."))
    return _view(blocks, data.metadata)


def _view(blocks: list[Block], metadata: str) -> Block:
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = blocks[: MAX_VIEW_BLOCKS - 1] + [context("(truncated: `/warden status`, `/warden findings`)")]
    check_limits(blocks, MAX_VIEW_BLOCKS)
    return {"type": "home", "blocks": blocks, "private_metadata": clip(metadata, 3000)}


# ---------------------------------------------------------------- modals
def _modal(title: str, blocks: list[Block], **extra: Any) -> Block:
    check_limits(blocks, MAX_VIEW_BLOCKS)
    return {"type": "modal", "title": plain(title, 24), "close": plain("Close", 24), "blocks": blocks, **extra}


def notice_modal(title: str, text: str) -> Block:
    """A sentence in a modal (a refusal, or where a scan's results will go); plain text: it may quote anything."""
    return _modal(title, [{"type": "section", "text": plain(escape_entities(text))}])


def scan_result_modal(text: str, where: str | None) -> Block:
    """What became of a scan asked for from the Home tab: the command's own answer (plain: it quotes the
    scope), then, when a scan was submitted, where its results will be posted (mrkdwn built by home.py)."""
    blocks: list[Block] = [{"type": "section", "text": plain(escape_entities(text))}]
    if where:
        blocks.append(section(where))
    return _modal("Scan", blocks)


def scan_modal(choices: Sequence[ScanChoice], private_metadata: str) -> Block:
    shown = [c for c in choices if len(c.value) <= MAX_OPTION_VALUE][:MAX_OPTIONS]
    options = [{"text": plain(escape_entities(c.label), 75), "value": c.value} for c in shown]
    element: Block = {"type": "static_select", "action_id": ids.SCAN_TARGET[1], "options": options,
                      "placeholder": plain("Choose an account", 150)}
    if len(options) == 1:
        element["initial_option"] = options[0]
    blocks: list[Block] = [
        section("The scan runs in the background, exactly like `/warden scan`; its results go to the channels "
                "the account is routed to (you will be told which), and this page is refreshed when it ends."),
        {"type": "input", "block_id": ids.SCAN_TARGET[0], "label": plain("What to scan", 2000), "element": element},
    ]
    if len(choices) > len(shown):
        blocks.append(context(f"{len(choices) - len(shown)} more: `/warden scan &lt;provider&gt; &lt;account&gt;`"))
    return _modal("Scan", blocks, callback_id=ids.SCAN_MODAL, submit=plain("Scan", 24),
                  private_metadata=clip(private_metadata, 3000))


def findings_modal(findings: Sequence[Mapping[str, Any]], total: int, names: Mapping[str, str]) -> Block:
    """The user's readable open findings, most severe first, each with its number, ids and evidence; the rest
    are counted, with the command that pages through them. Read-only: decisions stay on the finding messages."""
    if not total:
        return _modal("Open findings", [section(":white_check_mark: No open findings in the accounts you may see.")])
    blocks: list[Block] = [section(f"*{total} open finding(s)* in the accounts you may see, most severe first.")]
    for finding in findings[:MODAL_FINDINGS]:
        account = finding["account_id"]
        where = (f"{escape(names.get(account, account))} {code(account)}" if names.get(account, account) != account
                 else code(account))
        text = (f"{severity_label(finding['severity'])}  `#{finding['number']}`  "
                f"*{escape(failure_headline(finding))}*\n"
                f"{escape(finding['title'])} {code(finding['rule_id'])}\n"
                f"{where} / {escape(finding['region'])} · {code(finding['resource_id'])}")
        if finding.get("state") == "acknowledged":
            text += "\n:eyes: acknowledged"
        if finding.get("detail"):
            text += f"\n*Evidence*: {escape(clip(str(finding['detail']), 600))}"
        blocks.append(section(text))
        blocks.append(divider())
    if blocks[-1]["type"] == "divider":
        blocks.pop()
    more = total - min(len(findings), MODAL_FINDINGS)
    if more > 0:
        blocks.append(context(f"{more} more: use `/warden findings page 2`, or narrow it: "
                              "`/warden findings &lt;account&gt; &lt;severity&gt;`"))
    return _modal("Open findings", blocks)
