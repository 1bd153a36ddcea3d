"""Real-API edge cases named in docs/rules-review-azure.md: each test serves (through the loopback ARM stand-in)
or feeds the response shape the real API returns, and asserts what the collector and the rules make of it."""

from __future__ import annotations

import pytest

from skywarden.bot.demo.azure_estate import PROD, RESTRICTED, SANDBOX, build_estate, demo_arm
from skywarden.bot.demo.azure_standin import ArmStandIn, StaticToken
from skywarden.rules.model import Outcome
from skywarden.scanners.azure.context import AzureClients
from skywarden.scanners.azure.databases import allows_all_azure_ips, parameters_of, selected_networks_only
from skywarden.scanners.azure.defender import (
    contact_summary,
    custom_admin_roles,
    defender_plans,
    dns_protected,
    machines_missing_updates,
    regions_without_network_watcher,
)
from skywarden.scanners.azure.keyvault import expiry_summary
from skywarden.scanners.azure.scan import collect_azure, resolve_subscriptions
from skywarden.scanners.azure.storage import logged_categories
from skywarden.scanners.azure.web import authentication_enabled
from tests.support.aws import outcomes, pack_rules

F, P, NA, E = Outcome.FAIL, Outcome.PASS, Outcome.NOT_APPLICABLE, Outcome.ERROR
SUBS = [PROD, SANDBOX, RESTRICTED]


def _collect(arm: ArmStandIn, subscriptions=SUBS, **overrides):
    from skywarden.scanners.azure.credentials import AzureSettings

    overrides.setdefault("retry_total", 0)
    settings = AzureSettings(arm_url=arm.base_url, ca_bundle=str(arm.cert_path), **overrides)
    clients = AzureClients(settings, StaticToken())
    return collect_azure(clients, resolve_subscriptions(clients, subscriptions), max_workers=4)


def _by_name(inventory):
    return {r.name: r for r in inventory.resources}


# ---------------------------------------------------------------- paging and inventory sources
def test_every_list_call_follows_next_link():
    """One item per page: every child list (diagnostic settings, firewall rules, keys, secrets, server
    parameters, pricings, contacts, assessments, role definitions...) and Resource Graph must be read to the end."""
    with demo_arm(restricted_denied=False) as (arm, _):
        whole = {r.id: r.properties for r in _collect(arm).resources}
    with ArmStandIn(graph_page_size=1, list_page_size=1) as arm:
        build_estate(arm, restricted_denied=False)
        paged = _collect(arm, graph_page_size=1)
        followed = {r.path for r in arm.calls("GET") if "$skiptoken" in r.query}
    assert not paged.gaps
    assert {r.id: r.properties for r in paged.resources} == whole
    for child in ("/keys", "/secrets", "/configurations", "/firewallrules", "microsoft.security/pricings",
                  "microsoft.security/assessments", "microsoft.authorization/roledefinitions",
                  "/diagnosticsettings"):
        assert any(path.endswith(child) for path in followed), child


def test_arm_inventory_reads_the_same_properties_as_resource_graph():
    """Per-resource GETs (clouds without Resource Graph) must give the rules the same properties."""
    with demo_arm(restricted_denied=False) as (arm, _):
        graph = {r.id: r.properties for r in _collect(arm).resources}
        per_resource = {r.id: r.properties for r in _collect(arm, inventory_source="arm").resources}
    assert per_resource == graph


