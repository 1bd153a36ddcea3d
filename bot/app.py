"""The composition root: ``Services`` (database, configuration, rules, scan runner, WebClient, publisher)
and ``create_app(settings, services) -> App``. Nothing here runs at import time; tests build their own
``Services`` with a fake scan runner and a WebClient pointed at a loopback stand-in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from bot import blocks
from bot.commands import RemediationRequest, default_remediation_handoff
from bot.orchestrator import Orchestrator, ScanRequest, ScanRunner
from bot.posting import Publisher, SlackPublisher
from bot.settings import Access, BotConfig, Settings
from rules.errors import SkywardenError
from rules.model import Framework, Rule
from storage.db import open_db

log = logging.getLogger(__name__)


@dataclass
class Services:
    db_path: str
    config: BotConfig
    rules: Mapping[str, Rule]
    scan_runner: ScanRunner
    client: WebClient | None = None
    catalogues: Mapping[str, Framework] = field(default_factory=dict)
    remediation_handoff: Callable[[RemediationRequest], str] = default_remediation_handoff
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    scan_workers: int = 2
    publisher: Publisher = field(init=False)
    orchestrator: Orchestrator = field(init=False)
    access: Access = field(init=False)

    def __post_init__(self) -> None:
        self._local = threading.local()
        self.db  # noqa: B018 - apply migrations once, before any worker thread opens its own connection
        self.access = Access(self.config, self._group_members if self.client else None)
        self.publisher = SlackPublisher(self)
        self.orchestrator = Orchestrator(self, self.scan_workers)

    @property
    def db(self) -> sqlite_utils.Database:
        """One connection per thread: a transaction on one thread must never swallow another's statements."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_db(self.db_path, migrate=not getattr(self, "_migrated", False))
            self._migrated = True
            self._local.db = db
        return db

    def _group_members(self, group: str) -> set[str]:
        assert self.client is not None
        try:
            return set(self.client.usergroups_users_list(usergroup=group).get("users") or [])
        except SlackApiError as exc:
            log.warning("cannot read user group %s: %s", group, exc.response.get("error"))
            return set()

    def close(self) -> None:
        self.orchestrator.shutdown()


def make_client(token: str, base_url: str | None = None, retries: int = 2, backoff_s: float = 0.5) -> WebClient:
    """A WebClient that retries 429 (honouring Retry-After) and 500/503 with backoff, then gives up to the outbox."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=retries))
    client.retry_handlers.append(ServerErrorRetryHandler(
        max_retry_count=retries, interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff_s)))
    return client


def aws_scan_runner(rules: list[Rule], config: BotConfig) -> ScanRunner:
    """The production runner: the same scan_aws the CLI uses."""

    def run(db: sqlite_utils.Database, request: ScanRequest) -> Any:
        from bot.scanning import AwsScope, scan_aws

        scope = AwsScope(accounts=request.accounts, regions=request.regions, accounts_file=config.accounts_file)
        return scan_aws(db, rules, scope, trigger=request.trigger, requested_by=request.requested_by)

    return run


def create_app(settings: Settings, services: Services, process_before_response: bool = False,
               token_verification: bool = True) -> App:
    """The Bolt app with every listener registered. Socket Mode needs no signing secret; HTTP mode does."""
    from bot.listeners import register_all

    app = App(
        client=services.client,
        signing_secret=str(settings.signing_secret) if settings.signing_secret else "",
        process_before_response=process_before_response,
        token_verification_enabled=token_verification,
        ignoring_self_events_enabled=True,
    )
    app.skywarden_registered = register_all(app, services)  # type: ignore[attr-defined]

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> None:
        # Domain errors become a private explanation; anything else is logged, and the person told briefly.
        if isinstance(error, SkywardenError):
            text = str(error)
        else:
            logger.exception("listener failed", exc_info=error)
            text = "Something went wrong on the Skywarden side; it is in the bot's log."
        if respond is not None and body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, **blocks.notice(text).payload())

    return app
