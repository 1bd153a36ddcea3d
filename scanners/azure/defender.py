"""Subscription-level security posture: Microsoft Defender for Cloud plans, security contacts, auto-provisioning,
integrations, the system-updates assessment, custom administrator roles, subscription owners, Bastion and Network
Watcher coverage.

All of it belongs to the subscription rather than to one resource, so it is gathered into one synthetic
resource per subscription, ``/subscriptions/<id>/providers/Microsoft.Security/securityPosture`` (ARM-shaped,
not a real ARM resource). Each ARM read failing makes only the rules reading that property ERROR.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from azure.core.exceptions import HttpResponseError

from skywarden.scanners.azure.context import AzureContext
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

PRICINGS_API = "2024-01-01"
# Security contacts changed shape in 2023-12-01-preview; sovereign clouds may only answer the older version.
CONTACTS_APIS = ("2023-12-01-preview", "2020-01-01-preview")
AUTO_PROVISIONING_API = "2017-08-01-preview"
ASSESSMENTS_API = "2020-01-01"
ROLE_DEFINITIONS_API = "2022-04-01"
SETTINGS_API = "2022-05-01"
# Built-in role ids are the same in every tenant.
OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMIN_ROLE = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
_SYSTEM_UPDATES = re.compile(r"system updates (should be installed|on virtual machine scale sets should be installed)",
                             re.IGNORECASE)


def defender_plans(pricings: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Plan name (lower case: the API's casing is not stable across versions) -> tier, sub-plan, extensions."""
    plans = {}
    for pricing in pricings:
        props = pricing.get("properties") or {}
        plans[str(pricing.get("name", "")).lower()] = {
            "tier": props.get("pricingTier"),
            "sub_plan": props.get("subPlan"),
            "deprecated": props.get("deprecated") is True,
            # isEnabled is the string "True"/"False", not a JSON boolean.
            "extensions": {str(e.get("name")): str(e.get("isEnabled", "")).lower() == "true"
                           for e in props.get("extensions") or []},
        }
    return plans


def dns_protected(plans: Mapping[str, Mapping[str, Any]]) -> bool:
    """CIS 2.1.10 [LEGACY]: Defender for DNS on, or (since August 2023, when the DNS plan was folded into it)
    Defender for Servers Plan 2, which is what a deprecated or absent Dns plan means."""
    dns = plans.get("dns")
    if dns is not None and dns["tier"] == "Standard" and not dns["deprecated"]:
        return True
    servers = plans.get("virtualmachines") or {}
    return servers.get("tier") == "Standard" and servers.get("sub_plan") in ("P2", None)


def contact_summary(contact: Mapping[str, Any]) -> dict[str, Any]:
    """One security contact in a single shape, whichever api-version answered.

    2023-12-01-preview: ``notificationsSources`` [{sourceType: Alert, minimalSeverity}], ``isEnabled``;
    2020-01-01-preview: ``alertNotifications`` {state, minimalSeverity}; 2017-08-01-preview: ``email`` and
    ``alertNotifications`` as the string "On"/"Off". ``emails`` is one ';'-separated string in all of them.
    """
    props = contact.get("properties") or {}
    raw_emails = props.get("emails") if props.get("emails") is not None else props.get("email")
    emails = [e.strip() for e in re.split(r"[;,]", str(raw_emails or "")) if e.strip()]
    enabled = props.get("isEnabled") is not False
    by_role = props.get("notificationsByRole") or {}
    roles = [str(r) for r in by_role.get("roles") or []] if str(by_role.get("state", "")).lower() == "on" else []
    if props.get("alertsToAdmins") is not None and str(props["alertsToAdmins"]).lower() == "on":
        roles = sorted(set(roles) | {"Owner", "ServiceAdmin", "AccountAdmin"})
    severity = attack_path = None
    if "notificationsSources" in props:
        for source in props.get("notificationsSources") or []:
            if str(source.get("sourceType", "")).lower() == "alert":
                severity = source.get("minimalSeverity")
            elif str(source.get("sourceType", "")).lower() == "attackpath":
                attack_path = source.get("minimalRiskLevel")
    else:
        alerts = props.get("alertNotifications")
        if isinstance(alerts, Mapping) and str(alerts.get("state", "")).lower() == "on":
            severity = alerts.get("minimalSeverity")
        elif isinstance(alerts, str) and alerts.lower() == "on":
            severity = "High"  # 2017-08-01-preview notified about high-severity alerts only
    if not enabled:
        roles, severity, attack_path = [], None, None
    # Attack path notifications exist only in 2023-12-01-preview and later: older shapes have none.
    return {"name": contact.get("name"), "emails": emails, "notify_roles": roles, "alert_min_severity": severity,
            "attack_path_min_risk": attack_path}