# ---------------------------------------------------------------- Defender for Cloud
def test_security_contacts_fall_back_to_the_older_api_version_and_its_shape():
    """A cloud that does not offer 2023-12-01-preview answers 400; the 2020-01-01-preview shape (alertNotifications,
    notificationsByRole) is then read the same way."""
    rules = pack_rules("azure/defender.yaml")
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", "microsoft.security/securitycontacts", 400, "InvalidApiVersionParameter", times=1)
        arm.add_child(f"/subscriptions/{RESTRICTED}/providers/Microsoft.Security/securityContacts", [{
            "name": "default", "properties": {
                "emails": "soc@acme.example", "phone": "",
                "alertNotifications": {"state": "On", "minimalSeverity": "Medium"},
                "notificationsByRole": {"state": "On", "roles": ["Owner"]}}}])
        inventory = _collect(arm, [RESTRICTED])
        versions = [r.query["api-version"][0] for r in arm.calls("GET", "securitycontacts")]
    assert versions == ["2023-12-01-preview", "2020-01-01-preview"]
    resource = _by_name(inventory)["acme-restricted security"]
    assert resource.properties["security_contacts"] == [
        {"name": "default", "emails": ["soc@acme.example"], "notify_roles": ["Owner"], "alert_min_severity": "Medium",
         "attack_path_min_risk": None}]
    results = outcomes(rules, [resource])
    for rule in ("azure-defender-notify-owners", "azure-defender-security-contact-email",
                 "azure-defender-alert-notifications-high"):
        assert results[(rule, resource.id)] == P


def test_security_contact_denied_is_an_error_not_a_failure():
    rules = pack_rules("azure/defender.yaml")
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", "microsoft.security/securitycontacts", 403, "AuthorizationFailed")
        resource = _by_name(_collect(arm, [PROD]))["acme-prod security"]
    results = outcomes(rules, [resource])
    assert results[("azure-defender-notify-owners", resource.id)] == E
    assert results[("azure-defender-servers-on", resource.id)] == P  # other reads are unaffected


def test_contact_shapes_of_each_api_version():
    newest = {"name": "default", "properties": {
        "emails": "a@x.example; b@x.example", "isEnabled": True,
        "notificationsByRole": {"state": "On", "roles": ["Owner"]},
        "notificationsSources": [{"sourceType": "AttackPath", "minimalRiskLevel": "High"},
                                 {"sourceType": "Alert", "minimalSeverity": "Low"}]}}
    assert contact_summary(newest) == {"name": "default", "emails": ["a@x.example", "b@x.example"],
                                       "notify_roles": ["Owner"], "alert_min_severity": "Low",
                                       "attack_path_min_risk": "High"}
    # isEnabled false switches the whole contact off, whatever it lists.
    off = {"properties": {**newest["properties"], "isEnabled": False}}
    assert contact_summary(off)["notify_roles"] == [] and contact_summary(off)["alert_min_severity"] is None
    # No Alert source at all: alerts are not emailed.
    assert contact_summary({"properties": {"emails": "a@x.example", "notificationsSources": []}})[
        "alert_min_severity"] is None
    legacy = {"name": "default1", "properties": {"email": "sec@x.example", "alertNotifications": "On",
                                                 "alertsToAdmins": "On"}}
    summary = contact_summary(legacy)
    assert summary["emails"] == ["sec@x.example"] and "Owner" in summary["notify_roles"]
    assert summary["alert_min_severity"] == "High"
    middle_off = {"properties": {"emails": "", "alertNotifications": {"state": "Off", "minimalSeverity": "High"},
                                 "notificationsByRole": {"state": "Off", "roles": ["Owner"]}}}
    assert contact_summary(middle_off) == {"name": None, "emails": [], "notify_roles": [],
                                           "alert_min_severity": None, "attack_path_min_risk": None}


def test_pricing_names_case_and_string_booleans():
    plans = defender_plans([
        {"name": "virtualMachines", "properties": {"pricingTier": "Standard", "subPlan": "P1"}},
        {"name": "Containers", "properties": {"pricingTier": "Standard", "extensions": [
            {"name": "ContainerSensor", "isEnabled": "False"}, {"name": "AgentlessDiscoveryForKubernetes",
                                                               "isEnabled": "True"}]}},
        {"name": "Dns", "properties": {"pricingTier": "Free", "deprecated": True}},
    ])
    assert plans["virtualmachines"]["tier"] == "Standard"
    assert plans["containers"]["extensions"] == {"ContainerSensor": False, "AgentlessDiscoveryForKubernetes": True}
    # Deprecated DNS plan with Defender for Servers Plan 1: DNS threat detection is not included.
    assert dns_protected(plans) is False
    plans["virtualmachines"]["sub_plan"] = "P2"
    assert dns_protected(plans) is True
    assert dns_protected({"dns": {"tier": "Standard", "deprecated": False}}) is True


