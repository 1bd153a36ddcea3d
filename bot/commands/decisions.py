"""The decisions behind the buttons, also typed as commands: ack, suppress, revoke, remediate, undo, approve,
reject. Each checks authorization first; a refusal is private and audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from skywarden.bot.commands.base import MAX_DAYS, Reply, UsageError, Who, _refuse, _today, finding_ref, parse_number
from skywarden.bot.slack import blocks
from skywarden.storage import suppressions as exceptions
from skywarden.storage.db import now
from skywarden.storage.suppressions import find_finding

if TYPE_CHECKING:
    from skywarden.bot.services import Services

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

