"""Azure Databricks workspaces: networking from the workspace's ARM parameters, the NSGs of its VNet-injected
subnets (from the virtual networks in the inventory), and its diagnostic settings (one GET per workspace)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
_DESTINATIONS = ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def _parameter(parameters: Mapping[str, Any], name: str) -> Any:
    # Workspace parameters are {"type": ..., "value": ...} objects.
    value = parameters.get(name)
    return value.get("value") if isinstance(value, Mapping) else value


def logs_delivered(settings: Sequence[Mapping[str, Any]]) -> bool:
    return any(any((s.get("properties") or {}).get(k) for k in _DESTINATIONS)
               and any(log.get("enabled") for log in (s.get("properties") or {}).get("logs") or [])
               for s in settings)


def injected_subnets_without_nsg(vnet_id: str | None, subnet_names: Sequence[str],
                                 vnets: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Which of the workspace's subnets have no NSG; None when its VNet is not in this subscription's inventory."""
    if not vnet_id:
        return []
    vnet = next((v for v in vnets if str(v.get("id", "")).lower() == vnet_id.lower()), None)
    if vnet is None:
        return None
    subnets = {str(s.get("name", "")).lower(): s for s in (vnet.get("properties") or {}).get("subnets") or []}
    missing = []
    for name in subnet_names:
        subnet = subnets.get(name.lower()) or {}
        props = subnet.get("properties") if isinstance(subnet.get("properties"), Mapping) else subnet
        if not (props.get("networkSecurityGroup") or {}).get("id"):
            missing.append(name)
    return sorted(missing)


@collector("azure.databricks.workspace", service="databricks", regional=False)
def databricks_workspaces(ctx: AzureContext) -> Iterator[Resource]:
    vnets = ctx.rows("microsoft.network/virtualnetworks")
    for row in ctx.rows("microsoft.databricks/workspaces"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        parameters = properties.get("parameters") or {}
        vnet_id = _parameter(parameters, "customVirtualNetworkId")
        properties["vnet_injected"] = bool(vnet_id)
        # enableNoPublicIp absent: the platform default, Enabled (secure cluster connectivity) since API 2024-05-01.
        properties["no_public_ip"] = _parameter(parameters, "enableNoPublicIp") is not False
        subnet_names = [n for n in (_parameter(parameters, "customPublicSubnetName"),
                                    _parameter(parameters, "customPrivateSubnetName")) if n]
        missing = injected_subnets_without_nsg(vnet_id, subnet_names, vnets)
        properties["subnets_without_nsg"] = missing
        if missing is None:
            errors["subnets_without_nsg"] = "VNetOutsideScope"
        settings = ctx.try_list(errors, "diagnostic_logs",
                                f"{row['id']}/providers/Microsoft.Insights/diagnosticSettings", DIAGNOSTICS_API)
        properties["diagnostic_logs"] = None if settings is None else logs_delivered(settings)
        yield ctx.resource("azure.databricks.workspace", row, properties, errors)
