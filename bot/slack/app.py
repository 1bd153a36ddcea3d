"""The Bolt app: ``create_app(settings, services) -> App`` with every listener and request guard, the retrying
WebClient, the token check, and HTTP mode's front door. The components are built by ``bot.wiring``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from skywarden.bot.core.settings import Settings
from skywarden.bot.slack import blocks
from skywarden.scanners.errors import SkywardenError
from skywarden.scanners.redact import redact, redact_url, secrets_from_env

if TYPE_CHECKING:
    from skywarden.bot.services import Services

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 10.0  # Slack sends a few kilobytes at once; nothing legitimate takes this long


def usergroup_members(client: WebClient) -> Callable[[str], set[str]]:
    """How Access resolves a Slack user group (S…) named in permissions: usergroups.users.list, empty on error."""

    def members(group: str) -> set[str]:
        try:
            return set(client.usergroups_users_list(usergroup=group).get("users") or [])
        except SlackApiError as exc:
            log.warning("cannot read user group %s: %s", group, exc.response.get("error"))
            return set()

    return members


def make_client(token: str, base_url: str | None = None, retries: int = 2, backoff_s: float = 0.5) -> WebClient:
    """A WebClient that retries 429 (honouring Retry-After) and 500/503 with backoff, then gives up to the outbox."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=retries))
    client.retry_handlers.append(ServerErrorRetryHandler(
        max_retry_count=retries, interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff_s)))
    return client


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

    guards.install(app, services.ledger, services.workspace_policy)
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
