"""Every Azure rule against the Acme estate, collected by the real SDK clients from the loopback stand-in."""

from __future__ import annotations

import pytest

from skywarden.bot.demo.azure_estate import PROD, RESTRICTED, SANDBOX, demo_arm
from skywarden.bot.demo.azure_standin import StaticToken
from skywarden.rules.model import Outcome
from skywarden.scanners.azure.context import AzureClients
from skywarden.scanners.azure.scan import collect_azure, resolve_subscriptions
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

DEFENDER_PLANS = (
    "azure-defender-servers-on",
    "azure-defender-app-services-on",
    "azure-defender-sql-databases-on",
    "azure-defender-sql-server-vms-on",
    "azure-defender-open-source-databases-on",
    "azure-defender-cosmos-db-on",
    "azure-defender-storage-on",
    "azure-defender-key-vault-on",
    "azure-defender-resource-manager-on",
)
POSTGRES_PARAMETERS = (
    "azure-postgresql-ssl-enforced",
    "azure-postgresql-log-checkpoints",
    "azure-postgresql-log-connections",
    "azure-postgresql-log-disconnections",
    "azure-postgresql-connection-throttling",
    "azure-postgresql-log-retention-over-3-days",
    "azure-postgresql-no-allow-azure-services",
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
    + [(d, "acme-sandbox security", F) for d in DEFENDER_PLANS]
    + [(d, "acme-prod security", P) for d in DEFENDER_PLANS]
    + [
        # Sandbox's Containers plan is on, but its sensor extension is off.
        ("azure-defender-containers-on", "acme-sandbox security", P),
        ("azure-defender-containers-on", "acme-restricted security", F),
        ("azure-defender-containers-components-on", "acme-sandbox security", F),
        ("azure-defender-containers-components-on", "acme-prod security", P),
        ("azure-defender-dns-on", "acme-sandbox security", F),
        ("azure-defender-dns-on", "acme-prod security", P),
        ("azure-defender-system-updates-applied", "acme-sandbox security", F),
        ("azure-defender-system-updates-applied", "acme-prod security", P),
        ("azure-defender-auto-provisioning-on", "acme-sandbox security", F),
        ("azure-defender-auto-provisioning-on", "acme-prod security", P),
        ("azure-defender-notify-owners", "acme-sandbox security", F),
        ("azure-defender-notify-owners", "acme-prod security", P),
        ("azure-defender-security-contact-email", "acme-sandbox security", F),
        ("azure-defender-security-contact-email", "acme-prod security", P),
        ("azure-defender-alert-notifications-high", "acme-sandbox security", F),
        ("azure-defender-alert-notifications-high", "acme-prod security", P),
        ("azure-defender-alert-notifications-high", "acme-restricted security", F),
        ("azure-iam-no-custom-subscription-admin-role", "acme-sandbox security", F),
        ("azure-iam-no-custom-subscription-admin-role", "acme-prod security", P),
        ("azure-network-bastion-host-exists", "acme-sandbox security", F),
        ("azure-network-bastion-host-exists", "acme-prod security", P),
        ("azure-network-watcher-enabled", "acme-sandbox security", F),
        ("azure-network-watcher-enabled", "acme-prod security", P),
        ("azure-network-watcher-enabled", "acme-restricted security", P),
        ("azure-network-flow-log-retention-90-days", "web-nsg-flowlog", F),
        ("azure-network-flow-log-retention-90-days", "app-nsg-flowlog", P),
        ("azure-network-flow-log-retention-90-days", "forever-flowlog", P),
        ("azure-network-flow-log-retention-90-days", "paused-flowlog", NA),
        ("azure-monitor-activity-log-storage-cmk", "acme-restricted monitoring", F),
        ("azure-monitor-activity-log-storage-cmk", "acme-prod monitoring", P),
        ("azure-monitor-activity-log-storage-cmk", "acme-sandbox monitoring", NA),
        ("azure-monitor-application-insights-configured", "acme-sandbox monitoring", F),
        ("azure-monitor-application-insights-configured", "acme-prod monitoring", P),
        ("azure-storage-queue-logging", "acmelogslegacy", F),
        ("azure-storage-queue-logging", "acmedatamain", P),
        ("azure-storage-queue-logging", "acmearchive", NA),
        ("azure-storage-table-logging", "acmelogslegacy", F),
        ("azure-storage-table-logging", "acmedatamain", P),
        ("azure-storage-table-logging", "acmearchive", NA),
        ("azure-storage-blob-logging", "acmelogslegacy", F),
        ("azure-storage-blob-logging", "acmedatamain", P),
        ("azure-storage-blob-logging", "acmearchive", P),
        ("azure-storage-private-endpoint", "acmelogslegacy", F),
        ("azure-storage-private-endpoint", "acmedatamain", P),
        ("azure-storage-blob-soft-delete", "acmelogslegacy", F),
        ("azure-storage-blob-soft-delete", "acmedatamain", P),
        ("azure-storage-container-soft-delete", "acmelogslegacy", F),
        ("azure-storage-container-soft-delete", "acmedatamain", P),
        ("azure-sql-server-tde-protector-cmk", "acme-sql-legacy", F),
        ("azure-sql-server-tde-protector-cmk", "acme-sql-main", P),
        ("azure-keyvault-rbac-key-expiry", "acme-kv-apps", F),
        ("azure-keyvault-rbac-key-expiry", "acme-kv-main", P),
        ("azure-keyvault-rbac-key-expiry", "acme-kv-team", NA),
        ("azure-keyvault-access-policy-key-expiry", "acme-kv-legacy", F),
        ("azure-keyvault-access-policy-key-expiry", "acme-kv-team", P),
        ("azure-keyvault-access-policy-key-expiry", "acme-kv-main", NA),
        ("azure-keyvault-rbac-secret-expiry", "acme-kv-apps", F),
        ("azure-keyvault-rbac-secret-expiry", "acme-kv-main", P),
        ("azure-keyvault-access-policy-secret-expiry", "acme-kv-legacy", F),
        ("azure-keyvault-access-policy-secret-expiry", "acme-kv-team", P),
        ("azure-web-authentication-enabled", "acme-shop-legacy", F),
        ("azure-web-authentication-enabled", "acme-api", P),
        ("azure-mysql-ssl-enforced", "acme-mysql-legacy", F),
        ("azure-mysql-ssl-enforced", "acme-mysql-main", P),
        ("azure-mysql-flexible-tls-12", "acme-mysql-old-tls", F),
        ("azure-mysql-flexible-tls-12", "acme-mysql-main", P),
        ("azure-mysql-flexible-tls-12", "acme-mysql-legacy", NA),
        ("azure-postgresql-infrastructure-encryption", "acme-pg-legacy", F),
        ("azure-postgresql-infrastructure-encryption", "acme-pg-reporting", P),
        ("azure-postgresql-infrastructure-encryption", "acme-pg-main", NA),
        ("azure-cosmosdb-selected-networks", "acme-cosmos-legacy", F),
        ("azure-cosmosdb-selected-networks", "acme-cosmos-main", P),
        ("azure-cosmosdb-private-endpoint", "acme-cosmos-legacy", F),
        ("azure-cosmosdb-private-endpoint", "acme-cosmos-main", P),
        ("azure-defender-cspm-on", "acme-sandbox security", F),
        ("azure-defender-cspm-on", "acme-prod security", P),
        ("azure-defender-apis-on", "acme-sandbox security", F),
        ("azure-defender-apis-on", "acme-prod security", P),
        ("azure-defender-containers-full-coverage", "acme-sandbox security", F),
        ("azure-defender-containers-full-coverage", "acme-prod security", P),
        ("azure-defender-attack-path-notifications", "acme-sandbox security", F),
        ("azure-defender-attack-path-notifications", "acme-prod security", P),
        ("azure-monitor-service-health-alert", "acme-sandbox monitoring", F),
        ("azure-monitor-service-health-alert", "acme-prod monitoring", P),
        ("azure-keyvault-audit-and-all-logs", "acme-kv-legacy", F),
        ("azure-keyvault-audit-and-all-logs", "acme-kv-main", P),
        ("azure-keyvault-rbac-authorization", "acme-kv-team", F),
        ("azure-keyvault-rbac-authorization", "acme-kv-main", P),
        ("azure-keyvault-public-network-access-disabled", "acme-kv-legacy", F),
        ("azure-keyvault-public-network-access-disabled", "acme-kv-main", P),
        ("azure-keyvault-private-endpoint", "acme-kv-legacy", F),
        ("azure-keyvault-private-endpoint", "acme-kv-main", P),
        ("azure-storage-blob-versioning", "acmelogslegacy", F),
        ("azure-storage-blob-versioning", "acmedatamain", P),
        ("azure-storage-key-rotation-reminder", "acmelogslegacy", F),
        ("azure-storage-key-rotation-reminder", "acmedatamain", P),
        # No keyCreationTime at all (legacy), or keys last regenerated in 2021 (archive).
        ("azure-storage-access-keys-rotated-90-days", "acmelogslegacy", F),
        ("azure-storage-access-keys-rotated-90-days", "acmearchive", F),
        ("azure-storage-access-keys-rotated-90-days", "acmedatamain", P),
        ("azure-storage-shared-key-access-disabled", "acmelogslegacy", F),
        ("azure-storage-shared-key-access-disabled", "acmedatamain", P),
        ("azure-storage-default-entra-authorization", "acmelogslegacy", F),
        ("azure-storage-default-entra-authorization", "acmedatamain", P),
        ("azure-storage-geo-redundant", "acmelogslegacy", F),
        ("azure-storage-geo-redundant", "acmedatamain", P),
        ("azure-defender-endpoint-integration", "acme-sandbox security", F),
        ("azure-defender-endpoint-integration", "acme-prod security", P),
        ("azure-defender-cloud-apps-integration", "acme-sandbox security", F),
        ("azure-defender-cloud-apps-integration", "acme-prod security", P),
        # Prod: two owners at the subscription (a resource-group owner and an inherited root owner don't count).
        ("azure-iam-two-or-three-subscription-owners", "acme-sandbox security", F),
        ("azure-iam-two-or-three-subscription-owners", "acme-prod security", P),
        ("azure-keyvault-key-auto-rotation", "acme-kv-legacy", F),
        ("azure-keyvault-key-auto-rotation", "acme-kv-main", P),
        ("azure-storage-file-share-soft-delete", "acmelogslegacy", F),
        ("azure-storage-file-share-soft-delete", "acmedatamain", P),
        ("azure-storage-file-share-soft-delete", "acmearchive", NA),
        ("azure-storage-smb-latest-protocol", "acmelogslegacy", F),
        ("azure-storage-smb-latest-protocol", "acmedatamain", P),
        ("azure-storage-smb-channel-encryption", "acmelogslegacy", F),
        ("azure-storage-smb-channel-encryption", "acmedatamain", P),
        ("azure-iam-no-root-user-access-administrator", "acme-sandbox security", F),
        ("azure-iam-no-root-user-access-administrator", "acme-prod security", P),
        ("azure-network-subnets-have-nsg", "sandbox-vnet", F),
        ("azure-network-subnets-have-nsg", "prod-vnet", P),  # GatewaySubnet has none, as Azure requires
        ("azure-network-vnet-ddos-protection", "sandbox-vnet", F),
        ("azure-network-vnet-ddos-protection", "prod-vnet", P),
        ("azure-network-appgateway-waf-enabled", "agw-legacy", F),
        ("azure-network-appgateway-waf-enabled", "agw-main", P),
        ("azure-network-appgateway-tls-12", "agw-legacy", F),  # no SSL policy at all
        ("azure-network-appgateway-tls-12", "agw-edge", F),
        ("azure-network-appgateway-tls-12", "agw-main", P),
        ("azure-network-appgateway-http2", "agw-legacy", F),
        ("azure-network-appgateway-http2", "agw-main", P),
        ("azure-network-appgateway-waf-request-body-inspection", "agw-edge", F),
        ("azure-network-appgateway-waf-request-body-inspection", "agw-main", P),
        ("azure-network-appgateway-waf-request-body-inspection", "agw-legacy", NA),
        ("azure-network-appgateway-waf-bot-protection", "agw-edge", F),
        ("azure-network-appgateway-waf-bot-protection", "agw-main", P),
        ("azure-network-vpn-p2s-entra-only", "vpn-legacy", F),
        ("azure-network-vpn-p2s-entra-only", "vpn-main", P),
        ("azure-network-vpn-p2s-entra-only", "er-gateway", NA),
        ("azure-databricks-vnet-injection", "dbx-legacy", F),
        ("azure-databricks-vnet-injection", "dbx-main", P),
        ("azure-databricks-subnets-have-nsg", "dbx-partial", F),
        ("azure-databricks-subnets-have-nsg", "dbx-main", P),
        ("azure-databricks-subnets-have-nsg", "dbx-legacy", NA),
        ("azure-databricks-diagnostic-logs", "dbx-legacy", F),
        ("azure-databricks-diagnostic-logs", "dbx-main", P),
        ("azure-databricks-no-public-ip", "dbx-legacy", F),
        ("azure-databricks-no-public-ip", "dbx-main", P),
        ("azure-databricks-public-network-access-disabled", "dbx-legacy", F),
        ("azure-databricks-public-network-access-disabled", "dbx-main", P),
        ("azure-databricks-private-endpoint", "dbx-legacy", F),
        ("azure-databricks-private-endpoint", "dbx-main", P),
    ]
    # The single server acme-pg-legacy fails every parameter; the flexible acme-pg-main (other parameter
    # names) and the single acme-pg-reporting pass.
    + [(r, "acme-pg-legacy", F) for r in POSTGRES_PARAMETERS]
    + [(r, "acme-pg-main", P) for r in POSTGRES_PARAMETERS]
    + [(r, "acme-pg-reporting", P) for r in POSTGRES_PARAMETERS]
)


@pytest.fixture(scope="module")
def estate():
    rules = pack_rules("azure")
    with demo_arm(restricted_denied=False) as (arm, settings):
        clients = AzureClients(settings, StaticToken())
        inventory = collect_azure(clients, resolve_subscriptions(clients, [PROD, SANDBOX, RESTRICTED]), max_workers=4)
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
    assert len(rules) >= 80


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
