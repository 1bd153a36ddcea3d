"""A deliberately misconfigured Azure estate ("Acme"), served in-process by the loopback ARM stand-in.

Each service has a misconfigured resource next to a compliant one, so the demo shows failures and passes
and the tests can assert both outcomes for every rule. Nothing here reaches Azure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from skywarden.bot.demo.azure_standin import ArmStandIn

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
        "privateEndpointConnections": [_endpoint("legacy-pe", "Pending")],
        "encryption": {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": False}},
        kind="StorageV2", sku={"name": "Standard_LRS"})
    # Azure writes keyCreationTime with seven fractional digits; main's keys were rotated ten days ago.
    rotated = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).strftime("%Y-%m-%dT08:30:00.1234567Z")
    _resource(arm, PROD, p, "acmedatamain", {
        "keyCreationTime": {"key1": rotated, "key2": rotated}, "keyPolicy": {"keyExpirationPeriodInDays": 90},
        "allowSharedKeyAccess": False, "defaultToOAuthAuthentication": True,
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Disabled", "allowCrossTenantReplication": False,
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices, Logging"},
        "privateEndpointConnections": [_endpoint("data-pe", "Approved")],
        "encryption": {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": True}},
        kind="StorageV2", sku={"name": "Standard_GRS"})
    _resource(arm, PROD, p, "acmearchive", {
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
        "keyCreationTime": {"key1": "2021-03-01T08:00:00.0000000Z", "key2": "2021-03-01T08:00:00.0000000Z"},
        "encryption": {"requireInfrastructureEncryption": True}}, kind="BlockBlobStorage")


def _endpoint(name: str, status: str) -> dict[str, Any]:
    return {"id": f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Network/privateEndpoints/{name}",
            "properties": {"privateEndpoint": {"id": f"/subscriptions/{PROD}/privateEndpoints/{name}"},
                           "privateLinkServiceConnectionState": {"status": status, "description": ""}}}


def _diagnostics(name: str, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "properties": {"workspaceId": WORKSPACE, "logs": logs}}]


_REQUEST_LOGS = [{"category": c, "enabled": True} for c in ("StorageRead", "StorageWrite", "StorageDelete")]


def _storage_children(arm: ArmStandIn) -> None:
    """Blob service soft delete and per-service diagnostic settings: off for legacy, on for main."""
    for resource in list(arm.resources.values()):
        if resource["type"] != "Microsoft.Storage/storageAccounts":
            continue
        good = resource["name"] in ("acmedatamain", "acmearchive", "acmesharedlogs")
        policy = {"enabled": good, "days": 7} if good else {"enabled": False}
        blob: dict[str, Any] = {"deleteRetentionPolicy": policy}
        if good:
            blob["containerDeleteRetentionPolicy"] = {"enabled": True, "days": 7}
            blob["isVersioningEnabled"] = True
        arm.add_child(f"{resource['id']}/blobServices/default", {"name": "default", "properties": blob})
        files: dict[str, Any] = {"shareDeleteRetentionPolicy": {"enabled": good, "days": 7} if good else
                                 {"enabled": False}}
        if good:
            files["protocolSettings"] = {"smb": {"versions": "SMB3.1.1;", "channelEncryption": "AES-256-GCM;",
                                                 "authenticationMethods": "Kerberos;"}}
        arm.add_child(f"{resource['id']}/fileServices/default", {"name": "default", "properties": files})
        for service in ("blob", "queue", "table"):
            settings = []
            if good:  # allLogs on the blob service, the three categories by name elsewhere
                logs = [{"categoryGroup": "allLogs", "enabled": True}] if service == "blob" else _REQUEST_LOGS
                settings = _diagnostics(f"{service}-logs", logs)
                if service == "blob":  # a second setting archiving deletes, as audit teams often add
                    settings.append({"name": "blob-delete-archive", "properties": {
                        "storageAccountId": resource["id"], "logs": [{"category": "StorageDelete", "enabled": True}]}})
            arm.add_child(f"{resource['id']}/{service}Services/default/providers/Microsoft.Insights/diagnosticSettings",
                          settings)


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
        cmk = name == "acme-sql-main"
        arm.add_child(f"{sid}/encryptionProtector/current", {"name": "current", "kind": "azurekeyvault" if cmk else
                      "servicemanaged", "properties": {
                          "serverKeyName": "acme-kv-main_tde_0001" if cmk else "ServiceManaged",
                          "serverKeyType": "AzureKeyVault" if cmk else "ServiceManaged"}})
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
                                                    "enableRbacAuthorization": True, "publicNetworkAccess": "Disabled",
                                                    "privateEndpointConnections": [_endpoint("kv-pe", "Approved")]})
    apps = _resource(arm, PROD, p, "acme-kv-apps", {"enableSoftDelete": True, "enableRbacAuthorization": True})
    # No enableRbacAuthorization at all: the vault uses access policies.
    team = _resource(arm, PROD, p, "acme-kv-team", {"enableSoftDelete": True})
    for vault in (legacy, apps, team):
        arm.add_child(f"{vault['id']}/providers/Microsoft.Insights/diagnosticSettings", [])
    arm.add_child(f"{main['id']}/providers/Microsoft.Insights/diagnosticSettings", [{"name": "audit", "properties": {
        "workspaceId": WORKSPACE,
        "logs": [{"categoryGroup": "audit", "enabled": True}, {"categoryGroup": "allLogs", "enabled": True}]}}])
    expiring = {"enabled": True, "exp": 1830297600, "created": 1700000000}
    never = {"enabled": True, "created": 1700000000}
    rotate = {"lifetimeActions": [{"trigger": {"timeAfterCreate": "P18M"}, "action": {"type": "rotate"}},
                                  {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}}],
              "attributes": {"expiryTime": "P2Y"}}
    for vault, good in ((legacy, False), (main, True), (apps, False), (team, True)):
        for kind in ("keys", "secrets"):
            first: dict[str, Any] = {"attributes": expiring if good else never}
            if kind == "keys":
                first.update({"kty": "RSA", "keySize": 3072, "keyOps": ["wrapKey", "unwrapKey"]})
                if good:
                    first["rotationPolicy"] = rotate
            items = [{"name": f"{kind[:-1]}-1", "properties": first},
                     # Disabled: needs no expiry (CIS audits enabled objects only).
                     {"name": f"{kind[:-1]}-old", "properties": {"attributes": {"enabled": False}}}]
            arm.add_child(f"{vault['id']}/{kind}", [
                {"id": f"{vault['id']}/{kind}/{i['name']}", "type": f"Microsoft.KeyVault/vaults/{kind}", **i}
                for i in items])


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
    arm.add_child(f"{legacy['id']}/config/authsettingsV2", {"name": "authsettingsV2", "properties": {
        "platform": {"enabled": False, "runtimeVersion": "~1"}, "globalValidation": {}}})
    arm.add_child(f"{api['id']}/config/authsettingsV2", {"name": "authsettingsV2", "properties": {
        "platform": {"enabled": True, "runtimeVersion": "~1"},
        "globalValidation": {"requireAuthentication": True, "unauthenticatedClientAction": "Return401"},
        "identityProviders": {"azureActiveDirectory": {"enabled": True}}}})


def _monitor(arm: ArmStandIn) -> None:
    p = "Microsoft.Insights/activityLogAlerts"
    for index, operation in enumerate(ALERT_OPERATIONS):
        _resource(arm, PROD, p, f"alert-{index}", {
            "enabled": True, "scopes": [f"/subscriptions/{PROD}"],
            "condition": {"allOf": [{"field": "category", "equals": "Administrative"},
                                    {"field": "operationName", "equals": operation}]}}, location="global")
    _resource(arm, PROD, p, "service-health", {
        "enabled": True, "scopes": [f"/subscriptions/{PROD}"],
        "condition": {"allOf": [{"field": "category", "equals": "ServiceHealth"}]}}, location="global")
    # Sandbox: one disabled alert and one narrowed by level, neither of which counts.
    _resource(arm, SANDBOX, p, "nsg-changes-disabled", {
        "enabled": False, "scopes": [f"/subscriptions/{SANDBOX}"],
        "condition": {"allOf": [{"field": "operationName", "equals": ALERT_OPERATIONS[2]}]}},
        location="global", rg="acme-sandbox")
    _resource(arm, SANDBOX, p, "policy-errors-only", {
        "enabled": True, "scopes": [f"/subscriptions/{SANDBOX}"],
        "condition": {"allOf": [{"field": "operationName", "equals": ALERT_OPERATIONS[0]},
                                {"field": "level", "equals": "Error"}]}}, location="global", rg="acme-sandbox")
    # Prod exports to a CMK-encrypted account in the sandbox subscription (a central log account is often in
    # another subscription); restricted exports to its own Microsoft-managed-key account.
    shared = _resource(arm, SANDBOX, "Microsoft.Storage/storageAccounts", "acmesharedlogs", {
        "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
        "encryption": {"keySource": "Microsoft.Keyvault", "keyvaultproperties": {
            "keyname": "logs", "keyvaulturi": "https://acme-kv-main.vault.azure.net/"}}},
        rg="acme-sandbox", kind="StorageV2")
    arm.add_child(f"/subscriptions/{PROD}/providers/Microsoft.Insights/diagnosticSettings", [{
        "name": "activity-to-siem", "properties": {
            "workspaceId": WORKSPACE, "storageAccountId": shared["id"],
            "logs": [{"category": c, "enabled": True} for c in ("Administrative", "Security", "Alert", "Policy")]}}])
    arm.add_child(f"/subscriptions/{SANDBOX}/providers/Microsoft.Insights/diagnosticSettings", [])
    restricted_account = _id(RESTRICTED, "acme-restricted", "Microsoft.Storage/storageAccounts", "restrictedlegacy")
    arm.add_child(f"/subscriptions/{RESTRICTED}/providers/Microsoft.Insights/diagnosticSettings", [{
        "name": "activity-archive", "properties": {
            "storageAccountId": restricted_account, "logs": [{"category": "Administrative", "enabled": True}]}}])
    _resource(arm, PROD, "Microsoft.Insights/components", "acme-api-insights",
              {"ApplicationId": "acme-api-insights", "Application_Type": "web", "IngestionMode": "LogAnalytics"},
              kind="web")


def _defender(arm: ArmStandIn) -> None:
    """Defender for Cloud in the real API's shapes: prod as CIS wants it, sandbox and restricted not."""
    plans = ("VirtualMachines", "AppServices", "SqlServers", "SqlServerVirtualMachines",
             "OpenSourceRelationalDatabases", "CosmosDbs", "StorageAccounts", "Containers", "KeyVaults", "Arm")

    def pricing(sub: str, name: str, tier: str, **extra: Any) -> dict[str, Any]:
        return {"id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}", "name": name,
                "type": "Microsoft.Security/pricings", "properties": {"pricingTier": tier, **extra}}

    prod = [pricing(PROD, n, "Standard") for n in plans if n not in ("VirtualMachines", "Containers")]
    prod += [pricing(PROD, "VirtualMachines", "Standard", subPlan="P2"),
             pricing(PROD, "Containers", "Standard", extensions=[
                 {"name": e, "isEnabled": "True"} for e in (
                     "ContainerSensor", "ContainerRegistriesVulnerabilityAssessments",
                     "AgentlessDiscoveryForKubernetes", "AgentlessVmScanning")]),
             pricing(PROD, "CloudPosture", "Standard"), pricing(PROD, "Api", "Standard", subPlan="P1"),
             # Since August 2023 the DNS plan is part of Defender for Servers Plan 2 and reports as deprecated.
             pricing(PROD, "Dns", "Free", deprecated=True, replacedBy=["VirtualMachines"])]
    sandbox = [pricing(SANDBOX, n, "Free") for n in plans if n != "Containers"]
    sandbox += [pricing(SANDBOX, "Containers", "Standard", extensions=[
                    {"name": "ContainerSensor", "isEnabled": "False"}]),
                pricing(SANDBOX, "Dns", "Free")]
    lists = {PROD: prod, SANDBOX: sandbox, RESTRICTED: []}
    contacts = {
        # 2023-12-01-preview shape.
        PROD: [{"id": f"/subscriptions/{PROD}/providers/Microsoft.Security/securityContacts/default",
                "name": "default", "properties": {
                    "emails": "secops@acme.example;cloud@acme.example", "phone": "", "isEnabled": True,
                    "notificationsByRole": {"state": "On", "roles": ["Owner", "Contributor"]},
                    "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "High"},
                                             {"sourceType": "AttackPath", "minimalRiskLevel": "High"}]}}],
        SANDBOX: [{"id": f"/subscriptions/{SANDBOX}/providers/Microsoft.Security/securityContacts/default",
                   "name": "default", "properties": {
                       "emails": "", "isEnabled": True, "notificationsByRole": {"state": "Off", "roles": ["Owner"]},
                       "notificationsSources": []}}],
        RESTRICTED: [],
    }
    machine = f"/subscriptions/{SANDBOX}/resourceGroups/acme-sandbox/providers/Microsoft.Compute/virtualMachines/dev"

    def assessment(sub: str, resource: str, name: str, display: str, code: str) -> dict[str, Any]:
        return {"id": f"{resource}/providers/Microsoft.Security/assessments/{name}", "name": name,
                "type": "Microsoft.Security/assessments", "properties": {
                    "displayName": display, "status": {"code": code},
                    "resourceDetails": {"Source": "Azure", "Id": resource}}}

    updates = "System updates should be installed on your machines"
    vm = f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Compute/virtualMachines/api-01"
    assessments = {
        PROD: [assessment(PROD, vm, "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27", updates, "Healthy"),
               assessment(PROD, vm, "d57a4221-a804-52ca-3dea-768702e7fc90", "Vulnerabilities should be remediated",
                          "Unhealthy")],
        SANDBOX: [assessment(SANDBOX, machine, "4ab6e3c5-74dd-8b35-9ab9-f61b30875b27", updates, "Unhealthy")],
        RESTRICTED: [],
    }

    def role(sub: str, name: str, actions: list[str], scopes: list[str]) -> dict[str, Any]:
        return {"id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{name}",
                "name": name, "type": "Microsoft.Authorization/roleDefinitions", "properties": {
                    "roleName": name, "type": "CustomRole", "assignableScopes": scopes,
                    "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]}}

    roles = {
        # Every action, but only within one resource group: not a subscription administrator.
        PROD: [role(PROD, "rg-owner", ["*"], [f"/subscriptions/{PROD}/resourceGroups/acme-prod"]),
               role(PROD, "vm-operator", ["Microsoft.Compute/virtualMachines/start/action"],
                    [f"/subscriptions/{PROD}"])],
        SANDBOX: [role(SANDBOX, "sandbox-admin", ["*"], [f"/subscriptions/{SANDBOX}/"])],
        RESTRICTED: [],
    }
    def assignment(sub: str, principal: str, role_id: str, scope: str) -> dict[str, Any]:
        return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{principal}", "name": principal,
                "type": "Microsoft.Authorization/roleAssignments", "properties": {
                    "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                                        f"{role_id}", "principalId": principal, "principalType": "User",
                    "scope": scope}}

    owner, reader = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    owners = {
        # Two owners at the subscription, one more only on a resource group, one inherited from the root.
        PROD: [assignment(PROD, "owner-a", owner, f"/subscriptions/{PROD}"),
               assignment(PROD, "owner-b", owner, f"/subscriptions/{PROD}"),
               assignment(PROD, "rg-owner", owner, f"/subscriptions/{PROD}/resourceGroups/acme-prod"),
               assignment(PROD, "root-owner", owner, "/"),
               assignment(PROD, "auditor", reader, f"/subscriptions/{PROD}")],
        # One owner, and a Global Administrator's 'elevate access' left behind at the root.
        SANDBOX: [assignment(SANDBOX, "only-owner", owner.upper(), f"/subscriptions/{SANDBOX}"),
                  assignment(SANDBOX, "elevated-admin", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "/")],
        RESTRICTED: [],
    }
    for sub in SUBSCRIPTIONS:
        base = f"/subscriptions/{sub}/providers"
        arm.add_child(f"{base}/Microsoft.Security/pricings", lists[sub])
        arm.add_child(f"{base}/Microsoft.Security/securityContacts", contacts[sub])
        arm.add_child(f"{base}/Microsoft.Security/autoProvisioningSettings", [{
            "id": f"{base}/Microsoft.Security/autoProvisioningSettings/default", "name": "default",
            "properties": {"autoProvision": "On" if sub == PROD else "Off"}}])
        arm.add_child(f"{base}/Microsoft.Security/assessments", assessments[sub])
        arm.add_child(f"{base}/Microsoft.Authorization/roleDefinitions", roles[sub])
        arm.add_child(f"{base}/Microsoft.Security/settings", [
            {"id": f"{base}/Microsoft.Security/settings/{name}", "name": name, "type": "Microsoft.Security/settings",
             "kind": "DataExportSettings", "properties": {"enabled": sub == PROD}} for name in ("MCAS", "WDATP")])
        arm.add_child(f"{base}/Microsoft.Authorization/roleAssignments", owners[sub])


def _network_watch(arm: ArmStandIn) -> None:
    """Bastion, Network Watcher and flow logs: prod watches its region, sandbox has a VNet where it does not."""
    net = "Microsoft.Network"
    _resource(arm, PROD, f"{net}/virtualNetworks", "prod-vnet", {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "enableDdosProtection": True,
        "ddosProtectionPlan": {"id": f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/{net}/"
                                     "ddosProtectionPlans/acme-ddos"},
        "subnets": [_subnet(PROD, "prod-vnet", "app", "app-nsg"),
                    _subnet(PROD, "prod-vnet", "GatewaySubnet", None)]})  # Azure-managed: takes no NSG
    _resource(arm, PROD, f"{net}/bastionHosts", "prod-bastion", {"provisioningState": "Succeeded"})
    _resource(arm, SANDBOX, f"{net}/virtualNetworks", "sandbox-vnet", {
        "subnets": [_subnet(SANDBOX, "sandbox-vnet", "dev", None)]}, location="northeurope", rg="acme-sandbox")
    for sub in (PROD, SANDBOX):
        _resource(arm, sub, f"{net}/networkWatchers", f"NetworkWatcher_westeurope-{sub[-4:]}",
                  {"provisioningState": "Succeeded"}, rg="NetworkWatcherRG")
    watcher = f"{net}/networkWatchers"
    nsg = f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/{net}/networkSecurityGroups"
    for name, enabled, policy in (("web-nsg-flowlog", True, {"enabled": True, "days": 30}),
                                  ("app-nsg-flowlog", True, {"enabled": True, "days": 90}),
                                  ("forever-flowlog", True, {"enabled": False, "days": 0}),
                                  ("paused-flowlog", False, {"enabled": True, "days": 7})):
        _resource(arm, PROD, watcher, f"NetworkWatcher_westeurope-{PROD[-4:]}/flowLogs/{name}", {
            "targetResourceId": f"{nsg}/{name.split('-flowlog')[0]}", "enabled": enabled,
            "storageId": f"/subscriptions/{PROD}/resourceGroups/acme-prod/providers/Microsoft.Storage/"
                         "storageAccounts/acmedatamain",
            "retentionPolicy": policy, "format": {"type": "JSON", "version": 2}}, rg="NetworkWatcherRG")


def _subnet(sub: str, vnet: str, name: str, nsg: str | None) -> dict[str, Any]:
    net = f"/subscriptions/{sub}/resourceGroups/acme-prod/providers/Microsoft.Network"
    props: dict[str, Any] = {"addressPrefix": "10.0.0.0/24", "provisioningState": "Succeeded"}
    if nsg:
        props["networkSecurityGroup"] = {"id": f"{net}/networkSecurityGroups/{nsg}"}
    return {"id": f"{net}/virtualNetworks/{vnet}/subnets/{name}", "name": name, "properties": props}


def _gateways(arm: ArmStandIn) -> None:
    """Application Gateways (with WAF policies served by id) and VPN gateways' point-to-site settings."""
    net = "Microsoft.Network"
    policies = {}
    for name, body_check, bots_disabled in (("waf-strict", True, False), ("waf-lax", False, True)):
        bot_set: dict[str, Any] = {"ruleSetType": "Microsoft_BotManagerRuleSet", "ruleSetVersion": "1.0"}
        if bots_disabled:
            bot_set["ruleGroupOverrides"] = [{"ruleGroupName": "KnownBadBots",
                                              "rules": [{"ruleId": "Bot100100", "state": "Disabled"}]}]
        policies[name] = _resource(arm, PROD, f"{net}/ApplicationGatewayWebApplicationFirewallPolicies", name, {
            "policySettings": {"state": "Enabled", "mode": "Prevention", "requestBodyCheck": body_check},
            "managedRules": {"managedRuleSets": [{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}, bot_set]}})
    gateway = f"{net}/applicationGateways"
    _resource(arm, PROD, gateway, "agw-legacy", {"sku": {"name": "Standard_v2", "tier": "Standard_v2"},
                                                 "enableHttp2": False})
    _resource(arm, PROD, gateway, "agw-main", {
        "sku": {"name": "WAF_v2", "tier": "WAF_v2"}, "firewallPolicy": {"id": policies["waf-strict"]["id"]},
        "sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"}, "enableHttp2": True})
    _resource(arm, PROD, gateway, "agw-edge", {
        "sku": {"name": "WAF_v2", "tier": "WAF_v2"}, "firewallPolicy": {"id": policies["waf-lax"]["id"]},
        "sslPolicy": {"policyType": "CustomV2", "minProtocolVersion": "TLSv1_1"}, "enableHttp2": True})
    vpn = f"{net}/virtualNetworkGateways"
    # Configured before vpnAuthenticationTypes existed: certificate authentication, read from its root certificates.
    _resource(arm, PROD, vpn, "vpn-legacy", {"gatewayType": "Vpn", "vpnClientConfiguration": {
        "vpnClientAddressPool": {"addressPrefixes": ["172.16.0.0/24"]},
        "vpnClientRootCertificates": [{"name": "root", "properties": {"publicCertData": "MIIC..."}}]}})
    _resource(arm, PROD, vpn, "vpn-main", {"gatewayType": "Vpn", "vpnClientConfiguration": {
        "vpnAuthenticationTypes": ["AAD"], "aadTenant": "https://login.microsoftonline.com/tenant",
        "aadAudience": "41b23e61-6c1e-4545-b367-cd054e0ed4b4", "aadIssuer": "https://sts.windows.net/tenant/"}})
    _resource(arm, PROD, vpn, "er-gateway", {"gatewayType": "ExpressRoute"})