def test_only_custom_roles_with_every_action_at_subscription_or_root_count():
    def role(kind, actions, scopes, name="r"):
        return {"name": name, "properties": {"roleName": name, "type": kind, "assignableScopes": scopes,
                                             "permissions": [{"actions": actions, "notActions": ["x"]}]}}

    sub = "0000-1111"
    assert custom_admin_roles([
        role("BuiltInRole", ["*"], ["/"], "Owner"),  # platform-managed roles are out of scope
        role("CustomRole", ["*"], [f"/subscriptions/{sub}/resourceGroups/rg"], "rg-admin"),
        role("CustomRole", ["Microsoft.Compute/*"], [f"/subscriptions/{sub}"], "compute-admin"),
        role("CustomRole", ["*"], ["/"], "tenant-admin"),
        role("CustomRole", ["*"], [f"/Subscriptions/{sub.upper()}/"], "sub-admin"),
    ], sub) == ["sub-admin", "tenant-admin"]


def test_only_unhealthy_system_update_assessments_count():
    def assessment(name, code, resource):
        return {"id": f"{resource}/providers/Microsoft.Security/assessments/x", "properties": {
            "displayName": name, "status": {"code": code}, "resourceDetails": {"Source": "Azure", "Id": resource}}}

    found = machines_missing_updates([
        assessment("System updates should be installed on your machines (powered by Azure Update Manager)",
                   "Unhealthy", "/vm/a"),
        assessment("System updates should be installed on your machines", "NotApplicable", "/vm/b"),
        assessment("System updates on virtual machine scale sets should be installed", "Unhealthy", "/vmss/c"),
        assessment("Machines should have vulnerability findings resolved", "Unhealthy", "/vm/d"),
        {"id": "/vm/e/providers/Microsoft.Security/assessments/y", "properties": {
            "displayName": "System updates should be installed on your machines", "status": {"code": "Unhealthy"}}},
    ])
    assert found == ["/vm/a", "/vm/e", "/vmss/c"]


def test_network_watcher_regions_compare_display_and_programmatic_names():
    vnets = [{"location": "West Europe"}, {"location": "northeurope"}, {"location": "eastus"}]
    watchers = [{"location": "westeurope", "properties": {"provisioningState": "Succeeded"}},
                {"location": "North Europe"},  # Resource Graph may omit provisioningState: a listed watcher exists
                {"location": "eastus", "properties": {"provisioningState": "Failed"}}]
    assert regions_without_network_watcher(vnets, watchers) == ["eastus"]


# ---------------------------------------------------------------- storage
def test_diagnostic_settings_without_a_destination_or_disabled_log_do_not_count():
    assert logged_categories([
        {"properties": {"logs": [{"categoryGroup": "allLogs", "enabled": True}]}},  # no destination
        {"properties": {"workspaceId": "/w", "logs": [{"category": "StorageRead", "enabled": True},
                                                      {"category": "StorageWrite", "enabled": False}]}},
        {"properties": {"eventHubAuthorizationRuleId": "/e", "logs": [{"category": "StorageDelete",
                                                                        "enabled": True}]}},
    ]) == ["StorageDelete", "StorageRead"]


