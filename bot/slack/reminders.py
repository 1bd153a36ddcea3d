"""The daily housekeeping job: end expired suppressions (their findings reopen at the next scan, which
re-checks them) and announce the ones expiring soon in their channel with **Extend** and **Let expire**.

A reminder is announced once per expiry and channel (a unique index), so the daily job never repeats
itself; an extended suppression gets a new reminder when its new expiry comes near. The buttons' decisions are
``bot.commands.housekeeping``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot.slack import blocks, ids
from skywarden.bot.slack.posting import channels_for
from skywarden.storage import audit, housekeeping, outbox, slack_messages

if TYPE_CHECKING:
    from skywarden.bot.services import Services

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
        posted = slack_messages.channels_of(db, exception["finding_id"])
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
