"""The command language shared by the slash command, @mentions and the console, and the decisions behind
the buttons. Everything here returns a ``Reply`` (Block Kit message + whether it is private); the adapters
(bot/listeners, bot/console.py) only deliver it. Every command and decision checks authorization first; a
refusal is private and audited."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot.command_base import (  # noqa: F401 - the command language, re-exported for the adapters
    MAX_DAYS,
    MAX_ID,
    MAX_PAGE,
    Reply,
    UsageError,
    Who,
    _refuse,
    finding_ref,
    parse_number,
)
from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.schedules import schedule_command
from skywarden.bot.slack import blocks
from skywarden.rules.frameworks import FAILING, NOT_EVALUATED, PASSING, posture, posture_summary
from skywarden.rules.model import SEVERITIES
from skywarden.scanners.providers import PROVIDERS
from skywarden.storage import audit, finding_views
from skywarden.storage import suppressions as exceptions
from skywarden.storage.db import now
from skywarden.storage.scans import coverage_for, recent_scans
from skywarden.storage.suppressions import find_finding

if TYPE_CHECKING:
    from skywarden.bot.slack.app import Services

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
PER_PAGE = 20


def scan_accounts(services: Services, scan: dict[str, Any]) -> set[str]:
    """The accounts a stored scan touched: its coverage, and the accounts its scope named."""
    accounts = finding_views.coverage_accounts(services.db, scan["id"])
    scope = scan.get("scope")
    if isinstance(scope, dict):
        accounts |= {str(a) for a in scope.get("accounts") or [] if a}
    return accounts


def _visible(readable: set[str] | None, accounts: set[str] | tuple[str, ...]) -> bool:
    """Whether a user may see something spanning ``accounts``; an unknown or every-account scope (empty) only
    when they may see every account, as its counts would include accounts they may not see."""
    return readable is None or (bool(accounts) and set(accounts) <= readable)


def _today(services: Services) -> date:
    return services.clock().astimezone(UTC).date()


# ---------------------------------------------------------------- parsing
def strip_mention(text: str) -> str:
    return re.sub(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>\s*", "", text or "").strip()


def dispatch(services: Services, text: str, who: Who) -> Reply:
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        return Reply(blocks.usage(f"cannot parse that: {exc}"), ok=False)
    if not words:
        return Reply(blocks.usage())
    name, args = words[0].lower(), words[1:]
    handler = _COMMANDS.get(name)
    if handler is None:
        return Reply(blocks.usage(f"unknown command {name!r}"), ok=False)
    try:
        return handler(services, args, who)
    except UsageError as exc:
        return Reply(blocks.usage(str(exc)), ok=False)


def _help(services: Services, args: list[str], who: Who) -> Reply:
    return Reply(blocks.usage())


def _scan(services: Services, args: list[str], who: Who) -> Reply:
    if not args:
        raise UsageError("scan needs a provider: scan aws [account] [region ...]")
    provider = args[0].lower()
    if provider not in PROVIDERS:
        raise UsageError(f"unknown provider {args[0]!r}: scan {'|'.join(PROVIDERS)} [account] [region ...]")
    cloud = PROVIDERS[provider]
    if cloud.regional:
        accounts = [a for a in args[1:] if not _REGION.match(a)]
        regions = tuple(a for a in args[1:] if _REGION.match(a))
    else:
        accounts, regions = list(args[1:]), ()
    word = cloud.scope_word
    if len(accounts) > 1:
        raise UsageError(f"one {word} at a time (got {', '.join(accounts)}); AWS regions look like us-east-1")
    if cloud.needs_account and not accounts:
        raise UsageError(f"scan {provider} needs a {word}: scan {provider} <{word}-id>")
    account_ids = tuple(services.config.account_id(a) for a in accounts)
    allowed, why = services.access.can_scan(who.user, list(account_ids))
    if not allowed:
        return _refuse(services, who, "scan", why, accounts=list(account_ids))
    request = ScanRequest(provider, account_ids, regions, who.user, who.channel,
                          trigger="console" if who.source == "console" else "slack", reply_url=who.response_url)
    submission = services.orchestrator.submit(request)
    if not submission.started:
        running = submission.running
        by = running.requested_by if running else "someone"
        return Reply(blocks.notice(
            f"A scan of {request.describe()} is already running (requested by {by} at {submission.started_at}); "
            "its results will be posted when it finishes."), ok=False, submission=submission)
    audit.record(services.db, "scan_requested", who.user, details={"scope": request.describe(), "source": who.source})
    if submission.waiting:
        return Reply(blocks.notice(
            f"Scan of {request.describe()} queued: {submission.waiting} scan(s) ahead of it "
            f"(at most {services.orchestrator.max_workers} at a time); results will be posted when it finishes."),
            submission=submission)
    return Reply(blocks.notice(f"Scan of {request.describe()} started; results will be posted when it finishes."),
                 submission=submission)


def _status(services: Services, args: list[str], who: Who) -> Reply:
    db = services.db
    readable = services.access.read_accounts(who.user)
    lines = []
    for request, started in services.orchestrator.running():
        if _visible(readable, request.accounts):
            lines.append(f":hourglass_flowing_sand: running: {blocks.escape(request.describe())} since {started}")
    # A scan's line carries its totals, so it shows only to someone who may see every account it touched.
    scans = [scan for scan in recent_scans(db, 5 if readable is None else 100)
             if _visible(readable, scan_accounts(services, scan))][:5]
    for scan in scans:
        summary = scan["summary"] or {}
        lines.append(
            f"*scan {scan['id']}* {blocks.escape(scan['provider'])} {scan['status']} · {scan['started_at']} · "
            f"{summary.get('resources', 0)} resources, {summary.get('new', 0)} new, "
            f"{summary.get('resolved', 0)} resolved"
        )
        gaps = coverage_for(db, scan["id"], failed_only=True)
        for gap in gaps[:10]:
            lines.append(f"    gap: {blocks.escape(gap['account_id'])} {blocks.escape(gap['service'])} "
                         f"{blocks.escape(gap['region'])}: {blocks.escape(gap['error_class'])}")
        if len(gaps) > 10:
            lines.append(f"    and {len(gaps) - 10} more gaps")
    if not lines:
        lines.append("No scans yet. Try `scan aws`.")
    from skywarden.storage.schedules import list_schedules

    for row in list_schedules(db):  # a skipped run (missed beyond the grace period) is news for operators
        if (row["last_outcome"] or "").startswith("skipped") and _visible(readable, tuple(row["accounts"])):
            lines.append(f":warning: schedule {row['id']}: {blocks.escape(row['last_outcome'])}")
    from skywarden.storage.outbox import counts

    queued = counts(db)
    if queued.get("pending") or queued.get("failed"):
        lines.append(f"Outbox: {queued.get('pending', 0)} message(s) waiting, {queued.get('failed', 0)} failed.")
    sections = blocks.text_sections(lines)[: blocks.MAX_BLOCKS]
    return Reply(blocks.Message("status", sections))


def _findings(services: Services, args: list[str], who: Who) -> Reply:
    account = severity = None
    page = 1
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word.lower() == "page":
            if not rest:
                raise UsageError("page needs a number: findings page 2")
            page = parse_number(rest.pop(0), "page", 1, MAX_PAGE)
        elif word.lower() in SEVERITIES and severity is None:
            severity = word.lower()
        elif account is None:
            account = services.config.account_id(word)
        else:
            raise UsageError(f"unexpected {word!r}: findings [account] [severity] [page N]")
    readable = services.access.read_accounts(who.user)
    if account:
        allowed, why = services.access.can_read(who.user, account)
        if not allowed:
            return _refuse(services, who, "findings", why, account=account)
    db = services.db
    total = finding_views.count_open(db, readable, account, severity)
    rows = [find_finding(db, fid) for fid in
            finding_views.page_open(db, readable, account, severity, PER_PAGE, (page - 1) * PER_PAGE)]
    title = "Open findings" + (f" in {services.config.account_name(account)}" if account else "") + (
        f", {severity}" if severity else "")
    return Reply(blocks.findings_list([r for r in rows if r], services.rules, total, page, PER_PAGE, title))


def failing_rules(services: Services, readable: set[str] | None = None) -> Counter[str]:
    """Rules with an open (or acknowledged) finding in the readable accounts (None: all); suppressed ones are
    accepted risk."""
    return finding_views.failing_rule_counts(services.db, readable)


_STATUS_ICON = {PASSING: ":white_check_mark:", FAILING: ":x:", NOT_EVALUATED: ":grey_question:"}


def collected_types(services: Services, readable: set[str] | None = None) -> set[str]:
    """Resource types in the stored inventory of the readable accounts: a control none of whose rules' types
    was ever collected is 'not evaluated', not passing."""
    return finding_views.collected_types(services.db, readable)


def postures(services: Services, readable: set[str] | None = None) -> list[dict[str, Any]]:
    failing = failing_rules(services, readable)
    collected = collected_types(services, readable)
    out = []
    for framework in services.catalogues.values():
        view = posture(framework, services.rules.values(), failing, collected)
        if view["controls_checked"]:
            out.append(view)
    return out


def _posture(services: Services, args: list[str], who: Who) -> Reply:
    if len(args) > 1:
        raise UsageError("posture [framework]")
    readable = services.access.read_accounts(who.user)
    if readable == set():  # every control would look passing: say why there is nothing instead
        key = "permissions.read" if services.config.read is not None else "permissions.scan"
        return _refuse(services, who, "posture", f"you may not see any account ({key})")
    views = postures(services, readable)
    if args:
        views = [v for v in views if v["framework"] == args[0]]
        if not views:
            known = ", ".join(sorted(services.catalogues)) or "none loaded"
            raise UsageError(f"unknown framework {args[0]!r}; known: {known}")
    if not views:
        return Reply(blocks.notice("No framework controls are checked by the loaded rules."))
    lines = []
    for view in views:
        lines.append(f"*{blocks.escape(view['name'])}* ({blocks.code(view['framework'])}): "
                     + blocks.escape(posture_summary(view)))
        if args:  # one framework: every checked control, in id order, with its title
            lines += [f"{_STATUS_ICON[e['status']]} {blocks.code(c)} {blocks.escape(e['title'])}"
                      + (f" ({e['failing']} open finding(s))" if e["failing"] else "")
                      for c, e in view["controls"].items()]

    return Reply(blocks.Message("posture", blocks.text_sections(lines)[: blocks.MAX_BLOCKS]))


def _suppressions(services: Services, args: list[str], who: Who) -> Reply:
    readable = services.access.read_accounts(who.user)
    rows = [row for row in exceptions.list_exceptions(services.db, now())
            if readable is None or row["account_id"] in readable]
    return Reply(blocks.suppressions_list(rows))


# ---------------------------------------------------------------- decisions (buttons and console)
def acknowledge(services: Services, who: Who, ref: str) -> Reply:
    allowed, why = services.access.can_acknowledge(who.user)
    finding = find_finding(services.db, ref)
    if not allowed:
        return _refuse(services, who, "acknowledge", why, finding["id"] if finding else None)
    decision = exceptions.acknowledge(services.db, ref, who.user, now())
    if decision.ok:
        services.publisher.refresh(decision.affected)
    return Reply(blocks.notice(decision.message), ok=decision.ok, changed=decision.affected)


def validate_suppression(services: Services, reason: str, until: date | None) -> dict[str, str]:
    """Problems keyed by field ('reason', 'until'); empty when acceptable."""
    problems = {}
    if not reason.strip():
        problems["reason"] = "A reason is required."
    today = _today(services)
    max_days = services.config.max_suppression_days
    if until is None:
        problems["until"] = "Pick an expiry date."
    elif until <= today:
        problems["until"] = "The expiry must be in the future."
    elif until > today + timedelta(days=max_days):
        problems["until"] = f"At most {max_days} days (until {(today + timedelta(days=max_days)).isoformat()})."
    return problems


def suppress(services: Services, who: Who, ref: str, reason: str, until: date | None, scope: str) -> Reply:
    db = services.db
    finding = find_finding(db, ref)
    allowed, why = services.access.can_suppress(who.user)
    if not allowed:
        return _refuse(services, who, "suppress", why, finding["id"] if finding else None)
    problems = validate_suppression(services, reason, until)
    if problems:
        return Reply(blocks.notice(" ".join(problems.values())), ok=False)
    assert until is not None
    expires = datetime.combine(until, time.min, tzinfo=UTC).isoformat(timespec="seconds")
    decision = exceptions.suppress(db, ref, who.user, reason, expires, now(), scope,
                                   "console" if who.source == "console" else "slack")
    if decision.ok:
        services.publisher.refresh(decision.affected)
        extra = f" (and {len(decision.affected) - 1} more in the account)" if len(decision.affected) > 1 else ""
        text = f"{decision.message}{extra} until {until.isoformat()}: {reason.strip()}"
        return Reply(blocks.notice(text), changed=decision.affected)
    return Reply(blocks.notice(decision.message), ok=False)


def revoke(services: Services, who: Who, exception_id: int) -> Reply:
    allowed, why = services.access.can_suppress(who.user)
    if not allowed:
        return _refuse(services, who, "revoke", why, exception_id=exception_id)
    decision = exceptions.revoke(services.db, exception_id, who.user, now())
    if decision.ok:
        services.publisher.refresh(decision.affected)
        suffix = f"; {len(decision.affected)} finding(s) open again" if decision.affected else ""
        return Reply(blocks.notice(decision.message + suffix), changed=decision.affected)
    return Reply(blocks.notice(decision.message), ok=False)


def remediate(services: Services, who: Who, ref: str) -> Reply:
    """`remediate N`: plan, request and send to the approvers (the Remediate button shows the plan first)."""
    return services.remediation.request(who, ref)


def undo(services: Services, who: Who, ref: str) -> Reply:
    """`undo N` (and the Undo button): ask to restore the state recorded before the last fix; same approvals."""
    return services.remediation.request(who, ref, undo=True)


def decide_remediation(services: Services, who: Who, request_id: int, approve: bool) -> Reply:
    """`approve R` / `reject R`: decided in the background; the console waits for the outcome, Slack shows it
    on the approval request and the finding (and privately tells a refused approver)."""
    future = services.remediation.decide(who, request_id, approve)
    if who.source == "console":
        return future.result(timeout=600)
    verb = "Approving" if approve else "Rejecting"
    return Reply(blocks.notice(f"{verb} request {request_id}: the outcome will show on the approval request."))


def _decision_command(services: Services, args: list[str], who: Who, name: str) -> Reply:
    if not args or len(args) > 1 and name in ("ack", "revoke", "remediate", "undo", "approve", "reject"):
        raise UsageError(f"{name} <number>")
    if name in ("approve", "reject"):
        request_id = parse_number(args[0], f"{name} <remediation request id> (it is on the approval request):"
                                           " the id")
        return decide_remediation(services, who, request_id, approve=name == "approve")
    if name == "revoke":
        return revoke(services, who, parse_number(args[0], "revoke <suppression id> (see `suppressions`): the id"))
    ref = finding_ref(args[0])
    if name == "ack":
        return acknowledge(services, who, ref)
    if name == "remediate":
        return remediate(services, who, ref)
    if name == "undo":
        return undo(services, who, ref)
    # suppress <n> --reason "..." [--days N] [--scope resource|rule]
    options = {"--reason": None, "--days": str(services.config.default_suppression_days), "--scope": "resource"}
    rest = args[1:]
    while rest:
        key = rest.pop(0)
        if key not in options or not rest:
            raise UsageError('suppress <n> --reason "..." [--days N] [--scope resource|rule]')
        options[key] = rest.pop(0)
    if not options["--reason"]:
        raise UsageError('suppress needs --reason "why this is acceptable"')
    # Bounded only against overflow here: the configured maximum is validate_suppression's, with its own message.
    days = parse_number(str(options["--days"]), "--days", 1, MAX_DAYS)
    if options["--scope"] not in exceptions.SCOPES:
        raise UsageError("--scope is resource or rule")
    until = _today(services) + timedelta(days=days)

    return suppress(services, who, ref, str(options["--reason"]), until, str(options["--scope"]))


_COMMANDS = {
    "help": _help,
    "scan": _scan,
    "status": _status,
    "findings": _findings,
    "posture": _posture,
    "schedule": lambda s, a, w: schedule_command(s, a, w),
    "suppressions": _suppressions,
    "ack": lambda s, a, w: _decision_command(s, a, w, "ack"),
    "suppress": lambda s, a, w: _decision_command(s, a, w, "suppress"),
    "revoke": lambda s, a, w: _decision_command(s, a, w, "revoke"),
    "remediate": lambda s, a, w: _decision_command(s, a, w, "remediate"),
    "undo": lambda s, a, w: _decision_command(s, a, w, "undo"),
    "approve": lambda s, a, w: _decision_command(s, a, w, "approve"),
    "reject": lambda s, a, w: _decision_command(s, a, w, "reject"),
}
COMMAND_NAMES = tuple(_COMMANDS)
