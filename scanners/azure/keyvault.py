"""Key vaults: recoverability from the vault's properties, audit logging from its diagnostic settings, and the
expiry of every key and secret from the management-plane (ARM) lists, which need no data-plane access and
never return secret values: two paged lists per vault.

Certificate issuance policies exist only in the Key Vault data plane (``{vaultUri}certificates`` and each
certificate's ``/policy``, api-version 7.4): one paged list per vault plus one GET per certificate. A vault
whose data plane refuses (403, firewall, private endpoint out of reach) makes only the certificate rule ERROR.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from azure.core.exceptions import AzureError, ResourceNotFoundError

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
KEYVAULT_API = "2023-07-01"
DATA_PLANE_API = "7.4"
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


def trusted_vault_uri(vault_uri: str, keyvault_suffix: str, arm_override: str | None) -> str | None:
    """The vault URI with a trailing slash if a Key Vault token may be sent there, else None.

    The URI comes from the vault's ARM properties: it must be https on the cloud's Key Vault domain, or on the
    origin the operator configured as SKYWARDEN_AZURE_ARM_URL (a proxy or the stand-in), which is trusted with
    tokens already.
    """
    parts = urlsplit(vault_uri)
    host = (parts.hostname or "").lower()
    on_cloud = parts.scheme == "https" and host.endswith("." + keyvault_suffix)
    override = urlsplit(arm_override) if arm_override else None
    on_override = override is not None and (parts.scheme, parts.netloc) == (override.scheme, override.netloc)
    if not (on_cloud or on_override) or parts.query or parts.fragment:
        return None
    return vault_uri if vault_uri.endswith("/") else vault_uri + "/"


def certificate_validity(ctx: AzureContext, vault_uri: str) -> list[dict[str, Any]]:
    """Name, enabled and the issuance policy's validity period (months) of every certificate in the vault."""
    dataplane = ctx.subscription.clients.dataplane()
    scopes = ctx.subscription.clients.settings.keyvault_scopes
    found = []
    for item in dataplane.list(f"{vault_uri}certificates?api-version={DATA_PLANE_API}", scopes):
        name = str(item.get("id", "")).rstrip("/").rsplit("/", 1)[-1]
        try:
            policy = dataplane.get(f"{vault_uri}certificates/{quote(name, safe='')}/policy"
                                   f"?api-version={DATA_PLANE_API}", scopes)
        except ResourceNotFoundError:
            continue  # deleted between the list and the read
        found.append({"name": name, "enabled": (item.get("attributes") or {}).get("enabled") is not False,
                      "validity_months": (policy.get("x509_props") or {}).get("validity_months"),
                      "issuer": (policy.get("issuer") or {}).get("name")})
    return found


def _certificates(ctx: AzureContext, properties: dict[str, Any], errors: dict[str, str]) -> None:
    settings = ctx.subscription.clients.settings
    vault_uri = trusted_vault_uri(str(properties.get("vaultUri") or ""), settings.endpoints.keyvault_suffix,
                                  settings.arm_url)
    properties["certificates"] = None
    if vault_uri is None:
        errors["certificates"] = "UntrustedVaultUri"
        return
    try:
        properties["certificates"] = certificate_validity(ctx, vault_uri)
    except AzureError as exc:
        errors["certificates"] = classify(exc)[0]


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
        _certificates(ctx, properties, errors)
        yield ctx.resource("azure.keyvault.vault", row, properties, errors)
