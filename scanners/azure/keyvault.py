"""Key vaults: recoverability from the vault's properties, audit logging from its diagnostic settings, and the
expiry of every key and secret from the management-plane (ARM) lists, which need no data-plane access and
never return secret values: two paged lists per vault."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
KEYVAULT_API = "2023-07-01"
_AUDIT_CATEGORIES = {"audit", "alllogs", "auditevent"}
_DESTINATIONS = ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def audit_logs_enabled(settings: Sequence[Mapping[str, Any]]) -> bool:
    """True when some diagnostic setting sends audit events (AuditEvent, or the audit/allLogs groups) somewhere."""
    for setting in settings:
        props = setting.get("properties") or {}
        if not any(props.get(key) for key in _DESTINATIONS):
            continue
        for log in props.get("logs") or []:
            name = str(log.get("category") or log.get("categoryGroup") or "").lower()
            if log.get("enabled") and name in _AUDIT_CATEGORIES:
                return True
    return False


def expiry_summary(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Name, enabled and expiry (epoch seconds) of each key or secret. ``attributes.enabled`` absent means
    enabled (the API's default); ``exp`` absent means the object never expires."""
    summary = []
    for item in items:
        props = item.get("properties") or {}
        attributes = props.get("attributes") or {}
        entry = {"name": item.get("name"), "enabled": attributes.get("enabled") is not False,
                 "expires": attributes.get("exp")}
        if "kty" in props or "rotationPolicy" in props:  # keys only: secrets have no rotation policy
            actions = ((props.get("rotationPolicy") or {}).get("lifetimeActions")) or []
            entry["auto_rotate"] = any(str((a.get("action") or {}).get("type", "")).lower() == "rotate"
                                       for a in actions)
        summary.append(entry)
    return summary


def logged_groups(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Category groups and categories (lower case) that some diagnostic setting with a destination sends."""
    found = set()
    for setting in settings:
        props = setting.get("properties") or {}
        if any(props.get(key) for key in _DESTINATIONS):
            found.update(str(log.get("category") or log.get("categoryGroup") or "").lower()
                         for log in props.get("logs") or [] if log.get("enabled"))
    return sorted(found - {""})


@collector("azure.keyvault.vault", service="keyvault", regional=False)
def key_vaults(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.keyvault/vaults"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        settings = ctx.try_list(
            errors, "diagnostic_settings", f"{row['id']}/providers/Microsoft.Insights/diagnosticSettings",
            DIAGNOSTICS_API,
        )
        properties["diagnostic_settings"] = settings
        properties["audit_logs_enabled"] = None if settings is None else audit_logs_enabled(settings)
        properties["logged_groups"] = None if settings is None else logged_groups(settings)
        if settings is None:
            errors["audit_logs_enabled"] = errors["logged_groups"] = errors["diagnostic_settings"]
        # Absent means the vault uses access policies (the API's default), not Azure RBAC.
        properties["rbac_authorization"] = properties.get("enableRbacAuthorization") is True
        for kind in ("keys", "secrets"):
            items = ctx.try_list(errors, kind, f"{row['id']}/{kind}", KEYVAULT_API)
            properties[kind] = None if items is None else expiry_summary(items)
        yield ctx.resource("azure.keyvault.vault", row, properties, errors)
