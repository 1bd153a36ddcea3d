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

from skywarden.bot.core.orchestrator import Orchestrator, ScanRequest, ScanRunner
from skywarden.bot.core.progress_updates import UnitCounter
from skywarden.bot.core.scanning import run_scan
from skywarden.bot.settings import Access, BotConfig, Settings, scan_broker
from skywarden.bot.slack import blocks
from skywarden.bot.slack.guards import WorkspacePolicy
from skywarden.bot.slack.posting import Publisher, SlackPublisher
from skywarden.bot.slack.remediation import SlackRemediation
from skywarden.rules.model import Framework, Rule
from skywarden.rules.remediation.environments import (
    RemediationEnvironment,
    RemediationOptions,
    cloud_remediation_environment,
)
from skywarden.scanners.errors import SkywardenError
from skywarden.scanners.providers import ScanTarget, provider
from skywarden.scanners.redact import redact, redact_url, secrets_from_env
from skywarden.storage.db import open_db

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 10.0  # Slack sends a few kilobytes at once; nothing legitimate takes this long


@dataclass
class Services:
    db_path: str
    config: BotConfig
    rules: Mapping[str, Rule]
    scan_runner: ScanRunner
    client: WebClient | None = None
    catalogues: Mapping[str, Framework] = field(default_factory=dict)
    remediation_env: RemediationEnvironment | None = None  # None: remediation from chat is unavailable
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    scan_workers: int | None = None  # None: scans.max_concurrent from the configuration
    workspace: WorkspacePolicy | None = None  # None: config.workspace; `serve` fills in the token's workspace
    publisher: Publisher = field(init=False)
    orchestrator: Orchestrator = field(init=False)
    access: Access = field(init=False)
    remediation: SlackRemediation = field(init=False)

    def __post_init__(self) -> None:
        self._local = threading.local()
        self.db  # noqa: B018 - apply migrations once, before any worker thread opens its own connection
        self.access = Access(self.config, self._group_members if self.client else None)
        self.publisher = SlackPublisher(self)
        policy = self.config.scans
        self.orchestrator = Orchestrator(self, self.scan_workers or policy.max_concurrent, policy.timeout_s,
                                         policy.quiet)
        self.scheduler: Any = None  # bot.core.jobs.ScanScheduler, once `serve` (or a test) starts one
        self.remediation = SlackRemediation(self)

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

    def schedule_changed(self) -> None:
        """A schedule was added, removed, paused or resumed here: apply it now (others are seen by polling)."""
        if self.scheduler is not None:
            self.scheduler.sync()

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.orchestrator.shutdown()
        self.remediation.shutdown()


