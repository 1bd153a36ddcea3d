"""Signed Slack requests, a fake estate whose scans produce real findings via reconcile, and the services."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.core.scanning import ScanOutcome
from skywarden.bot.core.settings import BotConfig, Secret, Settings
from skywarden.bot.services import Services
from skywarden.bot.slack.app import create_app, make_client
from skywarden.bot.wiring import assemble
from skywarden.rules.conditions import compile_condition
from skywarden.rules.engine import Engine
from skywarden.rules.evidence import compile_explainer, compile_template
from skywarden.rules.model import Control, Framework, Rule
from skywarden.rules.passes import all_evaluations
from skywarden.scanners.model import CollectionResult, Inventory, Resource
from skywarden.storage import scans
from skywarden.storage.check_results import record_check_results
from skywarden.storage.db import now
from skywarden.storage.findings import reconcile

SECRET = "test-signing-secret"
ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
TEAM = "T0TEAM"


def rule(rule_id: str, key: str, severity: str = "high", action: str | None = None,
         resource_type: str = "aws.s3.bucket", controls: tuple[str, ...] = ("1.1",)) -> Rule:
    errors: list[Any] = []
    reads: set[str] = set()
    condition = {"key": key, "op": "eq", "value": True}
    check = compile_condition(condition, "check", errors, reads)
    assert not errors
    return Rule(rule_id, f"Bucket has {key}", "", severity, resource_type, {"test-fw": controls},
                f"Turn on {key} in the console.", action, "test", check, None, frozenset(reads),
                failure=compile_template(f"Bucket {{name}} is not {key}"), explain=compile_explainer(condition))


RULES = {
    r.id: r
    for r in (
        rule("aws-s3-bucket-block-public-access", "blocked", "critical", "aws.s3.block_public_access",
             controls=("1.1",)),
        rule("aws-s3-bucket-versioning", "versioned", "medium", None, controls=("1.2",)),
    )
}
FRAMEWORK = Framework("test-fw", "Test framework", "1", {
    "1.1": Control("1.1", "Block public access", "1", True),
    "1.2": Control("1.2", "Versioning", "1", True),
})


def bucket(name: str, account: str = ACCOUNT, **props: Any) -> Resource:
    props = {"blocked": True, "versioned": True, **props}
    return Resource("aws", account, "us-east-1", "aws.s3.bucket", f"arn:aws:s3:::{name}", name, {}, props)


@dataclass
class FakeEstate:
    """What the next scan 'sees'; the runner stores it through the real reconcile."""

    resources: list[Resource] = field(default_factory=list)
    failed_accounts: set[str] = field(default_factory=set)
    requests: list[ScanRequest] = field(default_factory=list)
    gate: Any = None  # a threading.Event the runner waits on (to hold a scan "running")

    def runner(self, db: Any, request: ScanRequest) -> ScanOutcome:
        self.requests.append(request)
        if self.gate is not None:
            self.gate.wait(10)
        accounts = list(request.accounts) or sorted({r.account_id for r in self.resources} | {ACCOUNT})
        resources = [r for r in self.resources if r.account_id in accounts]
        coverage = [
            CollectionResult("aws", a, "s3", "global", ("aws.s3.bucket",),
                             "failed" if a in self.failed_accounts else "ok",
                             "AccessDenied" if a in self.failed_accounts else None,
                             "not authorized" if a in self.failed_accounts else None)
            for a in accounts
        ]
        inventory = Inventory("aws", resources, coverage, {a: a for a in accounts}, ["us-east-1"])
        scan_id = scans.start_scan(db, "aws", {"accounts": accounts}, request.trigger, request.requested_by)
        scans.record_coverage(db, scan_id, coverage)
        report = Engine(list(RULES.values())).evaluate(resources)
        at = now()
        result = reconcile(db, scan_id, inventory, report, at)
        record_check_results(db, scan_id, all_evaluations(report, inventory.resources), at)  # as scans do
        status = "partial" if inventory.gaps else "succeeded"
        summary = {"resources": len(resources), **result.summary()}
        scans.finish_scan(db, scan_id, status, summary)
        return ScanOutcome(scan_id, status, inventory, report, result, summary)


def make_services(db_path: str, standin: Any, estate: FakeEstate, config: BotConfig | None = None,
                  retries: int = 1) -> Services:
    client = make_client("xoxb-test", standin.base_url, retries=retries, backoff_s=0.01)
    return assemble(str(db_path), config or BotConfig(), RULES, estate.runner, client, {"test-fw": FRAMEWORK})


def make_app(services: Services, process_before_response: bool = True) -> App:
    settings = Settings(bot_token=Secret("xoxb-test"), signing_secret=Secret(SECRET), config=services.config)
    return create_app(settings, services, process_before_response=process_before_response)


# ---------------------------------------------------------------- signed requests
_TRIGGERS = itertools.count(1)


def trigger_id() -> str:
    """Unique per interaction, as Slack's are: two identical bodies are one request delivered twice."""
    return f"trig-{next(_TRIGGERS)}.{time.time_ns()}"


