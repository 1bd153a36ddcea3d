"""Microsoft Graph (Entra ID) and Key Vault data-plane reads, through the real azure-core pipeline against the
loopback stand-in: paging, permission failures, group expansion, trust of vault URIs and token audiences."""

from __future__ import annotations

import time

import pytest

from skywarden.bot.demo.azure_estate import PROD, RESTRICTED, SANDBOX, VM_OPERATORS_GROUP, build_estate, demo_arm
from skywarden.bot.demo.azure_standin import ArmStandIn, StaticToken
from skywarden.rules.model import Outcome
from skywarden.scanners.azure.context import AzureClients
from skywarden.scanners.azure.credentials import AzureSettings
from skywarden.scanners.azure.entra import privileged_vm_assignments
from skywarden.scanners.azure.keyvault import trusted_vault_uri
from skywarden.scanners.azure.scan import collect_azure, resolve_subscriptions
from skywarden.scanners.errors import ConfigError
from tests.support.aws import outcomes, pack_rules

F, P, NA, E = Outcome.FAIL, Outcome.PASS, Outcome.NOT_APPLICABLE, Outcome.ERROR
SUBS = [PROD, SANDBOX, RESTRICTED]
ENTRA_TYPES = {"azure.entra.tenant", "azure.entra.user"}


def _collect(arm: ArmStandIn, credential=None, subscriptions=SUBS, **overrides):
    overrides.setdefault("retry_total", 0)
    settings = AzureSettings(arm_url=arm.base_url, graph_url=arm.base_url, ca_bundle=str(arm.cert_path), **overrides)
    clients = AzureClients(settings, credential or StaticToken())
    return collect_azure(clients, resolve_subscriptions(clients, subscriptions), max_workers=4)


def _results(inventory):
    return outcomes(pack_rules("azure"), inventory.resources)


def _outcome(inventory, rule_id, name):
    by_name = {r.name: r for r in inventory.resources}
    return _results(inventory).get((rule_id, by_name[name].id), NA)


# ---------------------------------------------------------------- Microsoft Graph
def test_graph_forbidden_errors_only_the_entra_rules():
    """Without AuditLog.Read.All / Policy.Read.All Graph answers 403: the tenant units fail (coverage gaps for
    their types only), the VM access rule ERRORs, and every ARM-based resource is collected as before."""
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", r"^/v1\.0/", 403, "Authorization_RequestDenied")
        inventory = _collect(arm)
    gaps = {t for gap in inventory.gaps for t in gap.resource_types}
    assert gaps == ENTRA_TYPES
    assert {gap.error_class for gap in inventory.gaps} == {"AccessDenied"}
    assert not [r for r in inventory.resources if r.type in ENTRA_TYPES]
    assert _outcome(inventory, "azure-entra-privileged-vm-access-mfa", "acme-prod VM sign-in access") == E
    # A subscription without VMs needs no Graph answer at all.
    assert _outcome(inventory, "azure-entra-privileged-vm-access-mfa", "acme-restricted VM sign-in access") == NA
    others = [r for r in inventory.resources if not r.type.startswith("azure.entra.")]
    assert others and not [r.name for r in others if r.properties.get("_errors")]


def test_tenant_resources_are_read_once_and_reported_once_per_scan():
    with demo_arm(restricted_denied=False) as (arm, _):
        inventory = _collect(arm)
        registration_reads = arm.calls("GET", "userregistrationdetails")
        policy_reads = arm.calls("GET", "identitysecuritydefaultsenforcementpolicy")
    users = [r for r in inventory.resources if r.type == "azure.entra.user"]
    assert len(users) == len({r.id for r in users}) == 7
    assert {r.account_id for r in users} == {min(SUBS)}  # the scan's first subscription
    assert len(registration_reads) == 1 and len(policy_reads) == 1  # shared by users and both VM checks


def test_graph_lists_follow_odata_next_link():
    with ArmStandIn(list_page_size=1) as arm:
        build_estate(arm, restricted_denied=False)
        inventory = _collect(arm)
        paged = {r.path for r in arm.calls("GET") if "$skiptoken" in r.query}
    assert any(p.endswith("/userregistrationdetails") for p in paged)
    assert any(p.endswith("/transitivemembers") for p in paged)
    assert any(p.endswith("/certificates") for p in paged)
    assert len([r for r in inventory.resources if r.type == "azure.entra.user"]) == 7
    assert _outcome(inventory, "azure-entra-privileged-vm-access-mfa", "acme-prod VM sign-in access") == F


def test_security_defaults_on_pass():
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.add_graph("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
                      {"id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
                       "isEnabled": True})
        inventory = _collect(arm)
    tenant = next(r for r in inventory.resources if r.type == "azure.entra.tenant")
    assert _outcome(inventory, "azure-entra-security-defaults-enabled", tenant.name) == P


