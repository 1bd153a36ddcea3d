"""Microsoft Entra ID settings read through Microsoft Graph: security defaults, each user's MFA registration,
and who can sign in to or administer the virtual machines of a subscription.

Graph answers for the credential's tenant, not for one subscription, so the tenant-wide resources (the
security defaults policy and the users) are read once per scan and reported under the scan's first readable
subscription. A Graph call that fails (403 without the Graph permissions in README.md) fails only the
collection unit or the property that needed it, so only these rules ERROR; the rest of the scan is unaffected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from azure.core.exceptions import AzureError

from skywarden.scanners.azure.context import AzureContext
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

SECURITY_DEFAULTS = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
REGISTRATIONS = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
SUBSCRIPTION_API = "2022-12-01"
ROLE_ASSIGNMENTS_API = "2022-04-01"
# Built-in role ids are the same in every tenant. CIS 7.8 names these as the roles that reach a VM's sign-in
# or control plane.
PRIVILEGED_VM_ROLES: Mapping[str, str] = {
    "1c0163c0-47e6-4577-8991-ea5c82e286e4": "Virtual Machine Administrator Login",
    "fb879df8-f326-4884-b1cf-06f3ad86be52": "Virtual Machine User Login",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_USER = "#microsoft.graph.user"


def _owns_tenant_resources(ctx: AzureContext) -> bool:
    scanned = ctx.subscription.clients.scanned_subscriptions
    return not scanned or ctx.account_id == scanned[0]


def _tenant_id(ctx: AzureContext) -> str:
    sub = ctx.subscription.arm_get(f"/subscriptions/{ctx.account_id}", SUBSCRIPTION_API)
    return str(sub.get("tenantId") or "unknown")


def registrations(ctx: AzureContext) -> list[dict[str, Any]]:
    """Every user's authentication-method registration (one paged list, read once per scan)."""
    clients = ctx.subscription.clients
    return clients.tenant_memo.get("registrations", lambda: clients.dataplane().graph_list(REGISTRATIONS))


def group_user_ids(ctx: AzureContext, group_id: str) -> list[str]:
    """Ids of the users in a group, nested groups included (one paged list per group, read once per scan)."""
    if not _GUID.match(group_id):  # it goes into a URL path: only a well-formed object id may
        raise ValueError(f"group principal id {group_id!r} is not an object id")
    clients = ctx.subscription.clients

    def read() -> list[str]:
        members = clients.dataplane().graph_list(f"/v1.0/groups/{group_id}/transitiveMembers?$select=id")
        return [str(m.get("id")) for m in members if m.get("@odata.type") == _USER]

    return clients.tenant_memo.get(("group", group_id.lower()), read)


def _tenant_row(tenant: str, kind: str, name: str, object_id: str) -> dict[str, Any]:
    return {"id": f"/tenants/{tenant}/providers/Microsoft.Graph/{kind}/{object_id}", "name": name, "location": "global"}


@collector("azure.entra.tenant", service="entra-policies", regional=False)
def security_defaults(ctx: AzureContext) -> Iterator[Resource]:
    if not _owns_tenant_resources(ctx):
        return
    clients = ctx.subscription.clients
    policy = clients.tenant_memo.get("security-defaults", lambda: clients.dataplane().graph_get(SECURITY_DEFAULTS))
    tenant = _tenant_id(ctx)
    row = _tenant_row(tenant, "policies", f"tenant {tenant} security defaults",
                      "identitySecurityDefaultsEnforcementPolicy")
    yield ctx.resource("azure.entra.tenant", row, {"tenant_id": tenant,
                                                    "security_defaults_enabled": policy.get("isEnabled") is True})


@collector("azure.entra.user", service="entra-users", regional=False)
def users(ctx: AzureContext) -> Iterator[Resource]:
    if not _owns_tenant_resources(ctx):
        return
    details = registrations(ctx)
    tenant = _tenant_id(ctx)
    for user in details:
        object_id = str(user.get("id"))
        row = _tenant_row(tenant, "users", str(user.get("userPrincipalName") or object_id), object_id)
        yield ctx.resource("azure.entra.user", row, {
            "user_principal_name": user.get("userPrincipalName"),
            "user_type": user.get("userType"),
            "is_admin": user.get("isAdmin") is True,
            "is_mfa_registered": user.get("isMfaRegistered") is True,
            "is_mfa_capable": user.get("isMfaCapable") is True,
            "methods_registered": list(user.get("methodsRegistered") or []),
        })