def test_file_storage_accounts_have_only_a_file_service():
    rules = pack_rules("azure/storage.yaml")
    with demo_arm(restricted_denied=False) as (arm, _):
        account_id = f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Storage/storageAccounts/" \
            "acmefiles"
        arm.add_resource({"id": account_id, "name": "acmefiles", "type": "Microsoft.Storage/storageAccounts",
                          "location": "westeurope", "kind": "FileStorage",
                          "properties": {"supportsHttpsTrafficOnly": True}})
        # Premium file shares with SMB settings never touched: the API leaves protocolSettings.smb empty.
        arm.add_child(f"{account_id}/fileServices/default", {"name": "default", "properties": {
            "shareDeleteRetentionPolicy": {"enabled": True, "days": 14}, "protocolSettings": {"smb": {}}}})
        account = _by_name(_collect(arm, [PROD]))["acmefiles"]
        asked = [r.path.rsplit("acmefiles/", 1)[1] for r in arm.calls("GET", "acmefiles/")]
    assert asked == ["fileservices/default"]  # no blobServices / queueServices GET that would answer 404
    assert not account.properties.get("_errors")
    results = outcomes(rules, [account])
    assert results[("azure-storage-file-share-soft-delete", account.id)] == P
    # Absent SMB versions and channel encryption mean every version and algorithm is allowed.
    assert results[("azure-storage-smb-latest-protocol", account.id)] == F
    assert results[("azure-storage-smb-channel-encryption", account.id)] == F
    results = outcomes(rules, [account])
    for rule in ("azure-storage-blob-soft-delete", "azure-storage-container-soft-delete", "azure-storage-queue-logging",
                 "azure-storage-table-logging", "azure-storage-blob-logging"):
        assert results[(rule, account.id)] == NA


def test_activity_log_account_in_another_subscription_that_cannot_be_read_is_an_error():
    rules = pack_rules("azure/monitor.yaml")
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", "storageaccounts/acmesharedlogs$", 403, "AuthorizationFailed")
        resource = _by_name(_collect(arm, [PROD]))["acme-prod monitoring"]
    assert outcomes(rules, [resource])[("azure-monitor-activity-log-storage-cmk", resource.id)] == E


# ---------------------------------------------------------------- key vault, app service, databases
def test_owner_count_is_distinct_principals_at_the_subscription_scope():
    from skywarden.scanners.azure.defender import subscription_owners

    sub = "0000-1111"
    owner = "/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"

    def assigned(principal, scope, role=owner):
        return {"properties": {"roleDefinitionId": f"/subscriptions/{sub}{role}", "principalId": principal,
                               "scope": scope}}

    assert subscription_owners([
        assigned("a", f"/subscriptions/{sub}"), assigned("a", f"/subscriptions/{sub}/"),  # the same principal twice
        assigned("b", f"/Subscriptions/{sub.upper()}"),
        assigned("c", "/"),  # inherited from the root management group
        assigned("d", f"/subscriptions/{sub}/resourceGroups/rg"),
        assigned("e", f"/subscriptions/{sub}", role="/providers/Microsoft.Authorization/roleDefinitions/other"),
    ], sub) == ["a", "b"]


def test_key_rotation_policy_and_secret_shapes():
    keys = expiry_summary([
        {"name": "k", "properties": {"kty": "RSA", "rotationPolicy": {"lifetimeActions": [
            {"action": {"type": "Notify"}}, {"action": {"type": "Rotate"}}]}}},
        {"name": "k-notify-only", "properties": {"kty": "EC", "rotationPolicy": {"lifetimeActions": [
            {"action": {"type": "notify"}}]}}},
        {"name": "k-no-policy", "properties": {"kty": "RSA-HSM"}},
    ])
    assert [k["auto_rotate"] for k in keys] == [True, False, False]
    assert "auto_rotate" not in expiry_summary([{"name": "s", "properties": {"attributes": {}}}])[0]


def test_key_and_secret_attributes_as_arm_lists_them():
    assert expiry_summary([
        {"name": "k1", "properties": {"attributes": {"exp": 1830297600}}},  # enabled absent: enabled
        {"name": "k2", "properties": {"attributes": {"enabled": False}}},
        {"name": "k3", "properties": {}},
    ]) == [{"name": "k1", "enabled": True, "expires": 1830297600},
           {"name": "k2", "enabled": False, "expires": None},
           {"name": "k3", "enabled": True, "expires": None}]


