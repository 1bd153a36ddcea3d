"""`skywarden serve`: the bot until interrupted, in Socket Mode (the default) or HTTP mode at /slack/events."""

from __future__ import annotations

import logging
import threading

from slack_sdk.errors import SlackApiError

from skywarden.bot.core.settings import Settings
from skywarden.bot.core.workspace import WorkspacePolicy
from skywarden.bot.slack.app import create_app, http_server, verify_token
from skywarden.bot.wiring import build_services, scheduler_for
from skywarden.scanners.errors import SkywardenError

log = logging.getLogger(__name__)


def serve(settings: Settings, db_path: str, http: bool = False, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the bot until interrupted: Socket Mode by default, HTTP at /slack/events with --http."""
    settings.check(http)
    assert settings.bot_token is not None
    services = build_services(settings, db_path)
    identity = verify_token(services.client)  # type: ignore[arg-type]
    if not settings.config.workspace.configured:
        services.workspace = WorkspacePolicy.from_auth_test(identity)

    app = create_app(settings, services, token_verification=False)
    scheduler_for(services).start()  # marks scans a dead process left running as interrupted, first
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
