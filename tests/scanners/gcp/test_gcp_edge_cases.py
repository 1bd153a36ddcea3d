"""Real-API edge cases named in docs/rules-review-gcp.md that the two-project estate does not already show.

Each test serves the real API's response shape from the loopback stand-in to the real Cloud Asset client,
runs the real collectors, and evaluates the shipped rules.
"""

from __future__ import annotations

from typing import Any

import pytest

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from skywarden.rules.checks.gcp import audit_logging_all_services
from skywarden.rules.engine import Engine
from skywarden.rules.loader import BUILTIN_PACKS, load_rules
from skywarden.rules.model import Outcome
from skywarden.scanners.gcp.scan import GcpScope
from tests.scanners.gcp.support import collect
from tests.support.aws import outcomes

RULES = load_rules([BUILTIN_PACKS / "gcp"])
P, NUMBER = "edge-proj", "4242"
CONTACT = "essentialcontacts.googleapis.com/Contact"


def _scan(standin: CloudAssetStandIn, rule_ids: list[str]) -> tuple[Any, dict[tuple[str, str], Outcome]]:
    rules = [r for r in RULES if r.id in rule_ids]
    assert len(rules) == len(rule_ids)
    inventory = collect(standin, GcpScope(projects=[P]), Engine(rules).resource_types)
    return inventory, outcomes(rules, inventory.resources)


@pytest.fixture
def standin():
    with CloudAssetStandIn() as server:
        server.add_project(P, NUMBER, ancestors=("folders/7", "organizations/900"), iam_policy={"bindings": []})
        yield server


def test_an_admin_role_is_found_anywhere_in_the_role_name(standin):
    # CIS 1.5 says roles "containing" Admin: roles/compute.instanceAdmin.v1 does not end with it.
    standin.projects[P].iam_policy = {
        "bindings": [
            {"role": "roles/compute.instanceAdmin.v1", "members": [f"serviceAccount:ci@{P}.iam.gserviceaccount.com"]}
        ]
    }
    _, results = _scan(standin, ["gcp-iam-service-account-no-admin-roles"])
    policy_id = f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}"
    assert results[("gcp-iam-service-account-no-admin-roles", policy_id)] == Outcome.FAIL


@pytest.mark.parametrize(
    ("subnet", "expected"),
    [
        ({"logConfig": {"enable": True}}, "FAIL"),  # flowSampling unset: the API's default is 0.5
        ({"logConfig": {"enable": True, "flowSampling": 0.5}}, "FAIL"),
        (
            {
                "logConfig": {
                    "enable": True,
                    "flowSampling": 1,
                    "filterExpr": "inIpRange(connection.src_ip, '10.0.0.0/8')",
                }
            },
            "FAIL",
        ),
        ({"logConfig": {"enable": True, "flowSampling": 1, "aggregationInterval": "INTERVAL_10_MIN"}}, "FAIL"),
        ({"logConfig": {"enable": True, "flowSampling": 1, "metadata": "EXCLUDE_ALL_METADATA"}}, "FAIL"),
        ({"logConfig": {"enable": False, "flowSampling": 1}}, "FAIL"),
        (
            {
                "enableFlowLogs": True,  # the older field, returned alongside logConfig
                "logConfig": {
                    "enable": True,
                    "flowSampling": 1,
                    "aggregationInterval": "INTERVAL_5_SEC",
                    "metadata": "INCLUDE_ALL_METADATA",
                },
            },
            "PASS",
        ),
    ],
)
def test_flow_logs_need_every_setting_cis_names(standin, subnet, expected):
    name = f"//compute.googleapis.com/projects/{P}/regions/us-east1/subnetworks/s1"
    standin.add_asset(P, "compute.googleapis.com/Subnetwork", name, {"name": "s1", "purpose": "PRIVATE", **subnet})
    _, results = _scan(standin, ["gcp-compute-subnetwork-flow-logs"])
    assert results[("gcp-compute-subnetwork-flow-logs", name)] == Outcome[expected]


