"""Key vaults: recoverability from the vault's properties, audit logging from its diagnostic settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scanners.azure.context import AzureContext, base_properties
from scanners.model import Resource
from scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
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
        if settings is None:
            errors["audit_logs_enabled"] = errors["diagnostic_settings"]
        yield ctx.resource("azure.keyvault.vault", row, properties, errors)
