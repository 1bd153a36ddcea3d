"""The composition root: the one place that builds the bot's components and hands each what it uses.

``assemble`` is the whole graph (tests call it with a fake scan runner and a WebClient pointed at a loopback
stand-in); ``build_services`` is production (`serve`), ``console_services`` the console and the demo;
``scheduler_for`` adds the scheduler `serve` runs; ``attach_publisher`` lets the console print where Slack would
post. Nothing here runs at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from skywarden.bot.core.jobs import ScanScheduler
from skywarden.bot.core.orchestrator import Orchestrator, ScanRequest, ScanRunner
from skywarden.bot.core.progress_updates import UnitCounter
from skywarden.bot.core.scanning import AwsScope, run_scan, scan_aws
from skywarden.bot.core.settings import (
    DEFAULT_SUPPRESSIONS,
    Access,
    BotConfig,
    Settings,
    load_suppressions,
    scan_broker,
)
from skywarden.bot.services import Services
from skywarden.bot.slack.app import make_client, usergroup_members
from skywarden.bot.slack.charts import ChannelCharts
from skywarden.bot.slack.posting import SlackPublisher
from skywarden.bot.slack.remediation import SlackRemediation
from skywarden.bot.slack.reminders import run_housekeeping
from skywarden.rules.remediation.environments import RemediationOptions, cloud_remediation_environment
from skywarden.scanners.errors import SkywardenError
from skywarden.scanners.providers import ScanTarget, provider
from skywarden.scanners.redact import redact_url
from skywarden.storage.db import now
from skywarden.storage.ledger import Ledger
from skywarden.storage.suppressions import ExceptionSync, sync_code_suppressions

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from skywarden.bot.core.ports import Publisher
    from skywarden.bot.core.workspace import WorkspacePolicy
    from skywarden.rules.model import Framework, Rule
    from skywarden.rules.remediation.environments import RemediationEnvironment

log = logging.getLogger(__name__)


def assemble(
    db_path: str,
    config: BotConfig,
    rules: Mapping[str, Rule],
    scan_runner: ScanRunner,
    client: WebClient | None = None,
    catalogues: Mapping[str, Framework] | None = None,
    remediation_env: RemediationEnvironment | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    scan_workers: int | None = None,
    workspace: WorkspacePolicy | None = None,
) -> Services:
    """Every component, each given what it uses. ``scan_workers`` None: scans.max_concurrent from the config."""
    ledger = Ledger(db_path)
    catalogues = catalogues if catalogues is not None else {}
    access = Access(config, usergroup_members(client) if client is not None else None)
    charts = ChannelCharts(ledger, config, rules, catalogues, client)
    publisher = SlackPublisher(ledger, client, config, rules, charts)
    policy = config.scans
    orchestrator = Orchestrator(ledger, scan_runner, publisher, scan_workers or policy.max_concurrent,
                                policy.timeout_s, policy.quiet)
    remediation = SlackRemediation(ledger, client, config, access, rules, remediation_env, publisher, clock)
    services = Services(ledger=ledger, config=config, rules=rules, catalogues=catalogues, access=access,
                        orchestrator=orchestrator, publisher=publisher,
                        remediation=remediation, charts=charts, clock=clock, client=client,
                        remediation_env=remediation_env, workspace=workspace)
    # Read through the container: a test (or an operator tool) moves time for every component at once.
    remediation.clock = lambda: services.clock()
    return services


def attach_publisher(services: Services, publisher: Publisher) -> None:
    """Send what Slack would receive somewhere else (the console prints it)."""
    services.publisher = publisher
    services.orchestrator.publisher = publisher
    if isinstance(services.remediation, SlackRemediation):
        services.remediation.publisher = publisher


def scheduler_for(services: Services, sync_interval_s: float = 30.0) -> ScanScheduler:
    """The scheduler `serve` runs (not started): scan schedules, daily housekeeping, the weekly digest."""
    publisher = services.publisher
    digest = publisher.weekly_digest if isinstance(publisher, SlackPublisher) else None
    scheduler = ScanScheduler(services.ledger, services.config, services.orchestrator,
                              housekeeping=lambda: run_housekeeping(services), weekly_digest=digest,
                              sync_interval_s=sync_interval_s)
    services.scheduler = scheduler
    return scheduler


def cloud_scan_runner(rules: list[Rule], config: BotConfig, azure: Mapping[str, Any] | None = None,
                      gcp: Mapping[str, Any] | None = None, broker: str | None = None) -> ScanRunner:
    """The production runner: the same scans the CLI runs, chosen by the request's provider.

    Azure and GCP take their credentials and endpoints from the standard environment (AZURE_*, SKYWARDEN_AZURE_*,
    GOOGLE_APPLICATION_CREDENTIALS, SKYWARDEN_GCP_*), exactly as `skywarden scan azure|gcp` does; ``azure`` and
    ``gcp`` pass extra arguments to plan_azure / plan_gcp (settings, credential or client), as the demo does.
    With a ``broker`` URL (``scan_broker``: SKYWARDEN_BROKER_URL or ``broker_url:``) AWS accounts are collected
    by `skywarden worker` processes; Azure and GCP stay in this process. Either way collection progress goes
    to the request's ScanControl.
    """

    options: dict[str, Mapping[str, Any]] = {"aws": {"accounts_file": config.accounts_file}, "azure": azure or {},
                                              "gcp": gcp or {}}

    def run(db: sqlite_utils.Database, request: ScanRequest) -> Any:
        cloud = provider(request.provider)
        if broker and cloud.name == "aws":
            return _distributed_aws(db, rules, config, broker, request)
        extra: dict[str, Any] = {}
        if request.control is not None:
            counter = UnitCounter(request.control.progress)
            extra = {"on_plan": counter.plan, "on_result": counter.advance}
        plan = cloud.plan_scan(ScanTarget(tuple(request.accounts), tuple(request.regions),
                                          {**(options.get(cloud.name) or {}), **extra}))
        return run_scan(db, rules, cloud.name, plan.description, plan.collect, request.trigger, request.requested_by,
                        request.control)

    return run


def _distributed_aws(db: sqlite_utils.Database, rules: list[Rule], config: BotConfig, broker: str,
                     request: ScanRequest) -> Any:
    """The scan `skywarden scan aws` runs with a broker: a broker that cannot be reached raises
    BrokerUnavailable (one line for the requester) after recording the scan as failed."""
    scope = AwsScope(accounts=list(request.accounts), regions=list(request.regions),
                     accounts_file=config.accounts_file)
    return scan_aws(db, rules, scope, trigger=request.trigger, requested_by=request.requested_by,
                    control=request.control, broker=broker)


def build_services(settings: Settings, db_path: str) -> Services:
    """Production wiring: rule packs, catalogues, the cloud runner, a retrying WebClient; suppressions.yml synced."""
    from skywarden.rules.frameworks import load_catalogues
    from skywarden.rules.loader import load_rules

    rules = load_rules()
    assert settings.bot_token is not None
    client = make_client(str(settings.bot_token), settings.api_url)
    broker = scan_broker(settings.config)
    if broker:
        log.info("AWS scans go through the workers of broker %s", redact_url(broker))
    services = assemble(db_path, settings.config, {r.id: r for r in rules},
                        cloud_scan_runner(rules, settings.config, broker=broker), client, load_catalogues(),
                        remediation_env=cloud_remediation_environment(RemediationOptions(settings.config.accounts_file)))
    sync_suppressions_file(services)
    return services


def console_services(db_path: str, config: BotConfig, scan_runner: ScanRunner | None = None) -> Services:
    """Services for the console: no WebClient; the rule packs if they load (listing must not depend on them)."""
    from skywarden.rules.frameworks import load_catalogues
    from skywarden.rules.loader import load_rules

    try:
        rules = load_rules()
        catalogues = load_catalogues()
    except SkywardenError:
        rules, catalogues = [], {}
    runner = scan_runner or cloud_scan_runner(rules, config, broker=scan_broker(config))
    services = assemble(db_path, config, {r.id: r for r in rules}, runner, None, catalogues,
                        remediation_env=cloud_remediation_environment(RemediationOptions(config.accounts_file)))
    sync_suppressions_file(services)
    return services


def sync_suppressions_file(services: Services) -> ExceptionSync | None:
    """Load suppressions.yml (the configured path, else ./suppressions.yml if present) into the database."""
    path = services.config.suppressions_file or Path(DEFAULT_SUPPRESSIONS)
    if services.config.suppressions_file is None and not path.exists():
        return None
    sync = sync_code_suppressions(services.db, load_suppressions(path), now())
    if sync.suppressed or sync.reopened:
        services.publisher.refresh([*sync.suppressed, *sync.reopened])
    return sync