def _sql(standin: CloudAssetStandIn, name: str, data: dict[str, Any]) -> str:
    full = f"//cloudsql.googleapis.com/projects/{P}/instances/{name}"
    standin.add_asset(P, "sqladmin.googleapis.com/Instance", full, {"name": name, **data}, location="us-east1")
    return full


def test_ssl_mode_takes_precedence_over_the_older_require_ssl(standin):
    both = _sql(
        standin,
        "both",
        {
            "databaseVersion": "POSTGRES_16",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {"ipConfiguration": {"sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED", "requireSsl": True}},
        },
    )
    old = _sql(
        standin,
        "old",
        {
            "databaseVersion": "MYSQL_5_7",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {"ipConfiguration": {"requireSsl": True}},
        },
    )
    _, results = _scan(standin, ["gcp-sql-instance-require-ssl"])
    assert results[("gcp-sql-instance-require-ssl", both)] == Outcome.FAIL
    assert results[("gcp-sql-instance-require-ssl", old)] == Outcome.PASS


def test_flag_values_compare_case_insensitively_and_replicas_are_left_to_their_primary(standin):
    replica = _sql(
        standin,
        "replica",
        {
            "databaseVersion": "MYSQL_8_0",
            "instanceType": "READ_REPLICA_INSTANCE",
            "masterInstanceName": f"{P}:primary",
            "settings": {
                "ipConfiguration": {"ipv4Enabled": True},
                "backupConfiguration": {"enabled": False},
                "databaseFlags": [
                    {"name": "local_infile", "value": "OFF"},
                    {"name": "skip_show_database", "value": "On"},
                ],
            },
        },
    )
    rules = [
        "gcp-sql-mysql-local-infile-off",
        "gcp-sql-mysql-skip-show-database-on",
        "gcp-sql-instance-no-public-ip",
        "gcp-sql-instance-automated-backups",
    ]
    _, results = _scan(standin, rules)
    assert results[("gcp-sql-mysql-local-infile-off", replica)] == Outcome.PASS
    assert results[("gcp-sql-mysql-skip-show-database-on", replica)] == Outcome.PASS
    assert results[("gcp-sql-instance-no-public-ip", replica)] == Outcome.NOT_APPLICABLE
    assert results[("gcp-sql-instance-automated-backups", replica)] == Outcome.NOT_APPLICABLE


def test_a_project_without_access_approval_settings_is_not_enrolled(standin):
    _, results = _scan(standin, ["gcp-logging-access-approval-enabled"])
    settings = f"//accessapproval.googleapis.com/projects/{P}/accessApprovalSettings"
    assert results[("gcp-logging-access-approval-enabled", settings)] == Outcome.FAIL


def _contact(owner: str, cid: str, categories: list[str]) -> dict[str, Any]:
    return {
        "name": f"{owner}/contacts/{cid}",
        "email": f"c{cid}@acme.example",
        "notificationCategorySubscriptions": categories,
        "validationState": "VALID",
    }


def test_organization_contacts_are_read_page_by_page_from_the_organization(standin):
    org = "organizations/900"
    standin.page_limit = 1
    for cid, categories in [("1", ["LEGAL"]), ("2", ["SECURITY"]), ("3", ["SUSPENSION"]), ("4", ["TECHNICAL"])]:
        standin.add_scope_asset(
            (org,), CONTACT, f"//essentialcontacts.googleapis.com/{org}/contacts/{cid}", _contact(org, cid, categories)
        )
    # A folder's contact is listed under the organization as well, but is not the organization's.
    standin.add_scope_asset(
        ("folders/7", org),
        CONTACT,
        "//essentialcontacts.googleapis.com/folders/7/contacts/5",
        _contact("folders/7", "5", ["ALL"]),
    )
    inventory, results = _scan(standin, ["gcp-iam-organization-essential-contacts"])
    resource_id = f"//essentialcontacts.googleapis.com/projects/{P}/organizationContacts"
    assert results[("gcp-iam-organization-essential-contacts", resource_id)] == Outcome.PASS
    (resource,) = inventory.resources
    assert [c["name"] for c in resource.properties["contacts"]] == [f"{org}/contacts/{i}" for i in "1234"]
    tokens = [(q.get("pageToken") or [""])[0] for q in standin.requests_for(org)]
    assert tokens == ["", "1", "2", "3", "4"]