def sign(body: str, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={mac}"}


def dispatch(app: App, body: str, content_type: str, headers: dict[str, str] | None = None) -> BoltResponse:
    headers = headers if headers is not None else sign(body)
    merged = {k.lower(): [v] for k, v in headers.items()}
    merged["content-type"] = [content_type]
    return app.dispatch(BoltRequest(body=body, headers=merged))


def slash_body(text: str, user: str = "U0ALICE", channel: str = "C0TEAM", response_url: str = "") -> str:
    return urlencode({
        "token": "x", "team_id": TEAM, "team_domain": "t", "channel_id": channel, "channel_name": "team",
        "user_id": user, "user_name": user.lower(), "command": "/warden", "text": text, "api_app_id": "A0APP",
        "response_url": response_url, "trigger_id": trigger_id(),
    })


def slash(app: App, text: str, user: str = "U0ALICE", channel: str = "C0TEAM", response_url: str = "",
          headers: dict[str, str] | None = None) -> BoltResponse:
    body = slash_body(text, user, channel, response_url)
    return dispatch(app, body, "application/x-www-form-urlencoded", headers)


def interactive(app: App, payload: dict[str, Any], headers: dict[str, str] | None = None) -> BoltResponse:
    body = urlencode({"payload": json.dumps(payload)})
    return dispatch(app, body, "application/x-www-form-urlencoded", headers)


def click(app: App, action_id: str, value: str, user: str = "U0ALICE", channel: str = "C0TEAM",
          ts: str = "1700000000.000001", response_url: str = "", ephemeral: bool = False) -> BoltResponse:
    payload = {
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
        "trigger_id": trigger_id(), "response_url": response_url,
        "container": {"type": "message", "channel_id": channel, "message_ts": ts, "is_ephemeral": ephemeral},
        "channel": {"id": channel}, "message": {"ts": ts, "text": "x"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                     "action_ts": str(time.time())}],
    }
    return interactive(app, payload)


def submit_suppress(app: App, finding_id: str, reason: str, until: str | None, scope: str = "resource",
                    user: str = "U0ALICE", channel: str = "C0TEAM") -> BoltResponse:
    values = {
        "reason_block": {"reason": {"type": "plain_text_input", "value": reason}},
        "until_block": {"until": {"type": "datepicker", "selected_date": until}},
        "scope_block": {"scope": {"type": "radio_buttons", "selected_option": {"value": scope}}},
    }
    payload = {
        "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
        "trigger_id": trigger_id(),
        "view": {"id": "V0VIEW", "type": "modal", "callback_id": "suppress_modal",
                 "private_metadata": json.dumps({"finding": finding_id, "channel": channel}),
                 "state": {"values": values}},
    }
    return interactive(app, payload)


def event(app: App, inner: dict[str, Any], headers: dict[str, str] | None = None) -> BoltResponse:
    body = json.dumps({
        "token": "x", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": inner,
    })
    return dispatch(app, body, "application/json", headers)