def custom_admin_roles(definitions: Sequence[Mapping[str, Any]], subscription_id: str) -> list[str]:
    """CIS 1.22: custom roles allowing every action ('*') that can be assigned at the subscription (or root)."""
    scopes = {"/", f"/subscriptions/{subscription_id}".lower()}
    found = []
    for definition in definitions:
        props = definition.get("properties") or {}
        if str(props.get("type", "")).lower() != "customrole":
            continue
        assignable = {str(s).lower().rstrip("/") or "/" for s in props.get("assignableScopes") or []}
        actions = {str(a) for p in props.get("permissions") or [] for a in p.get("actions") or []}
        if "*" in actions and assignable & scopes:
            found.append(str(props.get("roleName") or definition.get("name")))
    return sorted(found)


def machines_missing_updates(assessments: Sequence[Mapping[str, Any]]) -> list[str]:
    """Resources whose Defender 'system updates' assessment is Unhealthy (CIS 2.1.12 'Apply system updates')."""
    found = set()
    for assessment in assessments:
        props = assessment.get("properties") or {}
        if not _SYSTEM_UPDATES.search(str(props.get("displayName", ""))):
            continue
        if str((props.get("status") or {}).get("code", "")).lower() == "unhealthy":
            details = props.get("resourceDetails") or {}
            resource = details.get("Id") or details.get("id") or str(assessment.get("id", "")).split(
                "/providers/Microsoft.Security/assessments/", 1)[0]
            found.add(str(resource))
    return sorted(found)


