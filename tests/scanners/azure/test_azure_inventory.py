"""Inventory mechanics against the loopback stand-in: call counts, paging, throttling, 403, credentials."""

from __future__ import annotations

import time

import pytest

from skywarden.bot.core.scanning_azure import AzureScope, scan_azure
from skywarden.bot.demo.azure_estate import PROD, RESTRICTED, SANDBOX, build_estate, demo_arm
from skywarden.bot.demo.azure_standin import ArmStandIn, StaticToken
from skywarden.scanners.azure.context import AzureClients
from skywarden.scanners.azure.credentials import AzureSettings
from skywarden.scanners.azure.scan import collect_azure, resolve_subscriptions
from skywarden.scanners.errors import CollectionError
from skywarden.storage.findings import query_findings
from tests.support.aws import pack_rules

STORAGE = ["azure.storage.account", "azure.network.nsg", "azure.compute.vm", "azure.compute.disk"]


def _settings(arm: ArmStandIn, **overrides) -> AzureSettings:
    overrides.setdefault("retry_total", 0)
    return AzureSettings(arm_url=arm.base_url, ca_bundle=str(arm.cert_path), **overrides)


def _collect(arm: ArmStandIn, subscriptions, types=None, **overrides):
    clients = AzureClients(_settings(arm, **overrides), StaticToken())
    return collect_azure(clients, resolve_subscriptions(clients, subscriptions), types, max_workers=4)


def test_graph_needs_fewer_calls_than_per_resource_arm():
    with demo_arm() as (arm, _):
        graph = _collect(arm, [PROD], STORAGE)
        graph_calls = len(arm.requests) - 1  # minus the subscription GET
        before = len(arm.requests)
        per_resource = _collect(arm, [PROD], STORAGE, inventory_source="arm")
        arm_calls = len(arm.requests) - before - 1
    assert sorted(r.id for r in graph.resources) == sorted(r.id for r in per_resource.resources)
    assert {r.id: r.properties for r in graph.resources} == {r.id: r.properties for r in per_resource.resources}
    resources = len(graph.resources)
    assert resources == 11
    # 1 Resource Graph query vs 1 list + 3 provider namespaces + 1 GET per resource (see inventory.py), plus the
    # same child reads in both modes: blob and file services + blob/queue/table diagnostic settings for the two
    # StorageV2 accounts, blob service + blob diagnostic settings for the BlockBlobStorage one.
    children = 5 + 5 + 2
    assert (graph_calls, arm_calls) == (1 + children, 1 + 3 + resources + children)


def test_resource_graph_pages_on_skip_token_and_lists_follow_next_link():
    with ArmStandIn(graph_page_size=2, list_page_size=1) as arm:
        build_estate(arm, restricted_denied=False)
        inventory = _collect(arm, [], ["azure.storage.account"], graph_page_size=2)
        posts = arm.calls("POST", "resourcegraph")
        pages = [r.body["options"].get("$skipToken") for r in posts if PROD in r.body["subscriptions"]]
        assert pages == [None, "2"]  # 3 prod accounts, 2 per page
        assert posts[0].body["options"]["$top"] == 2
        assert [r.query.get("$skiptoken") for r in arm.calls("GET") if r.path == "/subscriptions"] == [
            None,
            ["1"],
            ["2"],
        ]
        names = sorted(r.name for r in inventory.resources)
        assert names == ["acmearchive", "acmedatamain", "acmelogslegacy", "acmesharedlogs", "restrictedlegacy"]
        before = len(arm.requests)
        per_resource = _collect(arm, [PROD], ["azure.storage.account"], inventory_source="arm")
        lists = [r for r in arm.requests[before:] if r.path.endswith("/resources")]
        assert len(lists) == 3 and len(per_resource.resources) == 3


def test_throttling_is_retried_after_retry_after():
    with demo_arm() as (arm, _):
        arm.fail("POST", "resourcegraph", 429, "TooManyRequests", times=1, headers={"Retry-After": "1"})
        started = time.monotonic()
        inventory = _collect(arm, [PROD], ["azure.storage.account"], retry_total=2)
        posts = arm.calls("POST", "resourcegraph")
    assert not inventory.gaps and len(inventory.resources) == 3
    assert len(posts) == 2 and posts[1].at - posts[0].at >= 0.95
    assert time.monotonic() - started < 5