def _role_id(assignment: Mapping[str, Any]) -> str:
    return str((assignment.get("properties") or {}).get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower()


def _covers(scope: str, vm_ids: Sequence[str]) -> bool:
    """An assignment at a scope reaches every VM below it; management groups and the root are above all."""
    scope = scope.strip().lower().rstrip("/")
    if scope == "" or scope.startswith("/providers/microsoft.management/managementgroups/"):
        return True
    return any(vm == scope or vm.startswith(scope + "/") for vm in vm_ids)


def privileged_vm_assignments(assignments: Sequence[Mapping[str, Any]], vm_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Assignments of a CIS 7.8 role at a scope that reaches at least one of the VMs."""
    vms = [v.lower() for v in vm_ids]
    found = []
    for assignment in assignments:
        props = assignment.get("properties") or {}
        role = PRIVILEGED_VM_ROLES.get(_role_id(assignment))
        if role and _covers(str(props.get("scope", "")), vms):
            found.append({"principal_id": str(props.get("principalId")), "principal_type": props.get("principalType"),
                          "role": role, "scope": props.get("scope")})
    return sorted(found, key=lambda a: (a["principal_id"], a["role"], str(a["scope"])))


def identities_without_mfa(ctx: AzureContext, assignments: Sequence[Mapping[str, Any]],
                           details: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Users reaching a VM through a privileged assignment (directly or through a group) without MFA registered.

    Service principals and managed identities cannot do MFA and are not users: they are left out, as CIS
    does. Raises when a group cannot be expanded, so the rule ERRORs rather than passing on a partial answer.
    """
    by_id = {str(d.get("id")).lower(): d for d in details}
    reached: dict[str, set[str]] = {}  # user id -> how it reaches a VM
    for assignment in assignments:
        kind = str(assignment.get("principal_type") or "")
        via = f"{assignment['role']} at {assignment['scope']}"
        if kind == "User":
            reached.setdefault(assignment["principal_id"].lower(), set()).add(via)
        elif kind in ("Group", "ForeignGroup"):
            if kind == "ForeignGroup":
                raise ValueError(f"group {assignment['principal_id']} is in another tenant: its members cannot be read")
            try:
                members = group_user_ids(ctx, assignment["principal_id"])
            except AzureError as exc:
                raise ValueError(f"{classify(exc)[0]} reading the members of group {assignment['principal_id']}"
                                 ) from exc
            for user_id in members:
                reached.setdefault(user_id.lower(), set()).add(f"{via} via group {assignment['principal_id']}")
    found = []
    for user_id, via in sorted(reached.items()):
        detail = by_id.get(user_id)
        if detail is None or detail.get("isMfaRegistered") is not True:
            found.append({"user_id": user_id,
                          "user_principal_name": None if detail is None else detail.get("userPrincipalName"),
                          "reason": "no registration record" if detail is None else "MFA not registered",
                          "access": sorted(via)})
    return found


@collector("azure.entra.vm_access", service="entra-vm-access", regional=False)
def vm_access(ctx: AzureContext) -> Iterator[Resource]:
    sub = ctx.account_id
    vm_ids = [str(r["id"]) for r in ctx.rows("microsoft.compute/virtualmachines")]
    errors: dict[str, str] = {}
    properties: dict[str, Any] = {"virtual_machine_count": len(vm_ids), "privileged_assignments": [],
                                  "identities_without_mfa": []}
    if vm_ids:  # no VM, nothing to reach: no call
        listed = ctx.try_list(errors, "privileged_assignments",
                              f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments",
                              ROLE_ASSIGNMENTS_API)
        assignments = None if listed is None else privileged_vm_assignments(listed, vm_ids)
        properties["privileged_assignments"] = assignments
        properties["identities_without_mfa"] = None
        if assignments is None:
            errors["identities_without_mfa"] = errors["privileged_assignments"]
        else:
            try:
                properties["identities_without_mfa"] = identities_without_mfa(ctx, assignments, registrations(ctx))
            except (AzureError, ValueError) as exc:
                errors["identities_without_mfa"] = classify(exc)[0] if isinstance(exc, AzureError) else str(exc)
    row = {"id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/privilegedVmAccess",
           "name": f"{ctx.subscription.name} VM sign-in access", "location": "global"}
    yield ctx.resource("azure.entra.vm_access", row, properties, errors)
