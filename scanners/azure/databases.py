"""Azure Database for PostgreSQL and MySQL (flexible and the retired single servers) and Cosmos DB accounts.

The CIS 4.3/4.4 settings are server parameters (``configurations``, a paged list of several hundred entries)
and firewall rules: two lists per server. Single and flexible servers name some parameters differently; both
are read into the same normalised properties so one rule covers both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

# api-versions by ARM type: flexible and single servers are separate resource providers' types.
APIS = {
    "microsoft.dbforpostgresql/flexibleservers": "2022-12-01",
    "microsoft.dbforpostgresql/servers": "2017-12-01",
    "microsoft.dbformysql/flexibleservers": "2023-12-30",
    "microsoft.dbformysql/servers": "2017-12-01",
}
# Parameters that differ by name between single (first) and flexible (second) PostgreSQL servers.
_ALIASES = {
    "connection_throttling": ("connection_throttling", "connection_throttle.enable"),
    "log_retention_days": ("log_retention_days", "logfiles.retention_days"),
}
_PARAMETER_KEYS = ("require_secure_transport", "log_checkpoints", "log_connections", "log_disconnections",
                   "connection_throttling", "log_retention_days", "tls_version")


def parameters_of(configurations: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Server parameter name (lower case) -> value (lower case); a value is a string in every api-version."""
    return {str(c.get("name", "")).lower(): str((c.get("properties") or {}).get("value", "")).strip().lower()
            for c in configurations}


def _parameter(parameters: Mapping[str, str], name: str) -> str | None:
    for alias in _ALIASES.get(name, (name,)):
        if alias in parameters:
            return parameters[alias]
    return None


def _on(value: str | None) -> bool | None:
    return None if value is None else value in ("on", "true", "1")


def allows_all_azure_ips(rules: Sequence[Mapping[str, Any]]) -> bool:
    """The 'Allow public access from any Azure service' rule: a range from 0.0.0.0 to 0.0.0.0 (the portal names
    it AllowAllAzureServicesAndResourcesWithinAzureIps_*, older ones AllowAllWindowsAzureIps)."""
    for rule in rules:
        props = rule.get("properties") or {}
        if props.get("startIpAddress") == "0.0.0.0" and props.get("endIpAddress") == "0.0.0.0":
            return True
    return False


def _server(ctx: AzureContext, row: Mapping[str, Any], resource_type: str) -> Resource:
    arm_type = str(row.get("type", "")).lower()
    api = APIS[arm_type]
    errors: dict[str, str] = {}
    properties = base_properties(row)
    properties["deployment"] = "flexible" if arm_type.endswith("/flexibleservers") else "single"
    configurations = ctx.try_list(errors, "parameters", f"{row['id']}/configurations", api)
    parameters = None if configurations is None else parameters_of(configurations)
    properties["parameters"] = parameters
    for key in _PARAMETER_KEYS:
        if parameters is None:
            errors[key] = errors["parameters"]
            properties[key] = None
            continue
        value = _parameter(parameters, key)
        if key == "log_retention_days":
            properties[key] = int(value) if value and value.isdigit() else None
        elif key == "tls_version":
            properties[key] = sorted(v.strip() for v in value.split(",") if v.strip()) if value else None
        else:
            properties[key] = _on(value)
    if properties["deployment"] == "single":
        # Single servers keep SSL and TLS as resource properties, not parameters.
        properties["require_secure_transport"] = str(properties.get("sslEnforcement", "")).lower() == "enabled"
        errors.pop("require_secure_transport", None)
    rules = ctx.try_list(errors, "allows_all_azure_ips", f"{row['id']}/firewallRules", api)
    properties["allows_all_azure_ips"] = None if rules is None else allows_all_azure_ips(rules)
    return ctx.resource(resource_type, row, properties, errors)


@collector("azure.postgresql.server", service="postgresql", regional=False)
def postgresql_servers(ctx: AzureContext) -> Iterator[Resource]:
    for arm_type in ("microsoft.dbforpostgresql/flexibleservers", "microsoft.dbforpostgresql/servers"):
        for row in ctx.rows(arm_type):
            yield _server(ctx, {**row, "type": arm_type}, "azure.postgresql.server")


@collector("azure.mysql.server", service="mysql", regional=False)
def mysql_servers(ctx: AzureContext) -> Iterator[Resource]:
    for arm_type in ("microsoft.dbformysql/flexibleservers", "microsoft.dbformysql/servers"):
        for row in ctx.rows(arm_type):
            yield _server(ctx, {**row, "type": arm_type}, "azure.mysql.server")


def selected_networks_only(properties: Mapping[str, Any]) -> bool:
    """Cosmos DB 'Selected networks' (CIS 4.5.1): public access off, or the VNet filter on, or IP rules set.
    Absent publicNetworkAccess means Enabled and absent ipRules means none, as the API defaults them."""
    return (
        str(properties.get("publicNetworkAccess") or "Enabled").lower() == "disabled"
        or properties.get("isVirtualNetworkFilterEnabled") is True
        or bool(properties.get("ipRules"))
    )


@collector("azure.cosmosdb.account", service="cosmosdb", regional=False)
def cosmosdb_accounts(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.documentdb/databaseaccounts"):
        properties = base_properties(row)
        properties["selected_networks_only"] = selected_networks_only(properties)
        yield ctx.resource("azure.cosmosdb.account", row, properties)
