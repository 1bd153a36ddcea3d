"""Two checks every Slack request passes after its signature, in HTTP and Socket Mode alike (Bolt middleware):

1. it comes from the installed workspace (``workspace:`` in skywarden.yml, else the team auth.test reports at
   ``serve``): one app's signing secret is shared by every workspace that installs it, so a valid signature alone
   does not say "ours";
2. it has not been handled already: a signed request stays valid for 5 minutes, and Slack itself resends events
   and Socket Mode envelopes, so a second delivery of the same request is acknowledged and does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse

from skywarden.bot.core.workspace import WorkspacePolicy, parse_workspace  # noqa: F401 - re-exported
from skywarden.storage import replays

if TYPE_CHECKING:
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)

# Payloads Slack sends before or outside any workspace (the app's URL check); Bolt answers them itself.
_NO_WORKSPACE = ("url_verification", "ssl_check")


def delivery_keys(request: BoltRequest) -> list[str]:
    """What identifies one delivery: the exact body (a replay is byte for byte; the signature covers it and its
    timestamp, and every genuine interaction differs in trigger_id or action_ts), and an event's event_id (Slack's
    own retries of an event keep it)."""
    body = request.body if isinstance(request.body, dict) else {}
    # Socket Mode hands Bolt the parsed payload (no raw body): a resent envelope carries the same payload.
    raw = request.raw_body or json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    keys = ["body:" + hashlib.sha256(raw.encode()).hexdigest()]
    if isinstance(body.get("event_id"), str):
        keys.append("event:" + body["event_id"])
    return keys


def install(app: App, ledger: Ledger, workspace: Callable[[], WorkspacePolicy],
            clock: Callable[[], float] = time.time) -> None:
    """Register both checks as global middleware (after Bolt's own signature verification). ``workspace`` is
    asked on every request: ``serve`` learns the token's own workspace only after the app is built."""

    def workspace_check(request: BoltRequest, context: Any, next: Callable[[], BoltResponse]) -> Any:  # noqa: A002
        policy = workspace()
        body = request.body if isinstance(request.body, dict) else {}
        if policy.configured and body.get("type") not in _NO_WORKSPACE and \
                not policy.allows(context.team_id, context.enterprise_id):
            log.warning("refused a request from another workspace (team %s, enterprise %s)",
                        _printable(context.team_id), _printable(context.enterprise_id))
            return BoltResponse(status=403, body="This Skywarden serves another workspace.")
        return next()

    def replay_check(request: BoltRequest, next: Callable[[], BoltResponse]) -> Any:  # noqa: A002
        if not replays.first_time(ledger.db, delivery_keys(request), clock()):
            log.info("ignored a repeated delivery of a request already handled")
            return BoltResponse(status=200, body="")
        return next()

    app.use(workspace_check)
    app.use(replay_check)


def _printable(value: str | None) -> str:
    # Ids from a foreign payload go to the log: keep them short and on one line.
    return repr(value)[:40] if value is not None else "none"

