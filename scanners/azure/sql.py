"""SQL servers and databases. Auditing, firewall rules, Entra admins, the TDE protector and TDE are child
resources that neither Resource Graph nor the resource list carries: one GET each per server (four) and per
database (one)."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

SQL_API = "2021-11-01"


@collector("azure.sql.server", service="sql", regional=False)
def sql_servers(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.sql/servers"):
        server_id = row["id"]
        errors: dict[str, str] = {}
        properties = base_properties(row)
        auditing = ctx.try_get(errors, "auditing", f"{server_id}/auditingSettings/default", SQL_API)
        properties["auditing"] = (auditing or {}).get("properties") if "auditing" not in errors else None
        rules = ctx.try_list(errors, "firewall_rules", f"{server_id}/firewallRules", SQL_API)
        properties["firewall_rules"] = (
            None if rules is None else [{"name": r.get("name"), **(r.get("properties") or {})} for r in rules]
        )
        admins = ctx.try_list(errors, "entra_admins", f"{server_id}/administrators", SQL_API)
        properties["entra_admins"] = None if admins is None else [a.get("properties") or {} for a in admins]
        protector = ctx.try_get(errors, "encryption_protector", f"{server_id}/encryptionProtector/current", SQL_API)
        properties["encryption_protector"] = None if protector is None else (protector.get("properties") or {})
        yield ctx.resource("azure.sql.server", row, properties, errors)


@collector("azure.sql.database", service="sql-database", regional=False)
def sql_databases(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.sql/servers/databases"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        properties["server_name"] = row["id"].split("/servers/", 1)[1].split("/", 1)[0]
        # master cannot be encrypted with TDE (CIS 4.1.5 excludes it); don't ask for a setting that isn't there.
        properties["is_system_database"] = str(row.get("name", "")).lower() == "master"
        if not properties["is_system_database"]:
            tde = ctx.try_get(errors, "transparent_data_encryption", f"{row['id']}/transparentDataEncryption/current",
                              SQL_API)
            properties["transparent_data_encryption"] = (tde or {}).get("properties") if tde is not None else None
        yield ctx.resource("azure.sql.database", row, properties, errors)
