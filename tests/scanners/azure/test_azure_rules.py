"""Every Azure rule against the Acme estate, collected by the real SDK clients from the loopback stand-in."""

from __future__ import annotations

import pytest

from rules.model import Outcome
from scanners.azure.context import AzureClients
from scanners.azure.demo import PROD, SANDBOX, demo_arm
from scanners.azure.scan import collect_azure, resolve_subscriptions
from scanners.azure.standin import StaticToken
from tests.support.aws import outcomes, pack_rules

F, P, NA = Outcome.FAIL, Outcome.PASS, Outcome.NOT_APPLICABLE
ALERTS = (  # full ids, so the meta-lint finds every rule named in a test
    "azure-monitor-alert-create-policy-assignment",
    "azure-monitor-alert-delete-policy-assignment",
    "azure-monitor-alert-create-update-nsg",
    "azure-monitor-alert-delete-nsg",
    "azure-monitor-alert-create-update-security-solution",
    "azure-monitor-alert-delete-security-solution",
    "azure-monitor-alert-create-update-sql-firewall-rule",
    "azure-monitor-alert-delete-sql-firewall-rule",
    "azure-monitor-alert-create-update-public-ip",
    "azure-monitor-alert-delete-public-ip",
)

EXPECTED = (
    [
        ("azure-storage-secure-transfer-required", "acmelogslegacy", F),
        ("azure-storage-secure-transfer-required", "acmedatamain", P),
        ("azure-storage-infrastructure-encryption", "acmelogslegacy", F),
        ("azure-storage-infrastructure-encryption", "acmedatamain", P),
        ("azure-storage-public-network-access-disabled", "acmelogslegacy", F),
        ("azure-storage-public-network-access-disabled", "acmedatamain", P),
        ("azure-storage-default-network-deny", "acmelogslegacy", F),
        ("azure-storage-default-network-deny", "acmedatamain", P),
        ("azure-storage-trusted-services-bypass", "acmearchive", F),
        ("azure-storage-trusted-services-bypass", "acmedatamain", P),
        ("azure-storage-trusted-services-bypass", "acmelogslegacy", NA),
        ("azure-storage-minimum-tls-12", "acmelogslegacy", F),
        ("azure-storage-minimum-tls-12", "acmedatamain", P),
        ("azure-storage-no-cross-tenant-replication", "acmelogslegacy", F),
        ("azure-storage-no-cross-tenant-replication", "acmearchive", P),
        ("azure-storage-blob-anonymous-access-disabled", "acmelogslegacy", F),
        ("azure-storage-blob-anonymous-access-disabled", "acmedatamain", P),
        ("azure-network-nsg-rdp-restricted", "web-nsg-legacy", F),
        ("azure-network-nsg-rdp-restricted", "app-nsg", P),
        ("azure-network-nsg-ssh-restricted", "web-nsg-legacy", F),
        ("azure-network-nsg-ssh-restricted", "app-nsg", P),
        ("azure-network-nsg-udp-restricted", "web-nsg-legacy", F),
        ("azure-network-nsg-udp-restricted", "app-nsg", P),
        ("azure-network-nsg-http-restricted", "web-nsg-legacy", F),
        ("azure-network-nsg-http-restricted", "app-nsg", P),
        ("azure-sql-server-auditing-enabled", "acme-sql-legacy", F),
        ("azure-sql-server-auditing-enabled", "acme-sql-main", P),
        ("azure-sql-server-no-open-firewall", "acme-sql-legacy", F),
        ("azure-sql-server-no-open-firewall", "acme-sql-main", P),
        ("azure-sql-server-entra-admin", "acme-sql-legacy", F),
        ("azure-sql-server-entra-admin", "acme-sql-main", P),
        ("azure-sql-server-audit-retention-90-days", "acme-sql-main", F),
        ("azure-sql-server-audit-retention-90-days", "acme-sql-reporting", P),
        ("azure-sql-server-audit-retention-90-days", "acme-sql-legacy", NA),
        ("azure-sql-database-tde-enabled", "orders", F),
        ("azure-sql-database-tde-enabled", "customers", P),
        ("azure-sql-database-tde-enabled", "master", NA),
        ("azure-keyvault-soft-delete-enabled", "acme-kv-legacy", F),
        ("azure-keyvault-soft-delete-enabled", "acme-kv-main", P),
        ("azure-keyvault-purge-protection-enabled", "acme-kv-legacy", F),
        ("azure-keyvault-purge-protection-enabled", "acme-kv-main", P),
        ("azure-keyvault-audit-logging-enabled", "acme-kv-legacy", F),
        ("azure-keyvault-audit-logging-enabled", "acme-kv-main", P),
        ("azure-compute-vm-managed-disks", "jumpbox-legacy", F),
        ("azure-compute-vm-managed-disks", "api-01", P),
        ("azure-compute-vm-trusted-launch", "jumpbox-legacy", F),
        ("azure-compute-vm-trusted-launch", "api-01", P),
        ("azure-compute-disk-attached-cmk", "api-01-os", F),
        ("azure-compute-disk-attached-cmk", "db-01-data", P),
        ("azure-compute-disk-attached-cmk", "old-backup-disk", NA),
        ("azure-compute-disk-unattached-cmk", "old-backup-disk", F),
        ("azure-compute-disk-unattached-cmk", "archive-disk", P),
        ("azure-web-https-only", "acme-shop-legacy", F),
        ("azure-web-https-only", "acme-api", P),
        ("azure-web-minimum-tls-12", "acme-shop-legacy", F),
        ("azure-web-minimum-tls-12", "acme-api", P),
        ("azure-web-managed-identity", "acme-shop-legacy", F),
        ("azure-web-managed-identity", "acme-api", P),
        ("azure-web-http20-enabled", "acme-shop-legacy", F),
        ("azure-web-http20-enabled", "acme-api", P),
        ("azure-web-ftp-disabled", "acme-shop-legacy", F),
        ("azure-web-ftp-disabled", "acme-api", P),
        ("azure-monitor-activity-log-diagnostic-setting", "acme-sandbox monitoring", F),
        ("azure-monitor-activity-log-diagnostic-setting", "acme-prod monitoring", P),
        ("azure-monitor-activity-log-categories", "acme-sandbox monitoring", F),
        ("azure-monitor-activity-log-categories", "acme-prod monitoring", P),
    ]
    + [(a, "acme-sandbox monitoring", F) for a in ALERTS]
    + [(a, "acme-prod monitoring", P) for a in ALERTS]
)