def make_client(token: str, base_url: str | None = None, retries: int = 2, backoff_s: float = 0.5) -> WebClient:
    """A WebClient that retries 429 (honouring Retry-After) and 500/503 with backoff, then gives up to the outbox."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=retries))
    client.retry_handlers.append(ServerErrorRetryHandler(
        max_retry_count=retries, interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff_s)))
    return client


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
    from skywarden.bot.core.scanning import AwsScope, scan_aws

    scope = AwsScope(accounts=list(request.accounts), regions=list(request.regions),
                     accounts_file=config.accounts_file)
    return scan_aws(db, rules, scope, trigger=request.trigger, requested_by=request.requested_by,
                    control=request.control, broker=broker)


def create_app(settings: Settings, services: Services, process_before_response: bool = False,
               token_verification: bool = True) -> App:
    """The Bolt app with every listener registered. Socket Mode needs no signing secret; HTTP mode does."""
    from skywarden.bot.slack.listeners import register_all

    signing_secret = str(settings.signing_secret) if settings.signing_secret else ""
    app = App(
        client=services.client,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
        token_verification_enabled=token_verification,
        ignoring_self_events_enabled=True,
    )
    from skywarden.bot.slack import guards

    guards.install(app, services)
    app.skywarden_registered = register_all(app, services)  # type: ignore[attr-defined]
    app.skywarden_signing_secret = signing_secret  # type: ignore[attr-defined]  # for HTTP mode's front door


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


def build_services(settings: Settings, db_path: str) -> Services:
    """Production wiring: rule packs, catalogues, the AWS runner, a retrying WebClient; suppressions.yml synced."""
    from skywarden.rules.frameworks import load_catalogues
    from skywarden.rules.loader import load_rules

    rules = load_rules()
    assert settings.bot_token is not None
    client = make_client(str(settings.bot_token), settings.api_url)
    broker = scan_broker(settings.config)
    if broker:
        log.info("AWS scans go through the workers of broker %s", redact_url(broker))
    services = Services(db_path, settings.config, {r.id: r for r in rules},
                        cloud_scan_runner(rules, settings.config, broker=broker), client, load_catalogues(),
                        remediation_env=cloud_remediation_environment(RemediationOptions(settings.config.accounts_file)))
    sync_suppressions_file(services)
    return services


def sync_suppressions_file(services: Services) -> Any:
    """Load suppressions.yml (the configured path, else ./suppressions.yml if present) into the database."""
    from pathlib import Path

    from skywarden.bot.settings import DEFAULT_SUPPRESSIONS, load_suppressions
    from skywarden.storage.db import now
    from skywarden.storage.suppressions import sync_code_suppressions

    path = services.config.suppressions_file or Path(DEFAULT_SUPPRESSIONS)
    if services.config.suppressions_file is None and not path.exists():
        return None
    sync = sync_code_suppressions(services.db, load_suppressions(path), now())
    if sync.suppressed or sync.reopened:
        services.publisher.refresh([*sync.suppressed, *sync.reopened])
    return sync


def verify_token(client: WebClient) -> dict[str, Any]:
    """auth.test before anything else, so a bad token is one clear line, not a Bolt traceback."""
    from urllib.error import URLError

    try:
        return dict(client.auth_test().data)  # type: ignore[arg-type]
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else str(exc)
        raise SkywardenError(f"SLACK_BOT_TOKEN was refused by Slack ({error})") from exc
    except (URLError, OSError) as exc:
        where, why = redact_url(client.base_url), redact(str(exc), secrets_from_env())
        raise SkywardenError(f"cannot reach the Slack Web API at {where}: {why}") from exc


class _Handler:
    """HTTP mode: POST /slack/events -> bot.slack.intake (size, signature, encoding) -> app.dispatch; threads,
    TCP_NODELAY."""

    @staticmethod
    def make(app: App, path: str = "/slack/events", signing_secret: str | None = None) -> type:
        from http.server import BaseHTTPRequestHandler

        from slack_bolt import BoltRequest

        from skywarden.bot.slack import intake

        secret = signing_secret if signing_secret is not None else getattr(app, "skywarden_signing_secret", "")
        if not secret:
            raise SkywardenError("HTTP mode needs SLACK_SIGNING_SECRET")

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"
            timeout = READ_TIMEOUT_S  # a client that stalls mid-request holds its thread this long at most

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("http: " + fmt, *args)

            def _refuse(self, refused: intake.Refused, read: bool) -> None:
                log.warning("refused a request to %s from %s: %s (%s)", self.path[:80], self.client_address[0],
                            refused.status, refused.reason)
                if not read:  # what is left of the body would be read as the next request
                    self.close_connection = True
                self._send(refused.status, {401: "unauthorized", 404: "not found", 413: "payload too large"}
                           .get(refused.status, "bad request"), {"Connection": "close"} if not read else {})

            def _read(self, length: int) -> bytes:
                try:
                    raw = self.rfile.read(length)
                except OSError as exc:  # a timeout or a reset mid-body
                    raise intake.Refused(408, f"body not received ({type(exc).__name__})") from None
                if len(raw) < length:
                    raise intake.Refused(400, "body shorter than its Content-Length")
                return raw

            def _send(self, status: int, body: str, headers: Mapping[str, Any]) -> None:
                data = body.encode()
                self.send_response(status)
                for key, values in headers.items():
                    if key.lower() == "content-length":
                        continue
                    for value in values if isinstance(values, list | tuple) else [values]:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                if self.path.split("?")[0] != path:
                    self._refuse(intake.Refused(404, "unknown path"), read=False)
                    return
                plain_headers = {k.lower(): v for k, v in self.headers.items()}
                read = False
                try:
                    length = intake.body_length(plain_headers)
                    raw = self._read(length)
                    read = True
                    body = intake.verify(secret, raw, plain_headers)
                except intake.Refused as refused:
                    self._refuse(refused, read)
                    return
                headers = {k.lower(): [v] for k, v in self.headers.items()}
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                response = app.dispatch(BoltRequest(body=body, query=query, headers=headers))
                self._send(response.status, response.body, response.headers)

        return Handler


def http_server(app: App, host: str = "127.0.0.1", port: int = 3000, signing_secret: str | None = None) -> Any:
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            # A client that vanishes mid-request is one line in the log, not a traceback on stderr.
            import sys

            exc = sys.exc_info()[1]
            log.warning("http: request from %s ended: %s: %s", client_address[0], type(exc).__name__, exc)

    return Server((host, port), _Handler.make(app, signing_secret=signing_secret))


def serve(settings: Settings, db_path: str, http: bool = False, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the bot until interrupted: Socket Mode by default, HTTP at /slack/events with --http."""
    settings.check(http)
    assert settings.bot_token is not None
    services = build_services(settings, db_path)
    identity = verify_token(services.client)  # type: ignore[arg-type]
    if not settings.config.workspace.configured:
        services.workspace = WorkspacePolicy.from_auth_test(identity)

    app = create_app(settings, services, token_verification=False)
    from skywarden.bot.core.jobs import ScanScheduler

    ScanScheduler(services).start()  # marks scans a dead process left running as interrupted, first
    services.orchestrator.start_outbox_timer()
    services.publisher.flush()  # whatever an earlier run could not send
    log.info("connected as %s in %s", identity.get("user"), identity.get("team"))
    try:
        if http:
            server = http_server(app, host, port)
            print(f"Skywarden listening on http://{host}:{server.server_address[1]}/slack/events", flush=True)
            server.serve_forever()
        else:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, app_token=str(settings.app_token))
            try:
                handler.connect()
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else exc
                raise SkywardenError(f"SLACK_APP_TOKEN was refused by Slack ({error})") from exc
            print("Skywarden connected in Socket Mode", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
