"""Listeners, one module per kind, each with ``register(reg, services)``.

``register_all`` registers every module through a ``Registrar`` (listeners/registrar.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from skywarden.bot.slack.listeners import actions, commands, events, housekeeping, remediation, views
from skywarden.bot.slack.listeners.registrar import Registrar

if TYPE_CHECKING:
    from skywarden.bot.services import Services


def register_all(app: App, services: Services) -> dict[str, list[str]]:
    reg = Registrar(app)
    for module in (commands, events, actions, views, remediation, housekeeping):
        module.register(reg, services)
    return reg.registered