@pytest.fixture(scope="module")
def estate():
    rules = pack_rules("azure")
    with demo_arm() as (arm, settings):
        clients = AzureClients(settings, StaticToken())
        inventory = collect_azure(clients, resolve_subscriptions(clients, [PROD, SANDBOX]), max_workers=4)
    by_name = {r.name: r for r in inventory.resources}
    assert len(by_name) == len(inventory.resources), "resource names must be unique in the test estate"
    return rules, inventory, by_name, outcomes(rules, inventory.resources)


@pytest.mark.parametrize(("rule_id", "name", "expected"), EXPECTED, ids=[f"{r}:{n}" for r, n, _ in EXPECTED])
def test_rule_outcome(estate, rule_id, name, expected):
    _, _, by_name, results = estate
    assert results.get((rule_id, by_name[name].id), Outcome.NOT_APPLICABLE) == expected


def test_every_rule_has_a_failing_and_a_passing_case(estate):
    rules = estate[0]
    cases = {(rule_id, outcome) for rule_id, _, outcome in EXPECTED}
    missing = [r.id for r in rules if (r.id, F) not in cases or (r.id, P) not in cases]
    assert not missing
    assert len(rules) >= 20


def test_no_collection_errors_in_the_estate(estate):
    inventory = estate[1]
    assert not inventory.gaps
    assert not [r.name for r in inventory.resources if r.properties.get("_errors")]


def test_resources_use_the_shared_model(estate):
    account = estate[2]["acmelogslegacy"]
    assert account.provider == "azure" and account.account_id == PROD and account.region == "westeurope"
    assert account.id.startswith(f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Storage/")
    assert account.tags == {"owner": "platform"}
    assert estate[2]["acme-prod monitoring"].region == "global"