def _databricks(arm: ArmStandIn) -> None:
    net = "Microsoft.Network"
    vnet = _resource(arm, PROD, f"{net}/virtualNetworks", "dbx-vnet", {"subnets": [
        _subnet(PROD, "dbx-vnet", "dbx-public", "dbx-nsg"), _subnet(PROD, "dbx-vnet", "dbx-private", "dbx-nsg"),
        _subnet(PROD, "dbx-vnet", "dbx2-public", "dbx-nsg"), _subnet(PROD, "dbx-vnet", "dbx2-private", None)]})

    def injected(public: str, private: str) -> dict[str, Any]:
        return {"customVirtualNetworkId": {"type": "String", "value": vnet["id"]},
                "customPublicSubnetName": {"type": "String", "value": public},
                "customPrivateSubnetName": {"type": "String", "value": private},
                "enableNoPublicIp": {"type": "Bool", "value": True}}

    p = "Microsoft.Databricks/workspaces"
    legacy = _resource(arm, PROD, p, "dbx-legacy", {
        "parameters": {"enableNoPublicIp": {"type": "Bool", "value": False}}, "publicNetworkAccess": "Enabled"},
        sku={"name": "premium"})
    main = _resource(arm, PROD, p, "dbx-main", {"parameters": injected("dbx-public", "dbx-private"),
                                                "publicNetworkAccess": "Disabled",
                                                "privateEndpointConnections": [_endpoint("dbx-pe", "Approved")]},
                     sku={"name": "premium"})
    partial = _resource(arm, PROD, p, "dbx-partial", {"parameters": injected("dbx2-public", "dbx2-private")},
                        sku={"name": "premium"})
    arm.add_child(f"{main['id']}/providers/Microsoft.Insights/diagnosticSettings",
                  _diagnostics("dbx-logs", [{"categoryGroup": "allLogs", "enabled": True}]))
    for workspace in (legacy, partial):
        arm.add_child(f"{workspace['id']}/providers/Microsoft.Insights/diagnosticSettings", [])


