"""Every GCP rule against the real collectors, over the real Cloud Asset client, against the stand-in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from skywarden.rules.engine import Engine
from skywarden.rules.loader import BUILTIN_PACKS, load_rules
from skywarden.rules.model import Outcome
from skywarden.scanners.gcp.scan import GcpScope
from tests.scanners.gcp import estate
from tests.scanners.gcp import estate_more as more
from tests.scanners.gcp.support import collect
from tests.support.aws import outcomes

RULES = load_rules([BUILTIN_PACKS / "gcp"])

FAIL, PASS, NA = "FAIL", "PASS", "NOT_APPLICABLE"
_fw = lambda p, n: estate.compute_id(p, "firewalls", n)  # noqa: E731
_vm = lambda p, n, z: estate.compute_id(p, "instances", n, f"zones/{z}")  # noqa: E731
_VM_RULES = [
    "gcp-compute-instance-no-default-service-account",
    "gcp-compute-instance-default-sa-no-full-api-access",
    "gcp-compute-instance-block-project-ssh-keys",
    "gcp-compute-instance-serial-port-disabled",
    "gcp-compute-instance-no-ip-forwarding",
    "gcp-compute-instance-shielded-vm",
    "gcp-compute-instance-no-public-ip",
]
_PG_RULES = ["gcp-sql-postgres-log-connections", "gcp-sql-postgres-log-disconnections", "gcp-sql-postgres-pgaudit"]
_PG_FLAG_RULES = [
    "gcp-sql-postgres-log-error-verbosity",
    "gcp-sql-postgres-log-statement",
    "gcp-sql-postgres-log-min-messages",
    "gcp-sql-postgres-log-min-error-statement",
    "gcp-sql-postgres-log-min-duration-statement-disabled",
]
_MSSQL_RULES = [
    "gcp-sql-sqlserver-external-scripts-off",
    "gcp-sql-sqlserver-cross-db-ownership-chaining-off",
    "gcp-sql-sqlserver-user-connections-unlimited",
    "gcp-sql-sqlserver-user-options-unset",
    "gcp-sql-sqlserver-remote-access-off",
    "gcp-sql-sqlserver-trace-flag-3625-on",
    "gcp-sql-sqlserver-contained-database-authentication-off",
]
_PROJECT_RULES = [
    "gcp-iam-service-account-separation-of-duties",
    "gcp-iam-kms-separation-of-duties",
    "gcp-iam-no-primitive-roles-for-users",
    "gcp-iam-service-account-no-admin-roles",
    "gcp-iam-no-project-level-service-account-user",
    "gcp-logging-audit-config-all-services",
]

_ALERT_RULES = [
    "gcp-monitoring-alert-project-ownership-changes",
    "gcp-monitoring-alert-audit-config-changes",
    "gcp-monitoring-alert-custom-role-changes",
    "gcp-monitoring-alert-firewall-changes",
    "gcp-monitoring-alert-route-changes",
    "gcp-monitoring-alert-network-changes",
    "gcp-monitoring-alert-bucket-iam-changes",
    "gcp-monitoring-alert-sql-instance-changes",
]
_DNSSEC_KEY_RULES = ["gcp-dns-zone-ksk-not-rsasha1", "gcp-dns-zone-zsk-not-rsasha1"]
_B, _G = estate.BAD, estate.GOOD

EXPECTED: list[tuple[str, str, str]] = [
    ("gcp-storage-bucket-not-public", estate.bucket_id("bad-public"), FAIL),
    ("gcp-storage-bucket-not-public", estate.bucket_id("good-private"), PASS),
    ("gcp-storage-bucket-not-public", estate.bucket_id("good-pap"), PASS),
    ("gcp-storage-bucket-uniform-access", estate.bucket_id("bad-public"), FAIL),
    ("gcp-storage-bucket-uniform-access", estate.bucket_id("good-private"), PASS),
    ("gcp-compute-firewall-no-ssh-from-internet", _fw(estate.BAD, "allow-ssh-world"), FAIL),
    ("gcp-compute-firewall-no-ssh-from-internet", _fw(estate.BAD, "allow-all-world"), FAIL),
    ("gcp-compute-firewall-no-ssh-from-internet", _fw(estate.BAD, "allow-rdp-range"), PASS),
    ("gcp-compute-firewall-no-ssh-from-internet", _fw(estate.GOOD, "allow-ssh-office"), PASS),
    ("gcp-compute-firewall-no-ssh-from-internet", _fw(estate.GOOD, "ssh-world-disabled"), PASS),
    ("gcp-compute-firewall-no-rdp-from-internet", _fw(estate.BAD, "allow-rdp-range"), FAIL),
    ("gcp-compute-firewall-no-rdp-from-internet", _fw(estate.BAD, "allow-all-world"), FAIL),
    ("gcp-compute-firewall-no-rdp-from-internet", _fw(estate.BAD, "allow-ssh-world"), PASS),
    ("gcp-compute-firewall-no-rdp-from-internet", _fw(estate.GOOD, "allow-ssh-office"), PASS),
    ("gcp-compute-network-not-default", estate.compute_id(estate.BAD, "networks", "default"), FAIL),
    ("gcp-compute-network-not-default", estate.compute_id(estate.GOOD, "networks", "prod-vpc"), PASS),
    ("gcp-compute-network-not-legacy", estate.compute_id(estate.BAD, "networks", "legacy-net"), FAIL),
    ("gcp-compute-network-not-legacy", estate.compute_id(estate.GOOD, "networks", "prod-vpc"), PASS),
    (
        "gcp-compute-subnetwork-flow-logs",
        estate.compute_id(estate.BAD, "subnetworks", "sub-nologs", "regions/us-central1"),
        FAIL,
    ),
    (
        "gcp-compute-subnetwork-flow-logs",
        estate.compute_id(estate.GOOD, "subnetworks", "sub-logs", "regions/europe-west1"),
        PASS,
    ),
    (
        "gcp-compute-subnetwork-flow-logs",
        estate.compute_id(estate.GOOD, "subnetworks", "proxy-only", "regions/europe-west1"),
        NA,
    ),
    *[(rule, _vm(estate.BAD, "web-1", "us-central1-a"), FAIL) for rule in _VM_RULES],
    *[(rule, _vm(estate.GOOD, "app-1", "europe-west1-b"), PASS) for rule in _VM_RULES],
    ("gcp-compute-instance-no-default-service-account", _vm(estate.BAD, "batch-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-default-sa-no-full-api-access", _vm(estate.BAD, "batch-1", "us-central1-a"), PASS),
    ("gcp-compute-instance-block-project-ssh-keys", _vm(estate.BAD, "batch-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-shielded-vm", _vm(estate.BAD, "batch-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-no-public-ip", _vm(estate.BAD, "batch-1", "us-central1-a"), PASS),
    ("gcp-compute-instance-no-ip-forwarding", _vm(estate.BAD, "batch-1", "us-central1-a"), PASS),  # unset = false
    ("gcp-compute-instance-default-sa-no-full-api-access", _vm(estate.GOOD, "gke-pool-1", "europe-west1-b"), NA),
    ("gcp-compute-instance-os-login-not-disabled", _vm(estate.BAD, "batch-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-os-login-not-disabled", _vm(estate.BAD, "web-1", "us-central1-a"), PASS),
    ("gcp-compute-instance-os-login-not-disabled", _vm(estate.GOOD, "gke-pool-1", "europe-west1-b"), NA),
    ("gcp-compute-instance-no-public-ip", _vm(estate.GOOD, "gke-pool-1", "europe-west1-b"), NA),
    *[
        (rule, _vm(estate.GOOD, "gke-pool-1", "europe-west1-b"), NA)
        for rule in (
            "gcp-compute-instance-no-default-service-account",
            "gcp-compute-instance-block-project-ssh-keys",
            "gcp-compute-instance-no-ip-forwarding",
        )
    ],
    ("gcp-compute-project-os-login", f"//compute.googleapis.com/projects/{estate.BAD}", FAIL),
    ("gcp-compute-project-os-login", f"//compute.googleapis.com/projects/{estate.GOOD}", PASS),
    ("gcp-sql-instance-require-ssl", estate.sql_id(estate.BAD, "pg-public"), FAIL),
    ("gcp-sql-instance-require-ssl", estate.sql_id(estate.GOOD, "pg-private"), PASS),
    ("gcp-sql-instance-require-ssl", estate.sql_id(estate.GOOD, "mysql-2"), PASS),
    ("gcp-sql-instance-no-world-authorized-network", estate.sql_id(estate.BAD, "pg-public"), FAIL),
    ("gcp-sql-instance-no-world-authorized-network", estate.sql_id(estate.GOOD, "pg-private"), PASS),
    ("gcp-sql-instance-no-world-authorized-network", estate.sql_id(estate.GOOD, "mysql-2"), PASS),
    ("gcp-sql-instance-no-public-ip", estate.sql_id(estate.BAD, "pg-public"), FAIL),
    ("gcp-sql-instance-no-public-ip", estate.sql_id(estate.GOOD, "pg-private"), PASS),
    ("gcp-sql-instance-automated-backups", estate.sql_id(estate.BAD, "pg-public"), FAIL),
    ("gcp-sql-instance-automated-backups", estate.sql_id(estate.GOOD, "pg-private"), PASS),
    ("gcp-sql-mysql-local-infile-off", estate.sql_id(estate.BAD, "mysql-1"), FAIL),
    ("gcp-sql-mysql-local-infile-off", estate.sql_id(estate.GOOD, "mysql-2"), PASS),
    ("gcp-sql-mysql-local-infile-off", estate.sql_id(estate.GOOD, "pg-private"), NA),
    *[(rule, estate.sql_id(estate.BAD, "pg-public"), FAIL) for rule in _PG_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "pg-private"), PASS) for rule in _PG_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "mysql-2"), NA) for rule in _PG_RULES],
    ("gcp-sql-mysql-skip-show-database-on", estate.sql_id(estate.BAD, "mysql-1"), FAIL),
    ("gcp-sql-mysql-skip-show-database-on", estate.sql_id(estate.GOOD, "mysql-2"), PASS),
    ("gcp-sql-mysql-skip-show-database-on", estate.sql_id(estate.GOOD, "pg-private"), NA),
    *[(rule, estate.sql_id(estate.BAD, "pg-public"), FAIL) for rule in _PG_FLAG_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "pg-private"), PASS) for rule in _PG_FLAG_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "mssql-2"), NA) for rule in _PG_FLAG_RULES],
    *[(rule, estate.sql_id(estate.BAD, "mssql-1"), FAIL) for rule in _MSSQL_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "mssql-2"), PASS) for rule in _MSSQL_RULES],
    *[(rule, estate.sql_id(estate.GOOD, "pg-private"), NA) for rule in _MSSQL_RULES],
    ("gcp-compute-instance-disks-csek", _vm(estate.BAD, "web-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-disks-csek", _vm(estate.BAD, "batch-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-disks-csek", _vm(estate.GOOD, "app-1", "europe-west1-b"), PASS),
    ("gcp-compute-instance-confidential-computing", _vm(estate.BAD, "web-1", "us-central1-a"), FAIL),
    ("gcp-compute-instance-confidential-computing", _vm(estate.BAD, "batch-1", "us-central1-a"), PASS),
    ("gcp-compute-instance-confidential-computing", _vm(estate.GOOD, "app-1", "europe-west1-b"), PASS),
    ("gcp-kms-key-rotation-90-days", estate.key_id(estate.BAD, "k-norotate"), FAIL),
    ("gcp-kms-key-rotation-90-days", estate.key_id(estate.BAD, "k-yearly"), FAIL),
    ("gcp-kms-key-rotation-90-days", estate.key_id(estate.GOOD, "k-ok"), PASS),
    ("gcp-kms-key-rotation-90-days", estate.key_id(estate.GOOD, "k-sign"), NA),
    ("gcp-kms-key-not-public", estate.key_id(estate.BAD, "k-norotate"), FAIL),
    ("gcp-kms-key-not-public", estate.key_id(estate.GOOD, "k-ok"), PASS),
    *[(rule, estate.policy_id(estate.BAD), FAIL) for rule in _PROJECT_RULES],
    *[(rule, estate.policy_id(estate.GOOD), PASS) for rule in _PROJECT_RULES],
    ("gcp-iam-service-account-no-user-managed-keys", estate.sa_key_id(estate.BAD, "old-user-key"), FAIL),
    ("gcp-iam-service-account-no-user-managed-keys", estate.sa_key_id(estate.GOOD, "system-key"), PASS),
    ("gcp-iam-service-account-key-rotated-90-days", estate.sa_key_id(estate.BAD, "old-user-key"), FAIL),
    ("gcp-iam-service-account-key-rotated-90-days", estate.sa_key_id(estate.BAD, "new-user-key"), PASS),
    ("gcp-iam-service-account-key-rotated-90-days", estate.sa_key_id(estate.GOOD, "system-key"), NA),
    ("gcp-logging-sink-exports-all-entries", estate.sinks_id(estate.BAD), FAIL),
    ("gcp-logging-sink-exports-all-entries", estate.sinks_id(estate.GOOD), PASS),
    ("gcp-dns-zone-dnssec-enabled", more.zone_id(_B, "shop"), FAIL),
    ("gcp-dns-zone-dnssec-enabled", more.zone_id(_B, "legacy"), PASS),
    ("gcp-dns-zone-dnssec-enabled", more.zone_id(_G, "www"), PASS),
    ("gcp-dns-zone-dnssec-enabled", more.zone_id(_G, "internal"), NA),
    *[(rule, more.zone_id(_B, "legacy"), FAIL) for rule in _DNSSEC_KEY_RULES],
    *[(rule, more.zone_id(_G, "www"), PASS) for rule in _DNSSEC_KEY_RULES],
    *[(rule, more.zone_id(_B, "shop"), NA) for rule in _DNSSEC_KEY_RULES],
    ("gcp-compute-network-dns-logging", estate.compute_id(_B, "networks", "default"), FAIL),
    ("gcp-compute-network-dns-logging", estate.compute_id(_B, "networks", "legacy-net"), FAIL),
    ("gcp-compute-network-dns-logging", estate.compute_id(_G, "networks", "prod-vpc"), PASS),
    ("gcp-compute-backend-service-logging", more.backend_id(_B, "web-backend"), FAIL),
    ("gcp-compute-backend-service-logging", more.backend_id(_B, "tcp-backend", "us-central1"), NA),
    ("gcp-compute-backend-service-logging", more.backend_id(_G, "api-backend"), PASS),
    ("gcp-compute-backend-service-logging", more.backend_id(_G, "internal-app", "europe-west1"), PASS),
    ("gcp-dataproc-cluster-cmek", more.cluster_id(_B, "etl"), FAIL),
    ("gcp-dataproc-cluster-cmek", more.cluster_id(_G, "spark-pd"), PASS),
    ("gcp-dataproc-cluster-cmek", more.cluster_id(_G, "spark-kms"), PASS),
    ("gcp-bigquery-dataset-not-public", more.dataset_id(_B, "exports"), FAIL),
    ("gcp-bigquery-dataset-not-public", more.dataset_id(_B, "shared"), FAIL),
    ("gcp-bigquery-dataset-not-public", more.dataset_id(_G, "warehouse"), PASS),
    ("gcp-bigquery-dataset-default-cmek", more.dataset_id(_B, "exports"), FAIL),
    ("gcp-bigquery-dataset-default-cmek", more.dataset_id(_G, "warehouse"), PASS),
    ("gcp-bigquery-table-cmek", more.table_id(_B, "exports", "raw"), FAIL),
    ("gcp-bigquery-table-cmek", more.table_id(_G, "warehouse", "facts"), PASS),
    ("gcp-bigquery-table-cmek", more.table_id(_G, "warehouse", "summary"), NA),
    ("gcp-bigquery-table-cmek", more.table_id(_G, "warehouse", "lake"), NA),
    ("gcp-storage-log-bucket-retention-locked", estate.bucket_id("bad-logs"), FAIL),
    ("gcp-storage-log-bucket-retention-locked", estate.bucket_id("good-logs"), PASS),
    ("gcp-storage-log-bucket-retention-locked", estate.bucket_id("bad-public"), NA),
    *[(rule, more.log_alerting_id(_B), FAIL) for rule in _ALERT_RULES],
    *[(rule, more.log_alerting_id(_G), PASS) for rule in _ALERT_RULES],
    ("gcp-apikeys-none-in-project", more.project_keys_id(_B), FAIL),
    ("gcp-apikeys-none-in-project", more.project_keys_id(_G), PASS),
    ("gcp-apikeys-key-api-restricted", more.api_key_id(_B, "k-old"), FAIL),
    ("gcp-apikeys-key-api-restricted", more.api_key_id(_B, "k-all"), FAIL),
    ("gcp-apikeys-key-api-restricted", more.api_key_id(_B, "k-maps"), PASS),
    ("gcp-apikeys-key-rotated-90-days", more.api_key_id(_B, "k-old"), FAIL),
    ("gcp-apikeys-key-rotated-90-days", more.api_key_id(_B, "k-maps"), PASS),
    ("gcp-logging-cloud-asset-inventory-enabled", more.services_id(_B), FAIL),
    ("gcp-logging-cloud-asset-inventory-enabled", more.services_id(_G), PASS),
    ("gcp-logging-access-approval-enabled", more.access_approval_id(_B), FAIL),
    ("gcp-logging-access-approval-enabled", more.access_approval_id(_G), PASS),
    ("gcp-logging-access-approval-enabled", more.access_approval_id(more.OTHER), PASS),
    ("gcp-iam-organization-essential-contacts", more.contacts_id(_B), PASS),
    ("gcp-iam-organization-essential-contacts", more.contacts_id(_G), PASS),
    ("gcp-iam-organization-essential-contacts", more.contacts_id(more.OTHER), FAIL),
]


@pytest.fixture(scope="module")
def scanned():
    with CloudAssetStandIn(page_limit=3) as standin:
        estate.seed(standin)
        projects = [estate.BAD, estate.GOOD, more.OTHER]
        inventory = collect(standin, GcpScope(projects=projects), Engine(RULES).resource_types)
    assert not inventory.gaps, inventory.gaps
    return inventory, outcomes(RULES, inventory.resources)


@pytest.mark.parametrize(("rule_id", "resource_id", "expected"), EXPECTED, ids=lambda v: str(v)[-40:])
def test_rule_outcome(scanned, rule_id, resource_id, expected):
    _, results = scanned
    assert results[(rule_id, resource_id)] == Outcome[expected]


def test_every_rule_has_a_fail_and_a_pass_case():
    cases = {(rule, outcome) for rule, _, outcome in EXPECTED}
    for rule in RULES:
        assert (rule.id, "FAIL") in cases, rule.id
        assert (rule.id, "PASS") in cases, rule.id


def test_at_least_twenty_rules_mapped_to_cis_nist_and_pci():
    assert len(RULES) >= 20
    assert sum(1 for r in RULES if "cis-gcp-2.0" in r.frameworks) >= 20
    for rule in RULES:
        assert rule.id.startswith("gcp-") and rule.resource_type.startswith("gcp.")
        assert {"nist-800-53-r5", "pci-dss-4.0"} <= set(rule.frameworks), rule.id


def test_resources_are_normalised(scanned):
    inventory, _ = scanned
    by_id = {r.id: r for r in inventory.resources}
    bucket = by_id[estate.bucket_id("bad-public")]
    assert (bucket.provider, bucket.account_id, bucket.region, bucket.name) == ("gcp", estate.BAD, "US", "bad-public")
    assert bucket.tags == {"team": "web"}
    assert bucket.properties["public_members"] == ["roles/storage.objectViewer allUsers"]
    vm = by_id[estate.compute_id(estate.BAD, "instances", "web-1", "zones/us-central1-a")]
    assert vm.region == "us-central1-a" and vm.tags == {"env": "prod"}
    assert vm.properties["metadata_items"] == {"serial-port-enable": "TRUE"}
    firewall = by_id[estate.compute_id(estate.BAD, "firewalls", "allow-ssh-world")]
    assert firewall.properties["priority"] == 1000 and isinstance(firewall.properties["priority"], int)
    policy = by_id[estate.policy_id(estate.GOOD)]
    assert policy.account_id == estate.GOOD and policy.name == estate.GOOD
    assert policy.properties["auditConfigs"][0]["auditLogConfigs"][1] == {"logType": "DATA_READ", "exemptedMembers": []}
    key = by_id[estate.key_id(estate.GOOD, "k-ok")]
    assert key.properties["rotation_period_days"] == 90
    assert {r.account_id for r in inventory.resources} == {estate.BAD, estate.GOOD, more.OTHER}


def test_only_the_asset_types_the_rules_need_are_listed():
    with CloudAssetStandIn() as standin:
        estate.seed(standin)
        inventory = collect(standin, GcpScope(projects=[estate.GOOD]), {"gcp.compute.firewall"})
        asked = [q.get("assetTypes") for q in standin.requests_for(f"projects/{estate.GOOD}")]
    assert asked == [["compute.googleapis.com/Firewall"]]
    assert {r.type for r in inventory.resources} == {"gcp.compute.firewall"}
    assert [(u.service, u.status) for u in inventory.coverage] == [("compute", "ok")]


def test_every_rule_is_reviewed_in_docs_and_every_cited_edge_case_test_exists():
    review = (Path(__file__).parents[3] / "docs" / "rules-review-gcp.md").read_text()
    assert [rule.id for rule in RULES if f"`{rule.id}`" not in review] == []
    edge_tests = (Path(__file__).parent / "test_gcp_edge_cases.py").read_text()
    cited = set(re.findall(r"E `(test_\w+)`", review))
    assert cited and [name for name in sorted(cited) if f"def {name}(" not in edge_tests] == []