def test_persistent_throttling_is_a_coverage_gap():
    with demo_arm() as (arm, _):
        arm.fail("POST", "resourcegraph", 429, "TooManyRequests", headers={"Retry-After": "0"})
        inventory = _collect(arm, [PROD], ["azure.storage.account", "azure.network.nsg"])
    assert {(g.service, g.error_class) for g in inventory.gaps} == {
        ("storage", "Throttling"),
        ("network", "Throttling"),
    }
    assert len(arm.calls("POST", "resourcegraph")) == 1  # the failure is memoised, not retried per service


def test_403_on_one_subscription_is_its_gap_alone_and_leaves_its_findings(fresh_db):
    rules = pack_rules("azure/storage.yaml")
    with demo_arm(restricted_denied=False) as (arm, settings):
        first = scan_azure(fresh_db, rules, AzureScope([PROD, RESTRICTED]), settings=settings, credential=StaticToken())
        assert first.status == "succeeded"
        open_before = {r["resource_id"] for r in query_findings(fresh_db, accounts=[RESTRICTED])}
        assert any("restrictedlegacy" in r for r in open_before)
        arm.fail("POST", "resourcegraph", 403, "AuthorizationFailed", body_contains=RESTRICTED)
        second = scan_azure(
            fresh_db, rules, AzureScope([PROD, RESTRICTED]), settings=settings, credential=StaticToken()
        )
    assert second.status == "partial"
    assert [(g.account_id, g.service, g.error_class) for g in second.gaps] == [(RESTRICTED, "storage", "AccessDenied")]
    assert "403" in second.gaps[0].message
    assert {r["resource_id"] for r in query_findings(fresh_db, accounts=[RESTRICTED])} == open_before
    assert second.reconcile.summary()["resolved"] == 0
    assert not [g for g in second.gaps if g.account_id == PROD]


def test_missing_credentials_fail_fast_naming_the_scope(fresh_db, monkeypatch):
    for var in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_USERNAME",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    with demo_arm() as (arm, settings):
        env_settings = AzureSettings(
            auth="environment", arm_url=arm.base_url, ca_bundle=str(arm.cert_path), retry_total=0
        )
        rules = pack_rules("azure")
        import azure.identity  # noqa: F401  (import cost is not what this measures)

        started = time.monotonic()
        with pytest.raises(CollectionError) as raised:
            scan_azure(fresh_db, rules, AzureScope([SANDBOX]), settings=env_settings)
        elapsed = time.monotonic() - started
        assert arm.requests == []  # no token, so nothing was sent
    assert SANDBOX in str(raised.value) and "NoCredentials" in str(raised.value) and "environment" in str(raised.value)
    assert elapsed < 3
    from skywarden.storage.scans import coverage_for, recent_scans

    scan = recent_scans(fresh_db, 1)[0]
    assert scan["status"] == "failed"
    gaps = coverage_for(fresh_db, scan["id"], failed_only=True)
    assert (
        gaps and {g["account_id"] for g in gaps} == {SANDBOX} and {g["error_class"] for g in gaps} == {"NoCredentials"}
    )


def test_settings_follow_environment_and_cloud(monkeypatch):
    monkeypatch.setenv("SKYWARDEN_AZURE_ARM_URL", "https://arm.internal.example/")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    settings = AzureSettings.resolve(cloud="china", auth="cli")
    assert settings.base_url == "https://arm.internal.example"
    assert settings.credential_scopes == ["https://management.chinacloudapi.cn/.default"]
    assert settings.client_kwargs()["connection_verify"] == "/etc/ssl/corp.pem"
    monkeypatch.delenv("SKYWARDEN_AZURE_ARM_URL")
    assert AzureSettings.resolve(cloud="usgov").base_url == "https://management.usgovcloudapi.net"


def test_token_is_requested_for_the_cloud_audience():
    with demo_arm() as (arm, settings):
        credential = StaticToken()
        clients = AzureClients(settings, credential)
        resolve_subscriptions(clients, [PROD])
    assert credential.scopes == ("https://management.azure.com/.default",)
