"""A fourth cloud through the provider seam alone: one entry in PROVIDERS (with its plan_scan), one rule, and
the unchanged bot scans it, stores findings and shows the digest, from the console and from Slack; one
remediation environment on the rules-layer registry and the unchanged bot wiring reaches it."""

from __future__ import annotations

import io
import json
import re

import pytest

from skywarden.bot.console import run_chat
from skywarden.bot.core.settings import BotConfig, parse_config
from skywarden.bot.slack.app import make_client
from skywarden.bot.wiring import assemble, cloud_scan_runner, console_services
from skywarden.rules.remediation import environments
from skywarden.rules.remediation.environments import MultiCloudEnvironment, RemediationEnvironment, RemediationOptions
from skywarden.scanners.errors import RemediationError
from skywarden.scanners.model import CollectionResult, Inventory, Resource
from skywarden.scanners.named_registry import Registry
from skywarden.scanners.providers import PROVIDERS, CloudProvider, ScanPlan, ScanTarget
from skywarden.storage.findings import query_findings
from tests.bot.helpers import FRAMEWORK, make_app, rule, slash

TENANT = "t-4242"


def plan_acme(target: ScanTarget) -> ScanPlan:
    def collect(resource_types: frozenset[str]) -> Inventory:
        tenants = list(target.accounts) or [TENANT]
        resources = [Resource("acme", t, "global", "acme.vault", f"acme:{t}:vault/{name}", name, {},
                              {"encrypted": name != "plain"}) for t in tenants for name in ("plain", "sealed")]
        coverage = [CollectionResult("acme", t, "vaults", "global", ("acme.vault",), "ok", resource_count=2)
                    for t in tenants]
        return Inventory("acme", resources, coverage, {t: t for t in tenants}, ["global"])

    return ScanPlan({"tenants": list(target.accounts)}, collect)


@pytest.fixture
def acme(monkeypatch):
    cloud = CloudProvider("acme", "tenant", re.compile(r"t-\d{4}"), "an Acme tenant id (t-NNNN)", regional=False,
                          plan_scan=plan_acme, needs_account=True)
    monkeypatch.setitem(PROVIDERS, "acme", cloud)
    return cloud


def acme_rules():
    vault = rule("acme-vault-encrypted", "encrypted", "high", None, resource_type="acme.vault")
    return {vault.id: vault}


def test_a_fake_provider_scans_through_the_console(tmp_path, acme):
    rules = acme_rules()
    services = assemble(str(tmp_path / "acme.db"), BotConfig(), rules, cloud_scan_runner(list(rules.values()),
                        BotConfig()), None, {"test-fw": FRAMEWORK})
    out = io.StringIO()
    try:
        run_chat(services, user="U0ALICE", stdin=io.StringIO("scan acme\nscan acme t-4242\nfindings\nquit\n"), out=out)
        rows = query_findings(services.db)
    finally:
        services.close()
    text = out.getvalue()
    assert "scan acme needs a tenant" in text  # the provider's own word and rule, no bot code for it
    assert "scan 1 succeeded" in text and "1 new" in text  # the digest, printed by the console
    assert "acme:t-4242:vault/plain" in text
    assert [(r["provider"], r["account_id"], r["resource_id"]) for r in rows] == [
        ("acme", TENANT, "acme:t-4242:vault/plain")]


def test_a_fake_provider_scans_from_slack_and_its_accounts_configure(tmp_path, slack, acme):
    config = parse_config({"accounts": [{"id": TENANT, "name": "acme-prod", "provider": "acme"}]}, "test.yaml")
    with pytest.raises(Exception, match="is not an Acme tenant id"):
        parse_config({"accounts": [{"id": "tenant-1", "provider": "acme"}]}, "test.yaml")
    rules = acme_rules()
    client = make_client("xoxb-test", slack.base_url, retries=1, backoff_s=0.01)
    services = assemble(str(tmp_path / "acme.db"), config, rules, cloud_scan_runner(list(rules.values()), config),
                        client, {"test-fw": FRAMEWORK})
    try:
        response = slash(make_app(services), "scan acme acme-prod")
        assert response.status == 200 and "started" in json.loads(response.body)["text"]
        services.orchestrator.wait_idle()
        states = [r["state"] for r in query_findings(services.db)]
    finally:
        services.close()
    assert states == ["open"]
    posted = [c.args for c in slack.of("chat.postMessage")]
    assert "acme" in json.dumps(posted[0]["blocks"]).lower()  # the digest names the scope
    assert any("acme:t-4242:vault/plain" in json.dumps(m["blocks"]) for m in posted[1:])


class AcmeRemediation(RemediationEnvironment):
    def __init__(self, options: RemediationOptions) -> None:
        self.options = options

    def collect(self, finding):
        return None


def test_a_fake_provider_gets_remediation_through_the_registry(tmp_path, acme, monkeypatch):
    registry = Registry("remediation environment")
    for name, factory in environments.ENVIRONMENTS.items():
        registry.add(name, factory)
    registry.add("acme", AcmeRemediation)
    monkeypatch.setattr(environments, "ENVIRONMENTS", registry)
    config = parse_config({"accounts": [{"id": TENANT, "name": "acme-prod", "provider": "acme"}]}, "test.yaml")
    services = console_services(str(tmp_path / "acme.db"), config, scan_runner=lambda db, request: None)
    try:
        env = services.remediation_env
        assert isinstance(env, MultiCloudEnvironment)
        assert isinstance(env.for_provider("acme"), AcmeRemediation)  # built by the unchanged bot wiring
        assert sorted(env.environments) == ["acme", "aws", "azure", "gcp"]
    finally:
        services.close()


def test_a_provider_without_remediation_has_none(acme):
    env = environments.cloud_remediation_environment()
    assert "acme" not in env.environments and "aws" in env.environments
    with pytest.raises(RemediationError, match="not configured for acme"):
        env.for_provider("acme")
