"""The suppression-expiry reminder's decisions (its Extend and Let expire buttons): who may decide, by how long a
suppression is extended, and every posted copy of the reminder updated to show the decision."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot.commands.base import Reply, Who, _refuse
from skywarden.bot.slack import blocks
from skywarden.bot.slack.reminders import _by, _day, _iso, extension_days, reminder_message
from skywarden.storage import housekeeping, outbox
from skywarden.storage.suppressions import get_exception

if TYPE_CHECKING:
    from skywarden.bot.services import Services


def parse_value(value: str) -> tuple[int, str]:
    ident, _, expires_at = value.partition("|")
    return int(ident), expires_at


def decide(services: Services, who: Who, value: str, extend: bool) -> Reply:
    """Extend (by the default suppression period from the current expiry, within the maximum) or let expire."""
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
