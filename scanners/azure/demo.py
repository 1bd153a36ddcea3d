"""A deliberately misconfigured Azure estate ("Acme"), served in-process by the loopback ARM stand-in.

Each service has a misconfigured resource next to a compliant one, so the demo shows failures and passes
and the tests can assert both outcomes for every rule. Nothing here reaches Azure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scanners.azure.standin import ArmStandIn

WORKSPACE = "/subscriptions/x/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/acme"
PROD = "5f1c0a3e-0000-4000-8000-00000000a001"
SANDBOX = "5f1c0a3e-0000-4000-8000-00000000a002"
RESTRICTED = "5f1c0a3e-0000-4000-8000-00000000a003"
SUBSCRIPTIONS = {PROD: "acme-prod", SANDBOX: "acme-sandbox", RESTRICTED: "acme-restricted"}

ALERT_OPERATIONS = (
    "Microsoft.Authorization/policyAssignments/write", "Microsoft.Authorization/policyAssignments/delete",
    "Microsoft.Network/networkSecurityGroups/write", "Microsoft.Network/networkSecurityGroups/delete",
    "Microsoft.Security/securitySolutions/write", "Microsoft.Security/securitySolutions/delete",
    "Microsoft.Sql/servers/firewallRules/write", "Microsoft.Sql/servers/firewallRules/delete",
    "Microsoft.Network/publicIPAddresses/write", "Microsoft.Network/publicIPAddresses/delete",
)


def _id(sub: str, rg: str, provider: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{name}"


def _resource(arm: ArmStandIn, sub: str, provider: str, name: str, properties: dict[str, Any],
              location: str = "westeurope", rg: str = "acme-prod", **extra: Any) -> dict[str, Any]:
    arm_type = "/".join([provider, *name.split("/")[1::2]])  # "srv/databases/db" -> <provider>/databases
    return arm.add_resource({"id": _id(sub, rg, provider, name), "name": name.split("/")[-1], "type": arm_type,
                             "location": location, "tags": {"owner": "platform"}, "properties": properties, **extra})


def _storage(arm: ArmStandIn) -> None:
    p = "Microsoft.Storage/storageAccounts"
    _resource(arm, PROD, p, "acmelogslegacy", {
        "supportsHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_0", "allowBlobPublicAccess": True,
        "publicNetworkAccess": "Enabled", "allowCrossTenantReplication": True,
        "networkAcls": {"defaultAction": "Allow", "bypass": "None"},
        "encryption": {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": False}},
        kind="StorageV2", sku={"name": "Standard_LRS"})
    _resource(arm, PROD, p, "acmedatamain", {
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Disabled", "allowCrossTenantReplication": False,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices, Logging"},
        "encryption": {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": True}},
        kind="StorageV2", sku={"name": "Standard_GRS"})
    _resource(arm, PROD, p, "acmearchive", {
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
        "encryption": {"requireInfrastructureEncryption": True}}, kind="StorageV2")


def _rule(name: str, priority: int, access: str, protocol: str, source: str, ports: str) -> dict[str, Any]:
    return {"name": name, "properties": {"priority": priority, "access": access, "protocol": protocol,
                                         "direction": "Inbound", "sourceAddressPrefix": source,
                                         "sourcePortRange": "*", "destinationAddressPrefix": "*",
                                         "destinationPortRange": ports}}


def _network(arm: ArmStandIn) -> None:
    p = "Microsoft.Network/networkSecurityGroups"
    _resource(arm, PROD, p, "web-nsg-legacy", {"securityRules": [
        _rule("allow-ssh", 100, "Allow", "Tcp", "*", "22"),
        _rule("allow-rdp", 110, "Allow", "*", "Internet", "3389"),
        _rule("allow-dns", 120, "Allow", "Udp", "0.0.0.0/0", "53"),
        _rule("allow-web", 130, "Allow", "Tcp", "*", "80-443"),
    ]})
    # An allow from the office only, then a deny from the internet that shadows the later HTTPS allow.
    _resource(arm, PROD, p, "app-nsg", {"securityRules": [
        _rule("ssh-from-office", 100, "Allow", "Tcp", "203.0.113.0/24", "22"),
        _rule("deny-internet", 200, "Deny", "*", "Internet", "*"),
        _rule("https-everyone", 300, "Allow", "Tcp", "*", "443"),
    ]})


def _sql(arm: ArmStandIn) -> None:
    p = "Microsoft.Sql/servers"
    servers = {
        "acme-sql-legacy": ({"state": "Disabled", "retentionDays": 0},
                            [("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0"),
                             ("everyone", "1.0.0.0", "255.255.255.255")],
                            []),
        "acme-sql-main": ({"state": "Enabled", "retentionDays": 30}, [("office", "203.0.113.0", "203.0.113.255")],
                          [{"administratorType": "ActiveDirectory", "login": "sql-admins", "sid": "0000-aaaa"}]),
        "acme-sql-reporting": ({"state": "Enabled", "retentionDays": 0}, [],
                               [{"administratorType": "ActiveDirectory", "login": "bi-admins", "sid": "0000-bbbb"}]),
    }
    for name, (auditing, rules, admins) in servers.items():
        server = _resource(arm, PROD, p, name, {"version": "12.0", "publicNetworkAccess": "Enabled"}, kind="v12.0")
        sid = server["id"]
        arm.add_child(f"{sid}/auditingSettings/default", {"name": "default", "properties": auditing})
        arm.add_child(f"{sid}/firewallRules", [
            {"name": n, "properties": {"startIpAddress": a, "endIpAddress": b}} for n, a, b in rules])
        arm.add_child(f"{sid}/administrators", [{"name": "ActiveDirectory", "properties": a} for a in admins])
    for server, db, state in (("acme-sql-legacy", "orders", "Disabled"), ("acme-sql-main", "customers", "Enabled"),
                              ("acme-sql-main", "master", None)):
        database = _resource(arm, PROD, p, f"{server}/databases/{db}", {"status": "Online"})
        if state:
            arm.add_child(f"{database['id']}/transparentDataEncryption/current", {"properties": {"state": state}})


def _keyvault(arm: ArmStandIn) -> None:
    p = "Microsoft.KeyVault/vaults"
    legacy = _resource(arm, PROD, p, "acme-kv-legacy", {"enableSoftDelete": False, "enableRbacAuthorization": False,
                                                        "tenantId": "00000000-0000-0000-0000-0000000000aa"})
    main = _resource(arm, PROD, p, "acme-kv-main", {"enableSoftDelete": True, "enablePurgeProtection": True,
                                                    "enableRbacAuthorization": True})
    arm.add_child(f"{legacy['id']}/providers/Microsoft.Insights/diagnosticSettings", [])
    arm.add_child(f"{main['id']}/providers/Microsoft.Insights/diagnosticSettings", [{"name": "audit", "properties": {
        "workspaceId": WORKSPACE,
        "logs": [{"categoryGroup": "audit", "enabled": True}, {"categoryGroup": "allLogs", "enabled": True}]}}])


def _compute(arm: ArmStandIn) -> None:
    vm = "Microsoft.Compute/virtualMachines"
    _resource(arm, PROD, vm, "jumpbox-legacy", {"storageProfile": {"osDisk": {
        "name": "jumpbox-os", "vhd": {"uri": "https://acmelogslegacy.blob.core.windows.net/vhds/jumpbox.vhd"}}}})
    _resource(arm, PROD, vm, "api-01", {
        "storageProfile": {"osDisk": {"name": "api-01-os",
                                      "managedDisk": {"id": f"/subscriptions/{PROD}/disks/api-01-os"}}},
        "securityProfile": {"securityType": "TrustedLaunch",
                            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}})
    disk = "Microsoft.Compute/disks"
    for name, state, encryption in (("api-01-os", "Attached", "EncryptionAtRestWithPlatformKey"),
                                    ("db-01-data", "Attached", "EncryptionAtRestWithCustomerKey"),
                                    ("old-backup-disk", "Unattached", "EncryptionAtRestWithPlatformKey"),
                                    ("archive-disk", "Unattached", "EncryptionAtRestWithPlatformAndCustomerKeys")):
        _resource(arm, PROD, disk, name, {"diskState": state, "diskSizeGB": 64, "encryption": {"type": encryption}})


def _web(arm: ArmStandIn) -> None:
    p = "Microsoft.Web/sites"
    legacy = _resource(arm, PROD, p, "acme-shop-legacy", {"httpsOnly": False, "state": "Running"}, kind="app")
    api = _resource(arm, PROD, p, "acme-api", {"httpsOnly": True, "state": "Running"}, kind="app",
                    identity={"type": "SystemAssigned", "principalId": "11111111-2222-3333-4444-555555555555"})
    arm.add_child(f"{legacy['id']}/config/web", {"properties": {"minTlsVersion": "1.0", "http20Enabled": False,
                                                                 "ftpsState": "AllAllowed"}})
    arm.add_child(f"{api['id']}/config/web", {"properties": {"minTlsVersion": "1.2", "http20Enabled": True,
                                                              "ftpsState": "FtpsOnly"}})


def _monitor(arm: ArmStandIn) -> None:
    p = "Microsoft.Insights/activityLogAlerts"
    for index, operation in enumerate(ALERT_OPERATIONS):
        _resource(arm, PROD, p, f"alert-{index}", {
            "enabled": True, "scopes": [f"/subscriptions/{PROD}"],
            "condition": {"allOf": [{"field": "category", "equals": "Administrative"},
                                    {"field": "operationName", "equals": operation}]}}, location="global")
    # Sandbox: one disabled alert and one narrowed by level, neither of which counts.
    _resource(arm, SANDBOX, p, "nsg-changes-disabled", {
        "enabled": False, "scopes": [f"/subscriptions/{SANDBOX}"],
        "condition": {"allOf": [{"field": "operationName", "equals": ALERT_OPERATIONS[2]}]}},
        location="global", rg="acme-sandbox")
    _resource(arm, SANDBOX, p, "policy-errors-only", {
        "enabled": True, "scopes": [f"/subscriptions/{SANDBOX}"],
        "condition": {"allOf": [{"field": "operationName", "equals": ALERT_OPERATIONS[0]},
                                {"field": "level", "equals": "Error"}]}}, location="global", rg="acme-sandbox")
    arm.add_child(f"/subscriptions/{PROD}/providers/Microsoft.Insights/diagnosticSettings", [{
        "name": "activity-to-siem", "properties": {
            "workspaceId": WORKSPACE,
            "logs": [{"category": c, "enabled": True} for c in ("Administrative", "Security", "Alert", "Policy")]}}])
    arm.add_child(f"/subscriptions/{SANDBOX}/providers/Microsoft.Insights/diagnosticSettings", [])
    arm.add_child(f"/subscriptions/{RESTRICTED}/providers/Microsoft.Insights/diagnosticSettings", [])


def build_estate(arm: ArmStandIn, restricted_denied: bool = True) -> None:
    """Seed the stand-in; the restricted subscription answers Resource Graph with 403 unless told otherwise."""
    for sub, name in SUBSCRIPTIONS.items():
        arm.add_subscription(sub, name)
    _storage(arm)
    _network(arm)
    _sql(arm)
    _keyvault(arm)
    _compute(arm)
    _web(arm)
    _monitor(arm)
    _resource(arm, RESTRICTED, "Microsoft.Storage/storageAccounts", "restrictedlegacy",
              {"supportsHttpsTrafficOnly": False}, rg="acme-restricted")
    if restricted_denied:
        arm.fail("POST", "microsoft.resourcegraph", 403, "AuthorizationFailed", body_contains=RESTRICTED)


@contextmanager
def demo_arm(restricted_denied: bool = True) -> Iterator[tuple[ArmStandIn, Any]]:
    """Serve the Acme estate in-process; yields the stand-in and AzureSettings pointing at it (https, trusted
    through its self-signed certificate). Use with a StaticToken credential: the stand-in checks no token."""
    from scanners.azure.credentials import AzureSettings

    with ArmStandIn() as arm:
        build_estate(arm, restricted_denied)
        settings = AzureSettings(arm_url=arm.base_url, ca_bundle=str(arm.cert_path), retry_total=0)
        yield arm, settings
