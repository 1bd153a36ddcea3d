"""The daily housekeeping job: end expired suppressions (their findings reopen at the next scan, which
re-checks them) and announce the ones expiring soon in their channel with **Extend** and **Let expire**.

A reminder is announced once per expiry and channel (a unique index), so the daily job never repeats
itself; an extended suppression gets a new reminder when its new expiry comes near."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot.slack import blocks, ids
from skywarden.bot.slack.posting import channels_for
from skywarden.storage import audit, housekeeping, outbox
from skywarden.storage.suppressions import get_exception

if TYPE_CHECKING:
    from skywarden.bot.commands import Reply, Who
    from skywarden.bot.slack.app import Services

log = logging.getLogger(__name__)


@dataclass
class HousekeepingResult:
    ended: list[int] = field(default_factory=list)
    announced: list[tuple[int, str]] = field(default_factory=list)  # (exception id, channel)
    expired_requests: list[int] = field(default_factory=list)  # remediation requests nobody decided in time


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def run_housekeeping(services: Services) -> HousekeepingResult:
    at = services.clock()
    db = services.db
    result = HousekeepingResult(ended=housekeeping.end_expired(db, _iso(at)))
    horizon = at + timedelta(days=services.config.scans.reminder_days)
    for exception in housekeeping.expiring(db, _iso(at), _iso(horizon)):
        for channel in reminder_channels(services, exception):
            reminder_id = housekeeping.claim_reminder(db, exception["id"], exception["expires_at"], channel)
            if reminder_id is None:
                continue  # announced already
            message = reminder_message(services, exception, at)
            outbox_id = outbox.enqueue(db, "chat.postMessage", channel, {"channel": channel, **message.payload()})
            housekeeping.attach_reminder_outbox(db, reminder_id, outbox_id)
            result.announced.append((exception["id"], channel))
    result.expired_requests = services.remediation.sweep_expired()
    audit.record(db, "housekeeping", details={"ended": result.ended, "announced": len(result.announced),
                                              "expired_requests": result.expired_requests})
    services.publisher.flush()
    return result


def reminder_channels(services: Services, exception: Mapping[str, Any]) -> list[str]:
    """Where the suppressed finding was posted; else where routing would post it; else the default channel."""
    db = services.db
    if exception["finding_id"]:
        posted = [row["channel"] for row in db.query(
            "SELECT channel FROM slack_messages WHERE finding_id = ? GROUP BY channel ORDER BY MAX(id) DESC",
            [exception["finding_id"]])]
        if posted:
            return posted
    rule = services.rules.get(exception["rule_id"])
    severity = getattr(rule, "severity", "medium")
    channels = channels_for(services.config, exception["account_id"], severity, None)
    if not channels:
        log.warning("suppression %s expires soon but no channel is known (no routing, no default_channel)",
                    exception["id"])
    return channels


def _target(exception: Mapping[str, Any]) -> str:
    return exception["resource_id"] or f"every resource in {exception['account_id']}"


def _by(user: str) -> str:
    return blocks.mention(user)



def _day(iso: str) -> str:
    return iso[:10]


def extension_days(services: Services) -> int:
    return services.config.default_suppression_days


def reminder_message(services: Services, exception: Mapping[str, Any], at: datetime,
                     decided: str | None = None) -> blocks.Message:
    expires = datetime.fromisoformat(exception["expires_at"])
    days = max(0, (expires - at).days)
    text = (f":hourglass_flowing_sand: Suppression `{exception['id']}` of {blocks.code(exception['rule_id'])} on "
            f"{blocks.escape(_target(exception))} expires on {_day(exception['expires_at'])} (in {days} day(s)).\n"
            f"Suppressed by {_by(exception['created_by'])}: {blocks.escape(exception['reason'])}")
    body = [blocks.section(text)]
    value = f"{exception['id']}|{exception['expires_at']}"
    if decided:
        body.append(blocks.context(decided))
    elif exception["source"] == "code":
        body.append(blocks.context("Kept as code in suppressions.yml: change its `until` there to extend it."))
    else:
        body.extend(blocks.actions([
            blocks.button(f"Extend {extension_days(services)} days", ids.EXTEND_SUPPRESSION, value, "primary"),
            blocks.button("Let expire", ids.LET_EXPIRE, value),
        ], block_id=f"reminder-{exception['id']}"))
        body.append(blocks.context("When it expires, the next scan re-checks the finding and reopens it if it "
                                   "still fails."))
    blocks.check_limits(body)
    return blocks.Message(f"Suppression {exception['id']} of {exception['rule_id']} expires on "
                          f"{_day(exception['expires_at'])}", body)


def parse_value(value: str) -> tuple[int, str]:
    ident, _, expires_at = value.partition("|")
    return int(ident), expires_at


def decide(services: Services, who: Who, value: str, extend: bool) -> Reply:
    """Extend (by the default suppression period from the current expiry, within the maximum) or let expire."""
    from skywarden.bot.commands import Reply, _refuse

    exception_id, expires_at = parse_value(value)
    action = "extend suppression" if extend else "let suppression expire"
    allowed, why = services.access.can_suppress(who.user)
    if not allowed:
        return _refuse(services, who, action, why, exception_id=exception_id)
    db = services.db
    exception = get_exception(db, exception_id)
    if exception is None:
        return Reply(blocks.notice(f"no suppression {exception_id}"), ok=False)
    at = services.clock()
    stamp = _iso(at)
    if extend:
        current = datetime.fromisoformat(expires_at)
        limit = at + timedelta(days=services.config.max_suppression_days)
        new_expiry = min(current + timedelta(days=extension_days(services)), limit)
        if new_expiry <= current:
            return Reply(blocks.notice(f"suppression {exception_id} already runs to the maximum of "
                                       f"{services.config.max_suppression_days} days from today"), ok=False)
        changed = housekeeping.extend(db, exception_id, expires_at, _iso(new_expiry), who.user, stamp)
        note = f"Extended by {_by(who.user)} until {_day(_iso(new_expiry))}."
        done = f"suppression {exception_id} extended until {_day(_iso(new_expiry))}"
    else:
        changed = housekeeping.let_expire(db, exception_id, expires_at, who.user, stamp)
        note = f"{_by(who.user)} let it expire on {_day(expires_at)}."
        done = f"suppression {exception_id} will expire on {_day(expires_at)}"
    if not changed:
        return Reply(blocks.notice(_already(db, exception_id, expires_at)), ok=False)
    _update_reminders(services, exception_id, expires_at, note, at)
    return Reply(blocks.notice(done[0].upper() + done[1:] + "."))


def _already(db: Any, exception_id: int, expires_at: str) -> str:
    for row in housekeeping.reminders_for(db, exception_id):
        if row["expires_at"] == expires_at and row["decision"]:
            what = "extended" if row["decision"] == housekeeping.EXTENDED else "set to expire"
            return f"suppression {exception_id} was already {what} by {row['decided_by']} at {row['decided_at']}"
    return f"suppression {exception_id} has ended or changed since this reminder"


def _update_reminders(services: Services, exception_id: int, expires_at: str, note: str, at: datetime) -> None:
    """Every posted copy of this reminder now shows the decision and no buttons."""
    db = services.db
    exception = get_exception(db, exception_id)
    if exception is None:
        return
    shown = dict(exception, expires_at=expires_at)
    message = reminder_message(services, shown, at, decided=note)
    for row in housekeeping.reminders_for(db, exception_id):
        if row["expires_at"] != expires_at or not row["outbox_id"]:
            continue
        posted = outbox.get(db, row["outbox_id"])
        if posted is None:
            continue
        if posted["ts"]:
            outbox.enqueue(db, "chat.update", posted["channel"],
                           {"channel": posted["channel"], "ts": posted["ts"], **message.payload()})
        elif posted["status"] == outbox.PENDING:
            outbox.replace_payload(db, posted["id"], {**posted["payload"], **message.payload()})
    services.publisher.flush()
