"""`/warden scan azure|gcp` through signed requests: the real scans against the loopback cloud stand-ins, with the
same digest, per-finding messages and buttons as AWS."""

from __future__ import annotations

import json

import pytest
from google.oauth2.credentials import Credentials

from skywarden.bot.core.settings import BotConfig, ConfigError, parse_config
from skywarden.bot.demo.azure_estate import PROD, demo_arm
from skywarden.bot.demo.azure_standin import StaticToken
from skywarden.bot.demo.gcp_estate import WEB, serve_demo_estate
from skywarden.bot.slack import ids
from skywarden.bot.slack.app import make_client
from skywarden.bot.wiring import assemble, cloud_scan_runner
from skywarden.rules.frameworks import load_catalogues
from skywarden.rules.loader import load_rules
from skywarden.scanners.gcp.credentials import asset_client
from tests.bot.helpers import make_app, slash


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def services_for(tmp_path, slack, rules, **runner_options):
    client = make_client("xoxb-test", slack.base_url, retries=1, backoff_s=0.01)
    runner = cloud_scan_runner(rules, BotConfig(), **runner_options)
    return assemble(str(tmp_path / "bot.db"), BotConfig(), {r.id: r for r in rules}, runner, client,
                    load_catalogues())


def posted(slack):
    return [c.args for c in slack.of("chat.postMessage")]


def run(app, services, text):
    response = slash(app, text)
    assert response.status == 200
    services.orchestrator.wait_idle()
    return json.loads(response.body)


def test_scan_azure_subscription_posts_findings(tmp_path, slack, rules):
    with demo_arm() as (_arm, settings):
        services = services_for(tmp_path, slack, rules, azure={"settings": settings, "credential": StaticToken()})
        try:
            reply = run(make_app(services), services, f"scan azure {PROD}")
            assert "started" in reply["text"]
            rows = list(services.db.query("SELECT provider, account_id, state FROM findings"))
        finally:
            services.close()
    assert rows and {r["provider"] for r in rows} == {"azure"} and {r["account_id"] for r in rows} == {PROD}
    messages = posted(slack)
    assert "azure" in json.dumps(messages[0]["blocks"]).lower()  # the digest names the scope
    buttons = [e["action_id"] for m in messages[1:] for b in m["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert ids.ACKNOWLEDGE in buttons and ids.SUPPRESS in buttons


def test_scan_gcp_project_posts_findings(tmp_path, slack, rules):
    with serve_demo_estate() as standin:
        client = asset_client(Credentials(token="test"), standin.endpoint)
        services = services_for(tmp_path, slack, rules, gcp={"client": client})
        try:
            run(make_app(services), services, f"scan gcp {WEB}")
            rows = list(services.db.query("SELECT DISTINCT provider, account_id FROM findings"))
        finally:
            services.close()
    assert rows == [{"provider": "gcp", "account_id": WEB}]
    assert len(posted(slack)) > 1


def test_scan_gcp_needs_a_project_and_unknown_providers_get_usage(tmp_path, slack, rules):
    services = services_for(tmp_path, slack, rules)
    try:
        app = make_app(services)
        assert "needs a project" in json.dumps(json.loads(slash(app, "scan gcp").body))
        assert "unknown provider" in json.dumps(json.loads(slash(app, "scan oracle").body))
    finally:
        services.close()
    assert posted(slack) == []


def test_configuration_names_azure_and_gcp_accounts():
    config = parse_config({"accounts": [
        {"id": PROD, "name": "azure-prod", "provider": "azure"},
        {"id": WEB, "name": "web", "provider": "gcp"},
    ]})
    assert config.account_id("azure-prod") == PROD and config.account_id("web") == WEB
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.id: 'nope' is not an Azure subscription id"):
        parse_config({"accounts": [{"id": "nope", "provider": "azure"}]})
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.provider"):
        parse_config({"accounts": [{"id": "x", "provider": "oracle"}]})
