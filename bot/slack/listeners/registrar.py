"""Registration goes through ``Registrar`` so the app can say what it registered: the manifest test compares
that with manifest.yml instead of trusting a hand-kept list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App


@dataclass
class Registrar:
    app: App
    registered: dict[str, list[str]] = field(
        default_factory=lambda: {"commands": [], "events": [], "actions": [], "views": []}
    )

    def command(self, name: str) -> Callable[..., Any]:
        self.registered["commands"].append(name)
        return self.app.command(name)

    def event(self, name: str) -> Callable[..., Any]:
        self.registered["events"].append(name)
        return self.app.event(name)

    def action(self, action_id: str) -> Callable[..., Any]:
        self.registered["actions"].append(action_id)
        return self.app.action(action_id)

    def view(self, callback_id: str) -> Callable[..., Any]:
        self.registered["views"].append(callback_id)
        return self.app.view(callback_id)