def _role_id(assignment: Mapping[str, Any]) -> str:
    return str((assignment.get("properties") or {}).get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower()


def root_user_access_admins(assignments: Sequence[Mapping[str, Any]]) -> list[str]:
    """Principals holding User Access Administrator at the root scope '/', which is what 'elevate access' of a
    Global Administrator leaves behind (CIS 6.0 5.3.3). atScope() at a subscription lists inherited ones too."""
    return sorted({str((a.get("properties") or {}).get("principalId")) for a in assignments
                   if _role_id(a) == USER_ACCESS_ADMIN_ROLE
                   and str((a.get("properties") or {}).get("scope", "")).strip() == "/"})


def subscription_owners(assignments: Sequence[Mapping[str, Any]], subscription_id: str) -> list[str]:
    """Distinct principals holding Owner exactly at the subscription scope (CIS 6.0 5.7 lists them with
    ``az role assignment list --role Owner --scope /subscriptions/<id>``); inherited and narrower ones don't count."""
    scope = f"/subscriptions/{subscription_id}".lower()
    owners = set()
    for assignment in assignments:
        props = assignment.get("properties") or {}
        if _role_id(assignment) == OWNER_ROLE and str(props.get("scope", "")).lower().rstrip("/") == scope:
            owners.add(str(props.get("principalId")))
    return sorted(owners)


def _region(location: Any) -> str:
    # Resource Graph answers "westeurope"; some ARM answers carry the display name "West Europe".
    return str(location or "").replace(" ", "").lower()


def regions_without_network_watcher(vnets: Sequence[Mapping[str, Any]], watchers: Sequence[Mapping[str, Any]]
                                    ) -> list[str]:
    """Regions that have a virtual network but no Network Watcher that finished provisioning."""
    watched = {_region(w.get("location")) for w in watchers
               if str((w.get("properties") or {}).get("provisioningState", "Succeeded")) == "Succeeded"}
    return sorted({_region(v.get("location")) for v in vnets} - watched - {""})


def _contacts(ctx: AzureContext, errors: dict[str, str]) -> list[dict[str, Any]] | None:
    path = f"/subscriptions/{ctx.account_id}/providers/Microsoft.Security/securityContacts"
    last: HttpResponseError | None = None
    for api_version in CONTACTS_APIS:
        try:
            return ctx.subscription.arm_list(path, api_version)
        except HttpResponseError as exc:
            last = exc
            if exc.status_code != 400:  # 400 = this api-version is not offered here; try the older one
                break
    assert last is not None
    errors["security_contacts"] = classify(last)[0]
    return None


@collector("azure.security.subscription", service="defender", regional=False)
def security_posture(ctx: AzureContext) -> Iterator[Resource]:
    sub = ctx.account_id
    base = f"/subscriptions/{sub}/providers"
    errors: dict[str, str] = {}
    properties: dict[str, Any] = {}

    pricings = ctx.try_list(errors, "defender_plans", f"{base}/Microsoft.Security/pricings", PRICINGS_API)
    plans = None if pricings is None else defender_plans(pricings)
    properties["defender_plans"] = plans
    properties["dns_protected"] = None if plans is None else dns_protected(plans)
    if plans is None:
        errors["dns_protected"] = errors["defender_plans"]

    contacts = _contacts(ctx, errors)
    properties["security_contacts"] = None if contacts is None else [contact_summary(c) for c in contacts]

    settings = ctx.try_list(errors, "auto_provisioning", f"{base}/Microsoft.Security/autoProvisioningSettings",
                            AUTO_PROVISIONING_API)
    properties["auto_provisioning"] = None if settings is None else {
        str(s.get("name")): (s.get("properties") or {}).get("autoProvision") for s in settings}

    assessments = ctx.try_list(errors, "machines_missing_updates", f"{base}/Microsoft.Security/assessments",
                               ASSESSMENTS_API)
    properties["machines_missing_updates"] = None if assessments is None else machines_missing_updates(assessments)

    roles = ctx.try_list(errors, "custom_admin_roles",
                         f"{base}/Microsoft.Authorization/roleDefinitions?$filter=type%20eq%20'CustomRole'",
                         ROLE_DEFINITIONS_API)
    properties["custom_admin_roles"] = None if roles is None else custom_admin_roles(roles, sub)

    settings_list = ctx.try_list(errors, "integrations", f"{base}/Microsoft.Security/settings", SETTINGS_API)
    # Defender for Endpoint (WDATP) and Defender for Cloud Apps (MCAS) integrations are DataExportSettings.
    properties["integrations"] = None if settings_list is None else {
        str(s.get("name")): (s.get("properties") or {}).get("enabled") is True for s in settings_list}

    assignments = ctx.try_list(errors, "subscription_owners",
                               f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments"
                               "?$filter=atScope()", ROLE_DEFINITIONS_API)
    owners = None if assignments is None else subscription_owners(assignments, sub)
    properties["subscription_owners"] = owners
    properties["owner_count"] = None if owners is None else len(owners)
    properties["root_user_access_admins"] = None if assignments is None else root_user_access_admins(assignments)
    if owners is None:
        errors["owner_count"] = errors["root_user_access_admins"] = errors["subscription_owners"]

    properties["bastion_hosts"] = sorted(str(r.get("name")) for r in ctx.rows("microsoft.network/bastionhosts"))
    vnets = ctx.rows("microsoft.network/virtualnetworks")
    watchers = ctx.rows("microsoft.network/networkwatchers")
    properties["network_watcher_regions"] = sorted({_region(w.get("location")) for w in watchers})
    properties["regions_without_network_watcher"] = regions_without_network_watcher(vnets, watchers)

    row = {"id": f"{base}/Microsoft.Security/securityPosture", "name": f"{ctx.subscription.name} security",
           "location": "global"}
    yield ctx.resource("azure.security.subscription", row, properties, errors)