def test_organization_contacts_need_every_category(standin):
    org = "organizations/900"
    standin.add_scope_asset(
        (org,),
        CONTACT,
        f"//essentialcontacts.googleapis.com/{org}/contacts/1",
        _contact(org, "1", ["SECURITY", "TECHNICAL"]),
    )
    inventory, results = _scan(standin, ["gcp-iam-organization-essential-contacts"])
    (resource,) = inventory.resources
    assert resource.properties["missing_categories"] == ["LEGAL", "SUSPENSION"]
    assert results[("gcp-iam-organization-essential-contacts", resource.id)] == Outcome.FAIL


def test_a_project_outside_any_organization_is_not_applicable():
    with CloudAssetStandIn() as standin:
        standin.add_project(P, NUMBER, ancestors=())
        inventory, results = _scan(standin, ["gcp-iam-organization-essential-contacts"])
        assert standin.requests_for("organizations/900") == []
    (resource,) = inventory.resources
    assert resource.properties["organization"] is None
    assert results[("gcp-iam-organization-essential-contacts", resource.id)] == Outcome.NOT_APPLICABLE


def test_an_unreadable_organization_is_a_gap_of_the_contacts_unit_only(standin):
    standin.fail(
        "organizations/900", 403, message="Permission 'cloudasset.assets.listResource' denied on organizations/900"
    )
    rules = ["gcp-iam-organization-essential-contacts", "gcp-logging-access-approval-enabled"]
    inventory, _ = _scan(standin, rules)
    by_service = {u.service: u for u in inventory.coverage}
    assert (by_service["essentialcontacts"].status, by_service["essentialcontacts"].error_class) == (
        "failed",
        "AccessDenied",
    )
    assert by_service["accessapproval"].ok
    assert {r.type for r in inventory.resources} == {"gcp.accessapproval.project_settings"}


