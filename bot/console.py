"""``skywarden chat``: the bot's command and button handlers in a terminal, like Hubot's shell adapter.

Replies are the same Block Kit messages Slack would get, rendered as text; buttons become numbered actions
(``ack 3``, ``suppress 3 --reason "..."``, ``remediate 3``). Scan results are printed instead of posted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from skywarden.bot import commands
from skywarden.bot.core.ports import FlushResult
from skywarden.bot.slack import blocks, ids
from skywarden.bot.slack.posting import render_finding
from skywarden.bot.wiring import attach_publisher
from skywarden.storage.findings import OPEN
from skywarden.storage.suppressions import ExceptionSync, find_finding

if TYPE_CHECKING:
    from skywarden.bot.core.orchestrator import ScanRequest
    from skywarden.bot.services import Services
    from skywarden.rules.model import Rule
    from skywarden.storage.ledger import Ledger

_BUTTON_HINT = {
    ids.ACKNOWLEDGE: "ack {n}",
    ids.SUPPRESS: 'suppress {n} --reason "..." --days 30',
    ids.REMEDIATE: "remediate {n}",
    ids.REVOKE: "revoke {value}",
    ids.UNDO: "undo {n}",
    ids.APPROVE: "approve {value}",
    ids.REJECT: "reject {value}",
}
_BY_VALUE = (ids.REVOKE, ids.APPROVE, ids.REJECT)  # their value is an id, not a finding


def _mrkdwn_to_text(text: str) -> str:
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", text)
    text = re.sub(r"(?:^|(?<=\s)):[a-z_]+: ", "", text)  # emoji, never the ':aws:' inside an ARN
    text = re.sub(r"\*(\S(?:[^*]*?\S)?)\*", r"\1", text)  # bold markers only: a cron's "* * 1-5" stays
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(message: blocks.Message, number_of: Callable[[str], Any] | None = None) -> str:
    """Block Kit -> terminal text; each button becomes the typed command that does the same."""
    lines: list[str] = []
    for block in message.blocks:
        kind = block["type"]
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            lines.append(_mrkdwn_to_text(block["text"]["text"]))
            for fld in block.get("fields", []):
                lines.append("  " + _mrkdwn_to_text(fld["text"]).replace("\n", ": ", 1).replace("\n", " "))
            if block.get("accessory", {}).get("type") == "button":
                lines.append("  -> " + _hint(block["accessory"], number_of))
        elif kind == "context":
            lines.append("  " + " · ".join(_mrkdwn_to_text(e["text"]) for e in block["elements"]))
        elif kind == "actions":
            lines.append("  -> " + "  |  ".join(_hint(e, number_of) for e in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(lines)


def _hint(element: dict[str, Any], number_of: Callable[[str], Any] | None) -> str:
    template = _BUTTON_HINT.get(element.get("action_id", ""), element["text"]["text"])
    value = element.get("value", "")
    if element.get("action_id") in (ids.APPROVE, ids.REJECT):
        value = value.partition(":")[0]  # typed decisions name the request; its button token stays in Slack
    number = number_of(value) if number_of and element.get("action_id") not in _BY_VALUE else value
    return template.format(n=number, value=value)


class ConsolePublisher:
    """Prints what the Slack publisher would post."""

    def __init__(self, ledger: Ledger, rules: Mapping[str, Rule], out: TextIO,
                 note: Callable[[str], str] | None = None) -> None:
        self.ledger = ledger
        self.rules = rules
        self.out = out
        self.note = note or (lambda line: "")  # a word appended to a gap line (the demo labels its emulator's)

    def _number(self, finding_id: str) -> Any:
        finding = find_finding(self.ledger.db, finding_id)
        return finding["number"] if finding else finding_id

    def scan_finished(self, outcome: Any, sync: ExceptionSync, request: ScanRequest) -> None:
        db = self.ledger.db
        result = outcome.reconcile
        summary = outcome.summary
        print(f"\n== scan {outcome.scan_id} {outcome.status}: {summary.get('resources', 0)} resources; "
              f"{len(result.new)} new, {len(result.reopened)} reopened, {len(result.resolved)} resolved ==",
              file=self.out)
        for gap in outcome.inventory.gaps:
            line = f"coverage gap: {gap.account_id} {gap.service} {gap.region}: {gap.error_class}"
            print(line + self.note(f"{line}: {gap.message}"), file=self.out)
        fresh = [*result.new, *result.reopened, *sync.reopened]
        shown = 0
        for fid in dict.fromkeys(fresh):
            finding = find_finding(db, fid)
            if finding and finding["state"] == OPEN:
                shown += 1
                if shown <= 10:
                    print("\n" + render(render_finding(db, self.rules, finding), self._number), file=self.out)
        if shown > 10:
            print(f"\n... and {shown - 10} more: type `findings`", file=self.out)

    def scan_failed(self, request: ScanRequest, message: str) -> None:
        print(f"scan of {request.describe()} failed: {message}", file=self.out)

    def scan_quiet(self, outcome: Any, request: ScanRequest) -> None:
        print(f"scan {outcome.scan_id} of {request.describe()}: nothing new, reopened or resolved", file=self.out)

    def scan_progress(self, request: ScanRequest, done: int, total: int) -> None:
        pass  # lines printed mid-prompt would garble what the person is typing; `status` shows running scans

    def refresh(self, finding_ids: Iterable[str]) -> None:
        pass  # the console shows the decision's reply; there are no posted messages to update

    def flush(self) -> FlushResult:
        return FlushResult()


HELP = """Type a command as you would after /warden (help, scan aws, status, findings, posture, suppressions),
or a button as a command: ack N, suppress N --reason "..." [--days N] [--scope rule], revoke ID, remediate N,
approve R, reject R, undo N (remediation requests need an approver other than the requester).
as NAME COMMAND runs one command as another user (the second pair of eyes an approval needs).
quit (or Ctrl-D) leaves."""


def acting_user(line: str, user: str, users: Mapping[str, str]) -> tuple[str, str]:
    """``as bob approve R`` -> (bob's id, ``approve R``); any other line is the session user's."""
    words = line.split(None, 2)
    if len(words) == 3 and words[0] == "as":
        return users.get(words[1], words[1]), words[2]
    return user, line


def run_chat(services: Services, user: str = "console", stdin: TextIO | None = None, out: TextIO | None = None,
             prompt: str = "warden> ", users: Mapping[str, str] | None = None,
             note: Callable[[str], str] | None = None) -> None:
    """The console loop; ``users`` maps names typed after ``as`` (and ``user`` itself) to user ids; ``note``
    labels coverage gap lines (see ConsolePublisher)."""
    import sys

    stdin = stdin or sys.stdin
    out = out or sys.stdout
    attach_publisher(services, ConsolePublisher(services.ledger, services.rules, out, note))
    users = dict(users or {})
    user = users.get(user, user)
    interactive = stdin.isatty()
    print(HELP, file=out)
    while True:
        if interactive:
            print(prompt, end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("quit", "exit"):
            break
        acting, line = acting_user(line, user, users)
        print(handle_line(services, line, commands.Who(acting, None, "console")), file=out, flush=True)
        if line.lower().startswith("scan"):
            services.orchestrator.wait_idle(timeout=600)  # the console waits; Slack would post later


def handle_line(services: Services, line: str, who: commands.Who) -> str:
    try:
        words = shlex.split(line)
    except ValueError:
        words = []
    reply = commands.dispatch(services, line, who)

    def number_of(finding_id: str) -> Any:
        finding = find_finding(services.db, finding_id)
        return finding["number"] if finding else finding_id

    text = render(reply.message, number_of)
    if reply.ok and words and words[0] in ("ack", "suppress", "revoke") and reply.changed:
        finding = find_finding(services.db, reply.changed[0])
        if finding:
            text += "\n" + render(render_finding(services.db, services.rules, finding), number_of)
    return text