def test_group_members_unreadable_is_an_error_naming_the_group():
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", "/transitivemembers", 403, "Authorization_RequestDenied")
        inventory = _collect(arm)
    access = next(r for r in inventory.resources if r.name == "acme-prod VM sign-in access")
    assert VM_OPERATORS_GROUP in access.properties["_errors"]["identities_without_mfa"]
    assert "AccessDenied" in access.properties["_errors"]["identities_without_mfa"]
    assert _outcome(inventory, "azure-entra-privileged-vm-access-mfa", access.name) == E
    assert _outcome(inventory, "azure-entra-privileged-vm-access-mfa", "acme-sandbox VM sign-in access") == P


def test_foreign_group_and_users_without_a_registration_record():
    """A group from another tenant cannot be expanded (ERROR); a user missing from the registration report is
    not taken as registered."""
    role = "/providers/Microsoft.Authorization/roleDefinitions/1c0163c0-47e6-4577-8991-ea5c82e286e4"

    def assigned(principal, kind):
        return {"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": kind,
                               "scope": f"/subscriptions/{SANDBOX}"}}

    with demo_arm(restricted_denied=False) as (arm, _):
        path = f"/subscriptions/{SANDBOX}/providers/Microsoft.Authorization/roleAssignments"
        arm.add_child(path, [*arm.children[path.lower()], assigned("ghost-user", "User")])
        inventory = _collect(arm)
        access = next(r for r in inventory.resources if r.name == "acme-sandbox VM sign-in access")
        assert access.properties["identities_without_mfa"] == [{
            "user_id": "ghost-user", "user_principal_name": None, "reason": "no registration record",
            "access": [f"Virtual Machine Administrator Login at /subscriptions/{SANDBOX}"]}]
        arm.add_child(path, [*arm.children[path.lower()], assigned("9d8c7b6a-0000-4000-8000-000000000001",
                                                                   "ForeignGroup")])
        inventory = _collect(arm)
    access = next(r for r in inventory.resources if r.name == "acme-sandbox VM sign-in access")
    assert "another tenant" in access.properties["_errors"]["identities_without_mfa"]


def test_a_malformed_group_id_never_reaches_a_graph_url():
    with demo_arm(restricted_denied=False) as (arm, _):
        path = f"/subscriptions/{SANDBOX}/providers/Microsoft.Authorization/roleAssignments"
        arm.add_child(path, [*arm.children[path.lower()], {"properties": {
            "roleDefinitionId": "/x/b24988ac-6180-42a0-ab88-20f7382dd24c", "principalId": "../../users",
            "principalType": "Group", "scope": f"/subscriptions/{SANDBOX}"}}])
        inventory = _collect(arm)
        assert not arm.calls("GET", "/users/transitivemembers")
    access = next(r for r in inventory.resources if r.name == "acme-sandbox VM sign-in access")
    assert "not an object id" in access.properties["_errors"]["identities_without_mfa"]


def test_only_privileged_roles_at_scopes_reaching_a_vm_count():
    sub = f"/subscriptions/{SANDBOX}"
    vm = f"{sub}/resourceGroups/apps/providers/Microsoft.Compute/virtualMachines/web-1"

    def assigned(principal, role, scope):
        return {"properties": {"roleDefinitionId": f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                               "principalId": principal, "principalType": "User", "scope": scope}}

    owner, contributor, reader = ("8E3AF657-A8FF-443C-A75C-2FE8C4BCB635", "b24988ac-6180-42a0-ab88-20f7382dd24c",
                                  "acdd72a7-3385-48ef-bd42-f606fba81ae7")
    found = privileged_vm_assignments([
        assigned("root", owner, "/"),
        assigned("mg", contributor, "/providers/Microsoft.Management/managementGroups/acme"),
        assigned("rg", contributor, f"{sub}/resourceGroups/APPS"),  # ARM scopes are case-insensitive
        assigned("vm", "fb879df8-f326-4884-b1cf-06f3ad86be52", vm),
        assigned("other-rg", owner, f"{sub}/resourceGroups/apps-2"),  # a prefix of the name, not of the path
        assigned("other-vm", owner, f"{vm}-old"),
        assigned("reader", reader, sub),
    ], [vm])
    assert [a["principal_id"] for a in found] == ["mg", "rg", "root", "vm"]


# ---------------------------------------------------------------- Key Vault data plane
def test_vault_data_plane_refusal_is_an_error_for_the_certificate_rule_only():
    with demo_arm(restricted_denied=False) as (arm, _):
        arm.fail("GET", "/keyvault/acme-kv-legacy/certificates", 403, "Forbidden")
        inventory = _collect(arm)
    vault = next(r for r in inventory.resources if r.name == "acme-kv-legacy")
    assert vault.properties["_errors"] == {"certificates": "AccessDenied"}
    assert _outcome(inventory, "azure-keyvault-certificate-validity-12-months", "acme-kv-legacy") == E
    assert _outcome(inventory, "azure-keyvault-soft-delete-enabled", "acme-kv-legacy") == F
    assert _outcome(inventory, "azure-keyvault-certificate-validity-12-months", "acme-kv-main") == P