def test_an_ipv6_world_range_opens_the_port_too(standin):
    name = f"//compute.googleapis.com/projects/{P}/global/firewalls/ssh-v6"
    standin.add_asset(
        P,
        "compute.googleapis.com/Firewall",
        name,
        {
            "name": "ssh-v6",
            "direction": "INGRESS",
            "sourceRanges": ["::/0"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        },
    )
    _, results = _scan(standin, ["gcp-compute-firewall-no-ssh-from-internet"])
    assert results[("gcp-compute-firewall-no-ssh-from-internet", name)] == Outcome.FAIL


def test_a_disabled_user_managed_key_is_not_held_to_rotation(standin):
    email = f"ci@{P}.iam.gserviceaccount.com"
    name = f"//iam.googleapis.com/projects/{P}/serviceAccounts/{email}/keys/k1"
    data = {
        "name": f"projects/{P}/serviceAccounts/{email}/keys/k1",
        "keyType": "USER_MANAGED",
        "validAfterTime": "2020-01-01T00:00:00Z",
        "disabled": True,
    }
    standin.add_asset(P, "iam.googleapis.com/ServiceAccountKey", name, data)
    rules = ["gcp-iam-service-account-key-rotated-90-days", "gcp-iam-service-account-no-user-managed-keys"]
    _, results = _scan(standin, rules)
    assert results[("gcp-iam-service-account-key-rotated-90-days", name)] == Outcome.NOT_APPLICABLE
    assert results[("gcp-iam-service-account-no-user-managed-keys", name)] == Outcome.FAIL  # it still exists


def test_an_access_config_without_a_nat_ip_is_still_a_public_address(standin):
    # A stopped VM with an ephemeral external address keeps its access config but has no natIP.
    name = f"//compute.googleapis.com/projects/{P}/zones/us-east1-b/instances/stopped"
    data = {
        "name": "stopped",
        "status": "TERMINATED",
        "networkInterfaces": [
            {"network": "default", "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}]}
        ],
    }
    standin.add_asset(P, "compute.googleapis.com/Instance", name, data, location="us-east1-b")
    _, results = _scan(standin, ["gcp-compute-instance-no-public-ip"])
    assert results[("gcp-compute-instance-no-public-ip", name)] == Outcome.FAIL


def test_dns_policies_name_networks_in_every_url_form(standin):
    forms = {
        "n1": f"https://www.googleapis.com/compute/v1/projects/{P}/global/networks/n1",
        "n2": f"https://compute.googleapis.com/compute/v1/projects/{P}/global/networks/n2/",
        "n3": f"projects/{P}/global/networks/n3",
    }
    for network, url in forms.items():
        standin.add_asset(
            P,
            "compute.googleapis.com/Network",
            f"//compute.googleapis.com/projects/{P}/global/networks/{network}",
            {"name": network, "autoCreateSubnetworks": False},
        )
        standin.add_asset(
            P,
            "dns.googleapis.com/Policy",
            f"//dns.googleapis.com/projects/{P}/policies/log-{network}",
            {"name": f"log-{network}", "enableLogging": True, "networks": [{"networkUrl": url}]},
        )
    inventory, results = _scan(standin, ["gcp-compute-network-dns-logging"])
    assert {r.name: r.properties["dns_logging_policies"] for r in inventory.resources} == {
        n: [f"log-{n}"] for n in forms
    }
    assert {outcome for outcome in results.values()} == {Outcome.PASS}


ORG, FOLDER = "organizations/900", "folders/7"
POLICY_ID = f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}"
SINKS_ID = f"//logging.googleapis.com/projects/{P}/sinks"
ALL_DATA = [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]


def _scope_policy(standin: CloudAssetStandIn, owner: str, audit_configs: list[dict[str, Any]]) -> None:
    kind = "Organization" if owner.startswith("organizations/") else "Folder"
    ancestors = (owner, ORG) if owner != ORG else (ORG,)
    standin.add_scope_asset(
        ancestors,
        f"cloudresourcemanager.googleapis.com/{kind}",
        f"//cloudresourcemanager.googleapis.com/{owner}",
        {"name": owner},
        iam_policy={"bindings": [], "auditConfigs": audit_configs},
    )


def test_audit_logging_set_on_the_organization_is_inherited(standin):
    _scope_policy(standin, ORG, [{"service": "allServices", "auditLogConfigs": ALL_DATA}])
    # A folder the project is not in: its exemptions are not the project's.
    other = [
        {
            "service": "allServices",
            "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": ["user:x@a.example"]}],
        }
    ]
    standin.add_scope_asset(
        ("folders/8", ORG),
        "cloudresourcemanager.googleapis.com/Folder",
        "//cloudresourcemanager.googleapis.com/folders/8",
        {"name": "folders/8"},
        iam_policy={"bindings": [], "auditConfigs": other},
    )
    inventory, results = _scan(standin, ["gcp-logging-audit-config-all-services"])
    assert results[("gcp-logging-audit-config-all-services", POLICY_ID)] == Outcome.PASS
    (policy,) = inventory.resources
    assert [c["source"] for c in policy.properties["inherited_audit_configs"]] == [ORG]


def test_an_exemption_on_a_parent_folder_applies_to_the_project(standin):
    _scope_policy(standin, ORG, [{"service": "allServices", "auditLogConfigs": ALL_DATA}])
    exempt = [{"logType": "DATA_WRITE", "exemptedMembers": ["serviceAccount:etl@p.iam.gserviceaccount.com"]}]
    _scope_policy(standin, FOLDER, [{"service": "storage.googleapis.com", "auditLogConfigs": exempt}])
    inventory, results = _scan(standin, ["gcp-logging-audit-config-all-services"])
    assert results[("gcp-logging-audit-config-all-services", POLICY_ID)] == Outcome.FAIL
    (policy,) = inventory.resources
    assert audit_logging_all_services(policy, {}) == (
        False,
        "serviceAccount:etl@p.iam.gserviceaccount.com exempted from storage.googleapis.com DATA_WRITE"
        " (set on folders/7)",
    )


