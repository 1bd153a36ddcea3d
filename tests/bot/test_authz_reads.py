"""Reads are authorised: findings, status, posture, suppressions and App Home show a user only the accounts
permissions.read (else permissions.scan) allows, and a digest names only the accounts routed to its channel.
Everything through signed requests and the Web API stand-in."""

from __future__ import annotations

import json

import pytest

from skywarden.bot.core.settings import parse_config
from skywarden.storage import audit
from skywarden.storage.findings import query_findings
from tests.bot.helpers import ACCOUNT, OTHER_ACCOUNT, bucket, event, make_app, make_services, slash

ACCOUNTS = [{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}]
RESTRICTED = {"scan": {"U0ALICE": "*", "U0BOB": ["dev"]}}


def reply_text(response) -> str:
    body = json.loads(response.body)
    return json.dumps([body["text"], body.get("blocks")])


@pytest.fixture
def world(tmp_path, slack, estate):
    """prod: a bucket failing versioning (control 1.2); dev: one failing block public access (1.1)."""
    estate.resources = [bucket("prod-logs", ACCOUNT, versioned=False), bucket("dev-site", OTHER_ACCOUNT,
                                                                             blocked=False)]
    made = []

    def build(**config):
        services = make_services(tmp_path / f"bot{len(made)}.db", slack, estate,
                                 parse_config({"accounts": ACCOUNTS, **config}))
        made.append(services)
        app = make_app(services)
        assert slash(app, "scan aws", user="U0ALICE").status == 200
        services.orchestrator.wait_idle()
        return services, app

    yield build
    for services in made:
        services.close()


def test_findings_show_only_readable_accounts(world):
    services, app = world(permissions=RESTRICTED)
    everything = reply_text(slash(app, "findings", user="U0ALICE"))
    assert "prod-logs" in everything and "dev-site" in everything
    bobs = reply_text(slash(app, "findings", user="U0BOB"))
    assert "dev-site" in bobs and "prod-logs" not in bobs and ACCOUNT not in bobs
    refused = reply_text(slash(app, "findings prod", user="U0BOB"))
    assert "Not allowed: you are not allowed to see prod (permissions.scan)" in refused and "prod-logs" not in refused
    (event_,) = [e for e in audit.events(services.db) if e["action"] == "refused"]
    assert (event_["actor"], event_["details"]["action"], event_["details"]["account"]) == ("U0BOB", "findings",
                                                                                          ACCOUNT)
    nobody = reply_text(slash(app, "findings", user="U0MALLORY"))  # in no grant: sees nothing at all
    assert "prod-logs" not in nobody and "dev-site" not in nobody


def test_permissions_read_overrides_scan_and_no_permissions_stay_open(world):
    _, app = world(permissions={**RESTRICTED, "read": {"U0CAROL": ["prod"], "S0AUDIT": "*"}})
    carols = reply_text(slash(app, "findings", user="U0CAROL"))
    assert "prod-logs" in carols and "dev-site" not in carols
    assert "you are not allowed to see dev (permissions.read)" in reply_text(slash(app, "findings dev",
                                                                                   user="U0CAROL"))
    assert "dev-site" not in reply_text(slash(app, "findings", user="U0BOB"))  # read given: scan no longer counts
    _, open_app = world()  # a one-team install: everyone sees everything
    anyone = reply_text(slash(open_app, "findings", user="U0MALLORY"))
    assert "prod-logs" in anyone and "dev-site" in anyone


def test_posture_and_suppressions_count_only_readable_accounts(world):
    services, app = world(permissions=RESTRICTED)
    (prod_logs,) = [f for f in query_findings(services.db) if f["resource_name"] == "prod-logs"]
    assert "0 of 2 checked controls passing (0.0%), 2 failing" in reply_text(slash(app, "posture", user="U0ALICE"))
    assert "1 of 2 checked controls passing (50.0%), 1 failing" in reply_text(slash(app, "posture", user="U0BOB"))
    assert "you may not see any account" in reply_text(slash(app, "posture", user="U0MALLORY"))
    slash(app, f'suppress {prod_logs["number"]} --reason "prod logs are replicated"', user="U0ALICE")
    assert "replicated" in reply_text(slash(app, "suppressions", user="U0ALICE"))
    assert "replicated" not in reply_text(slash(app, "suppressions", user="U0BOB"))


def test_status_shows_only_scans_within_readable_accounts(world, estate):
    services, app = world(permissions=RESTRICTED)
    estate.failed_accounts = {ACCOUNT}
    slash(app, "scan aws prod", user="U0ALICE")
    services.orchestrator.wait_idle()
    slash(app, "scan aws dev", user="U0ALICE")
    services.orchestrator.wait_idle()
    alices = reply_text(slash(app, "status", user="U0ALICE"))
    assert all(f"*scan {n}*" in alices for n in (1, 2, 3)) and f"gap: {ACCOUNT}" in alices
    bobs = reply_text(slash(app, "status", user="U0BOB"))
    assert "*scan 3*" in bobs and "*scan 1*" not in bobs and "*scan 2*" not in bobs and ACCOUNT not in bobs


def test_app_home_shows_only_readable_accounts(world, slack):
    _, app = world(permissions=RESTRICTED)
    slack.clear()
    event(app, {"type": "app_home_opened", "user": "U0BOB", "tab": "home", "channel": "D0"})
    event(app, {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "channel": "D0"})
    bobs, alices = (json.dumps(call.args["view"]) for call in slack.of("views.publish"))
    assert "dev" in bobs and "prod" not in bobs and ":white_check_mark: 1 passing \\u00b7 :x: 1 failing" in bobs
    assert "prod" in alices and "dev" in alices and ":white_check_mark: 0 passing \\u00b7 :x: 2 failing" in alices


def test_a_digest_names_only_the_accounts_routed_to_its_channel(world, slack, estate):
    estate.failed_accounts = {ACCOUNT}
    slack.clear()
    world(routing=[{"channel": "C0PROD", "accounts": ["prod"]}, {"channel": "C0DEV", "accounts": ["dev"]}])
    posts = {}
    for call in slack.of("chat.postMessage"):
        posts.setdefault(call.args["channel"], []).append(json.dumps([call.args["text"], call.args.get("blocks")]))
    assert set(posts) == {"C0PROD", "C0DEV"}
    dev, prod = "\n".join(posts["C0DEV"]), "\n".join(posts["C0PROD"])
    assert OTHER_ACCOUNT in dev and "dev-site" in dev
    assert ACCOUNT not in dev and "prod" not in dev and "Coverage gaps" not in dev
    assert ACCOUNT in prod and "Coverage gaps (1)" in prod and OTHER_ACCOUNT not in prod and "dev-site" not in prod