def test_authentication_settings_v1_and_v2_shapes():
    assert authentication_enabled({"properties": {"platform": {"enabled": True}}}) is True
    assert authentication_enabled({"properties": {"platform": {}}}) is False
    assert authentication_enabled({"properties": {"enabled": True, "unauthenticatedClientAction": 1}}) is True
    assert authentication_enabled({"properties": {}}) is False


def test_server_parameter_values_and_azure_services_rule_names():
    assert parameters_of([{"name": "Log_Connections", "properties": {"value": "ON "}},
                          {"name": "tls_version", "properties": {"value": "TLSv1.2,TLSv1.3"}}]) == {
        "log_connections": "on", "tls_version": "tlsv1.2,tlsv1.3"}
    assert allows_all_azure_ips([{"name": "AllowAllAzureServicesAndResourcesWithinAzureIps_2024-1-1_1-1-1",
                                  "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}])
    assert not allows_all_azure_ips([{"name": "AllowAllWindowsAzureIps",
                                      "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.1"}}])


@pytest.mark.parametrize(("properties", "expected"), [
    ({}, False),  # publicNetworkAccess absent: Enabled, all networks
    ({"publicNetworkAccess": "Enabled", "ipRules": [{"ipAddressOrRange": "203.0.113.0/24"}]}, True),
    ({"publicNetworkAccess": "Enabled", "isVirtualNetworkFilterEnabled": True}, True),
    ({"publicNetworkAccess": "SecuredByPerimeter"}, False),
    ({"publicNetworkAccess": "Disabled"}, True),
])
def test_cosmos_selected_networks(properties, expected):
    assert selected_networks_only(properties) is expected


# ---------------------------------------------------------------- existing rules: NSGs and activity log alerts
def test_nsg_rules_in_flattened_shape_and_port_lists():
    from skywarden.rules.checks.azure import first_internet_allow

    flattened = [  # the SDK's as_dict() flattens "properties"; ranges may come as a list
        {"name": "web", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
         "sourceAddressPrefixes": ["198.51.100.0/24", "0.0.0.0/0"], "destinationPortRanges": ["80", "3380-3390"]},
    ]
    assert "3389" in (first_internet_allow(flattened, [3389], ["Tcp"]) or "")
    assert first_internet_allow(flattened, [22], ["Tcp"]) is None


def test_alert_enabled_absent_means_enabled_and_scope_is_compared_case_insensitively():
    from skywarden.scanners.azure.monitor import alert_summary, alerted_operations

    sub = "5f1c0a3e-0000-4000-8000-00000000a001"
    alerts = [
        alert_summary({"name": "a", "properties": {"scopes": [f"/SUBSCRIPTIONS/{sub.upper()}/"], "condition": {
            "allOf": [{"field": "operationName", "containsAny": ["Microsoft.Network/networkSecurityGroups/write"]}]}}},
            sub),
        # Scoped to one resource group only: does not watch the subscription.
        alert_summary({"name": "b", "properties": {
            "enabled": True, "scopes": [f"/subscriptions/{sub}/resourceGroups/x"],
            "condition": {"allOf": [
                {"field": "operationName", "equals": "Microsoft.Sql/servers/firewallRules/write"}]}}},
            sub),
    ]
    assert alerted_operations(alerts) == ["microsoft.network/networksecuritygroups/write"]


# ---------------------------------------------------------------- gateways, virtual networks, Databricks
def test_ssl_policy_minimum_of_each_shape():
    from skywarden.scanners.azure.gateways import ssl_min_protocol

    assert ssl_min_protocol(None) is None  # platform default depends on the creating api-version
    assert ssl_min_protocol({"policyType": "Predefined", "policyName": "AppGwSslPolicy20170401"}) == "TLSv1_1"
    assert ssl_min_protocol({"policyType": "Predefined", "policyName": "appgwsslpolicy20220101"}) == "TLSv1_2"
    assert ssl_min_protocol({"policyType": "Custom", "minProtocolVersion": "TLSv1_0",
                             "cipherSuites": ["TLS_RSA_WITH_AES_128_GCM_SHA256"]}) == "TLSv1_0"
    assert ssl_min_protocol({"policyType": "Predefined", "policyName": "SomeFuturePolicy"}) is None


def test_waf_policy_defaults_and_bot_overrides():
    from skywarden.scanners.azure.gateways import waf_policy_summary

    bare = waf_policy_summary({"properties": {"policySettings": {"state": "Enabled"},
                                              "managedRules": {"managedRuleSets": []}}})
    assert bare["request_body_check"] is True and bare["bot_protection"] is False
    other_group_disabled = waf_policy_summary({"properties": {"managedRules": {"managedRuleSets": [
        {"ruleSetType": "Microsoft_BotManagerRuleSet", "ruleGroupOverrides": [
            {"ruleGroupName": "GoodBots", "rules": [{"ruleId": "Bot200100", "state": "Disabled"}]}]}]}}})
    assert other_group_disabled["bot_protection"] is True


def test_subnets_in_both_shapes_and_platform_subnets():
    from skywarden.scanners.azure.gateways import p2s_auth_types, subnets_without_nsg

    assert subnets_without_nsg({"subnets": [
        {"name": "AzureFirewallSubnet", "properties": {}},
        {"name": "flat", "networkSecurityGroup": {"id": "/nsg"}},  # flattened by the SDK's as_dict()
        {"name": "bare", "properties": {"addressPrefix": "10.0.1.0/24"}},
    ]}) == ["bare"]
    assert p2s_auth_types({"vpnAuthenticationTypes": ["Certificate", "AAD"]}) == ["AAD", "Certificate"]
    assert p2s_auth_types({"radiusServerAddress": "10.1.1.1", "aadTenant": "t"}) == ["AAD", "Radius"]


def test_databricks_defaults_and_a_vnet_in_another_subscription():
    rules = pack_rules("azure/databricks.yaml")
    with demo_arm(restricted_denied=False) as (arm, _):
        workspace = arm.add_resource({
            "id": f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Databricks/workspaces/dbx-hub",
            "name": "dbx-hub", "type": "Microsoft.Databricks/workspaces", "location": "westeurope",
            "properties": {"parameters": {  # no enableNoPublicIp: the platform default (enabled) applies
                "customVirtualNetworkId": {"type": "String", "value": f"/subscriptions/{SANDBOX}/resourceGroups/"
                                           "hub/providers/Microsoft.Network/virtualNetworks/hub"},
                "customPublicSubnetName": {"type": "String", "value": "pub"},
                "customPrivateSubnetName": {"type": "String", "value": "priv"}}}})
        arm.add_child(f"{workspace['id']}/providers/Microsoft.Insights/diagnosticSettings", [])
        resource = _by_name(_collect(arm, [PROD]))["dbx-hub"]
    results = outcomes(rules, [resource])
    assert results[("azure-databricks-no-public-ip", resource.id)] == P
    # The hub VNet is in a subscription this scan did not read: unknown, not compliant and not failing.
    assert results[("azure-databricks-subnets-have-nsg", resource.id)] == E
    assert results[("azure-databricks-vnet-injection", resource.id)] == P


def test_premium_storage_is_not_held_to_geo_redundancy():
    from skywarden.scanners.model import Resource

    rules = pack_rules("azure/storage.yaml")
    accounts = [Resource(provider="azure", account_id=PROD, region="westeurope", type="azure.storage.account",
                         id=f"/acct/{sku}", name=sku, tags={}, properties={"sku": {"name": sku}, "services": []})
                for sku in ("Premium_ZRS", "Standard_RAGZRS", "Standard_ZRS")]
    results = outcomes(rules, accounts)
    assert [results[("azure-storage-geo-redundant", a.id)] for a in accounts] == [NA, P, F]
