"""`scan` (run now, through the orchestrator: one scan per scope, a concurrency limit) and `status` (scans running
and recent, coverage gaps, skipped schedules, the outbox), each showing only what the asker may see."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from skywarden.bot.commands.base import Reply, UsageError, Who, _refuse
from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.slack import blocks
from skywarden.scanners.providers import PROVIDERS
from skywarden.storage import audit, finding_views
from skywarden.storage.outbox import counts
from skywarden.storage.scans import coverage_for, recent_scans
from skywarden.storage.schedules import list_schedules

if TYPE_CHECKING:
    from skywarden.bot.services import Services

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


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

    for row in list_schedules(db):  # a skipped run (missed beyond the grace period) is news for operators
        if (row["last_outcome"] or "").startswith("skipped") and _visible(readable, tuple(row["accounts"])):
            lines.append(f":warning: schedule {row['id']}: {blocks.escape(row['last_outcome'])}")

    queued = counts(db)
    if queued.get("pending") or queued.get("failed"):
        lines.append(f"Outbox: {queued.get('pending', 0)} message(s) waiting, {queued.get('failed', 0)} failed.")
    sections = blocks.text_sections(lines)[: blocks.MAX_BLOCKS]
    return Reply(blocks.Message("status", sections))