def test_unreadable_ancestors_make_an_incomplete_project_config_unknown(standin):
    standin.fail(ORG, 403, message="Permission 'cloudasset.assets.listIamPolicy' denied on organizations/900")
    standin.projects[P].iam_policy = {
        "bindings": [{"role": "roles/viewer", "members": ["user:a@acme.example"]}],
        "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_WRITE"}]}],
    }
    rules = ["gcp-logging-audit-config-all-services", "gcp-iam-no-primitive-roles-for-users"]
    inventory, results = _scan(standin, rules)
    assert results[("gcp-logging-audit-config-all-services", POLICY_ID)] == Outcome.ERROR
    assert results[("gcp-iam-no-primitive-roles-for-users", POLICY_ID)] == Outcome.PASS  # bindings were read
    assert all(u.ok for u in inventory.coverage)


def _sink(standin: CloudAssetStandIn, owner: str, name: str, **data: Any) -> None:
    body = {"name": name, "destination": "storage.googleapis.com/org-logs", **data}
    standin.add_scope_asset(
        (owner, ORG) if owner != ORG else (ORG,),
        "logging.googleapis.com/LogSink",
        f"//logging.googleapis.com/{owner}/sinks/{name}",
        body,
    )


@pytest.mark.parametrize(
    ("include_children", "filter_text", "expected"),
    [(True, "", "PASS"), (False, "", "FAIL"), (True, "severity>=ERROR", "FAIL")],
)
def test_an_organization_sink_that_includes_its_children_covers_the_project(
    standin, include_children, filter_text, expected
):
    _sink(standin, ORG, "org-all", includeChildren=include_children, filter=filter_text)
    inventory, results = _scan(standin, ["gcp-logging-sink-exports-all-entries"])
    assert results[("gcp-logging-sink-exports-all-entries", SINKS_ID)] == Outcome[expected]
    (sinks,) = inventory.resources
    assert sinks.properties["inherited_sinks"] == (["organizations/900/sinks/org-all"] if expected == "PASS" else [])


def test_unreadable_ancestors_leave_a_project_without_its_own_sink_unknown(standin):
    standin.fail(ORG, 403)
    _, results = _scan(standin, ["gcp-logging-sink-exports-all-entries"])
    assert results[("gcp-logging-sink-exports-all-entries", SINKS_ID)] == Outcome.ERROR
    name = f"//logging.googleapis.com/projects/{NUMBER}/sinks/all"
    standin.add_asset(
        P, "logging.googleapis.com/LogSink", name, {"name": "all", "destination": "pubsub.googleapis.com/t"}
    )
    _, results = _scan(standin, ["gcp-logging-sink-exports-all-entries"])
    assert results[("gcp-logging-sink-exports-all-entries", SINKS_ID)] == Outcome.PASS


def test_the_organization_is_listed_once_for_all_its_projects(standin):
    standin.add_project("edge-two", "4243", ancestors=(FOLDER, ORG), iam_policy={"bindings": []})
    _scope_policy(standin, ORG, [{"service": "allServices", "auditLogConfigs": ALL_DATA}])
    rules = [
        r for r in RULES if r.id in ("gcp-logging-audit-config-all-services", "gcp-logging-sink-exports-all-entries")
    ]
    inventory = collect(standin, GcpScope(projects=[P, "edge-two"]), Engine(rules).resource_types)
    results = outcomes(rules, inventory.resources)
    assert results[("gcp-logging-audit-config-all-services", POLICY_ID)] == Outcome.PASS
    assert (
        results[("gcp-logging-audit-config-all-services", "//cloudresourcemanager.googleapis.com/projects/4243")]
        == Outcome.PASS
    )
    asked = sorted(tuple(q.get("assetTypes") or []) for q in standin.requests_for(ORG))
    assert asked == [
        ("cloudresourcemanager.googleapis.com/Folder", "cloudresourcemanager.googleapis.com/Organization"),
        ("logging.googleapis.com/LogSink",),
    ]
