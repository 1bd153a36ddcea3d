"""The suppression-expiry reminder's buttons: Extend and Let expire (bot/commands/housekeeping.py decides)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skywarden.bot.commands import housekeeping
from skywarden.bot.slack import ids
from skywarden.bot.slack.listeners.actions import _tell, _who

if TYPE_CHECKING:
    from skywarden.bot.services import Services
    from skywarden.bot.slack.listeners.registrar import Registrar


def register(reg: Registrar, services: Services) -> None:
    @reg.action(ids.EXTEND_SUPPRESSION)
    def on_extend(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        _tell(respond, housekeeping.decide(services, _who(body), action["value"], extend=True))

    @reg.action(ids.LET_EXPIRE)
    def on_let_expire(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        _tell(respond, housekeeping.decide(services, _who(body), action["value"], extend=False))