def _databases(arm: ArmStandIn) -> None:
    """PostgreSQL and MySQL (single and flexible) with their server parameters, and Cosmos DB accounts."""

    def configurations(server: dict[str, Any], values: dict[str, str]) -> None:
        arm.add_child(f"{server['id']}/configurations", [
            {"id": f"{server['id']}/configurations/{n}", "name": n, "type": f"{server['type']}/configurations",
             "properties": {"value": v, "dataType": "Enumeration", "source": "user-override"}}
            for n, v in values.items()])

    def firewall(server: dict[str, Any], rules: list[tuple[str, str, str]]) -> None:
        arm.add_child(f"{server['id']}/firewallRules", [
            {"name": n, "properties": {"startIpAddress": a, "endIpAddress": b}} for n, a, b in rules])

    pg = "Microsoft.DBforPostgreSQL"
    legacy = _resource(arm, PROD, f"{pg}/servers", "acme-pg-legacy", {
        "sslEnforcement": "Disabled", "infrastructureEncryption": "Disabled", "version": "11"})
    configurations(legacy, {"log_checkpoints": "off", "log_connections": "OFF", "log_disconnections": "off",
                            "connection_throttling": "off", "log_retention_days": "3"})
    firewall(legacy, [("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0")])
    reporting = _resource(arm, PROD, f"{pg}/servers", "acme-pg-reporting", {
        "sslEnforcement": "Enabled", "infrastructureEncryption": "Enabled", "version": "11"})
    configurations(reporting, {"log_checkpoints": "on", "log_connections": "on", "log_disconnections": "on",
                               "connection_throttling": "on", "log_retention_days": "7"})
    firewall(reporting, [])
    main = _resource(arm, PROD, f"{pg}/flexibleServers", "acme-pg-main", {"version": "16", "state": "Ready"})
    configurations(main, {"require_secure_transport": "on", "log_checkpoints": "on", "log_connections": "on",
                          "log_disconnections": "on", "connection_throttle.enable": "on",
                          "logfiles.retention_days": "7"})
    firewall(main, [("office", "203.0.113.0", "203.0.113.255")])

    my = "Microsoft.DBforMySQL"
    single = _resource(arm, PROD, f"{my}/servers", "acme-mysql-legacy", {"sslEnforcement": "Disabled",
                                                                         "minimalTlsVersion": "TLSEnforcementDisabled"})
    configurations(single, {})
    firewall(single, [])
    for name, tls in (("acme-mysql-main", "TLSv1.2,TLSv1.3"), ("acme-mysql-old-tls", "TLSv1,TLSv1.1,TLSv1.2")):
        server = _resource(arm, PROD, f"{my}/flexibleServers", name, {"version": "8.0.21", "state": "Ready"})
        configurations(server, {"require_secure_transport": "ON", "tls_version": tls})
        firewall(server, [])

    cosmos = "Microsoft.DocumentDB/databaseAccounts"
    _resource(arm, PROD, cosmos, "acme-cosmos-legacy", {"publicNetworkAccess": "Enabled",
                                                        "isVirtualNetworkFilterEnabled": False, "ipRules": []},
              kind="GlobalDocumentDB")
    _resource(arm, PROD, cosmos, "acme-cosmos-main", {
        "publicNetworkAccess": "Disabled", "isVirtualNetworkFilterEnabled": False,
        "privateEndpointConnections": [_endpoint("cosmos-pe", "Approved")]}, kind="GlobalDocumentDB")


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
    _defender(arm)
    _network_watch(arm)
    _gateways(arm)
    _databricks(arm)
    _databases(arm)
    _resource(arm, RESTRICTED, "Microsoft.Storage/storageAccounts", "restrictedlegacy",
              {"supportsHttpsTrafficOnly": False}, rg="acme-restricted")
    _storage_children(arm)
    if restricted_denied:
        arm.fail("POST", "microsoft.resourcegraph", 403, "AuthorizationFailed", body_contains=RESTRICTED)


@contextmanager
def demo_arm(restricted_denied: bool = True) -> Iterator[tuple[ArmStandIn, Any]]:
    """Serve the Acme estate in-process; yields the stand-in and AzureSettings pointing at it (https, trusted
    through its self-signed certificate). Use with a StaticToken credential: the stand-in checks no token."""
    from skywarden.scanners.azure.credentials import AzureSettings

    with ArmStandIn() as arm:
        build_estate(arm, restricted_denied)
        settings = AzureSettings(arm_url=arm.base_url, ca_bundle=str(arm.cert_path), retry_total=0)
        yield arm, settings
