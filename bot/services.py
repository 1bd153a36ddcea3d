"""``Services``: what the command language and the Slack listeners reach through one handle. A plain container,
built in one place (``bot.wiring``); it builds nothing itself and the components it holds never see it (each
received only what it uses), so no import runs from a component back to the container."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils
    from slack_sdk import WebClient

    from skywarden.bot.core.orchestrator import Orchestrator
    from skywarden.bot.core.ports import Publisher, RemediationDesk, Scheduling
    from skywarden.bot.core.settings import Access, BotConfig
    from skywarden.bot.core.workspace import WorkspacePolicy
    from skywarden.bot.slack.charts import ChannelCharts
    from skywarden.rules.model import Framework, Rule
    from skywarden.rules.remediation.environments import RemediationEnvironment
    from skywarden.storage.ledger import Ledger


@dataclass
class Services:
    ledger: Ledger
    config: BotConfig
    rules: Mapping[str, Rule]
    catalogues: Mapping[str, Framework]
    access: Access
    orchestrator: Orchestrator
    publisher: Publisher
    remediation: RemediationDesk
    charts: ChannelCharts
    clock: Callable[[], datetime]
    client: WebClient | None = None
    remediation_env: RemediationEnvironment | None = None  # None: remediation from chat is unavailable
    workspace: WorkspacePolicy | None = None  # None: config.workspace; `serve` fills in the token's workspace
    scheduler: Scheduling | None = field(default=None)  # `serve` (or a test) starts one

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection to the ledger."""
        return self.ledger.db

    @property
    def db_path(self) -> str:
        return self.ledger.path

    def workspace_policy(self) -> WorkspacePolicy:
        return self.workspace or self.config.workspace

    def schedule_changed(self) -> None:
        """A schedule was added, removed, paused or resumed here: apply it now (others are seen by polling)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.sync()

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        self.orchestrator.shutdown()
        self.remediation.shutdown()