def test_a_certificate_policy_without_a_validity_period_fails():
    with demo_arm(restricted_denied=False) as (arm, _):
        policy = arm.children["/keyvault/acme-kv-main/certificates/web-tls/policy"]
        del policy["x509_props"]["validity_months"]
        inventory = _collect(arm)
    assert _outcome(inventory, "azure-keyvault-certificate-validity-12-months", "acme-kv-main") == F


@pytest.mark.parametrize(("uri", "trusted"), [
    ("https://acme-kv.vault.azure.net/", "https://acme-kv.vault.azure.net/"),
    ("https://acme-kv.vault.azure.net", "https://acme-kv.vault.azure.net/"),
    ("http://acme-kv.vault.azure.net/", None),  # no token over plain http
    ("https://vault.azure.net.evil.example/", None),
    ("https://evilvault.azure.net/", None),
    ("https://acme-kv.vault.usgovcloudapi.net/", None),  # another cloud's domain
    ("https://127.0.0.1:8443/keyvault/x/", "https://127.0.0.1:8443/keyvault/x/"),  # the configured ARM origin
    ("https://127.0.0.1:9999/keyvault/x/", None),
    ("", None),
])
def test_a_key_vault_token_goes_only_to_the_clouds_vault_domain(uri, trusted):
    assert trusted_vault_uri(uri, "vault.azure.net", "https://127.0.0.1:8443") == trusted


def test_an_untrusted_vault_uri_is_an_error_and_gets_no_request():
    with demo_arm(restricted_denied=False) as (arm, _):
        vault = next(r for r in arm.resources.values() if r["name"] == "acme-kv-main")
        vault["properties"]["vaultUri"] = "https://acme-kv-main.vault.azure.net.attacker.example/"
        inventory = _collect(arm)
    main = next(r for r in inventory.resources if r.name == "acme-kv-main")
    assert main.properties["_errors"] == {"certificates": "UntrustedVaultUri"}
    assert _outcome(inventory, "azure-keyvault-certificate-validity-12-months", "acme-kv-main") == E


# ---------------------------------------------------------------- endpoints and audiences
class RecordingCredential:
    def __init__(self) -> None:
        self.scopes: set[str] = set()

    def get_token(self, *scopes: str, **kwargs):
        from azure.core.credentials import AccessToken

        self.scopes.update(scopes)
        return AccessToken("standin-token", int(time.time()) + 3600)


def test_tokens_are_asked_for_each_audience_of_the_cloud():
    credential = RecordingCredential()
    with demo_arm(restricted_denied=False) as (arm, _):
        _collect(arm, credential, cloud="usgov")
    assert credential.scopes == {"https://management.usgovcloudapi.net/.default",
                                 "https://graph.microsoft.us/.default", "https://vault.usgovcloudapi.net/.default"}


@pytest.mark.parametrize(("cloud", "graph", "vault"), [
    ("public", "https://graph.microsoft.com", "https://vault.azure.net/.default"),
    ("usgov", "https://graph.microsoft.us", "https://vault.usgovcloudapi.net/.default"),
    ("china", "https://microsoftgraph.chinacloudapi.cn", "https://vault.azure.cn/.default"),
])
def test_graph_host_and_vault_audience_follow_the_cloud(cloud, graph, vault):
    settings = AzureSettings.resolve(cloud=cloud, environ={})
    assert settings.graph_base_url == graph and settings.graph_scopes == [graph + "/.default"]
    assert settings.keyvault_scopes == [vault]
    routed = AzureSettings.resolve(cloud=cloud, environ={"SKYWARDEN_AZURE_GRAPH_URL": "https://graph-proxy.example/"})
    assert routed.graph_base_url == "https://graph-proxy.example"
    assert routed.graph_scopes == [graph + "/.default"]  # the audience does not follow the route


def test_a_graph_url_that_is_not_http_is_refused():
    with pytest.raises(ConfigError, match="SKYWARDEN_AZURE_GRAPH_URL"):
        AzureSettings.resolve(environ={"SKYWARDEN_AZURE_GRAPH_URL": "file:///etc/passwd"})


def test_the_demo_shows_one_user_without_mfa_and_one_long_lived_certificate(fresh_db):
    """`skywarden demo` scans the Acme estate through the bot's Azure scan: Graph and the Key Vault data plane
    are served by the stand-in, so the demo stores these findings without any network."""
    from skywarden.bot.demo.azure_scan import scan_azure_demo
    from skywarden.storage.findings import query_findings

    scan_azure_demo(fresh_db, pack_rules("azure"))
    open_findings = {(r["rule_id"], r["resource_id"].rsplit("/", 1)[-1]) for r in query_findings(fresh_db)}
    assert [f for f in open_findings if f[0] == "azure-entra-user-mfa-registered"] == [
        ("azure-entra-user-mfa-registered", "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")]
    assert [f for f in open_findings if f[0] == "azure-keyvault-certificate-validity-12-months"] == [
        ("azure-keyvault-certificate-validity-12-months", "acme-kv-legacy")]
    assert ("azure-entra-privileged-vm-access-mfa", "privilegedVmAccess") in open_findings
