"""Read a subscription's resources, with their full properties, in as few calls as possible.

Two sources return the same rows ({id, name, type, location, tags, properties, sku, kind, identity}):

- ``graph`` (default): one Azure Resource Graph query per subscription for every type the rules need, paged
  by hand on ``$skipToken`` (the SDK does not page Resource Graph): ceil(N / 1000) calls for N resources of any
  number of types (tests/scanners/azure/test_azure_inventory.py::test_graph_needs_fewer_calls_than_per_resource_arm).
- ``arm``: per-resource Resource Manager calls, for clouds without Resource Graph (Azure Stack Hub, some
  private endpoints): 1 list call per 1,000 resources + 1 provider call per namespace (to pick an api-version)
  + 1 GET per resource, because the list answer carries no properties.

Child settings that neither source indexes (SQL auditing, firewall rules, Entra admins, TDE; App Service config and
authentication; diagnostic settings; blob and file service settings; Key Vault keys and secrets; server parameters;
WAF policies; Defender for Cloud settings) cost one call (or one paged list) each in both modes; the collectors
fetch them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from skywarden.scanners.azure.credentials import AzureSettings


# What this module needs of scanners.azure.context's AzureClients and AzureSubscription, stated here because the
# context imports this module (to fetch its rows): naming the classes would be an import circle.
class AzureClients(Protocol):
    settings: AzureSettings

    def subscriptions(self) -> Any: ...
    def resources(self, subscription_id: str) -> Any: ...
    def graph(self) -> Any: ...


class AzureSubscription(Protocol):
    clients: AzureClients
    subscription_id: str
    arm_types: frozenset[str]

log = logging.getLogger(__name__)

# Skywarden resource type -> the ARM types its collector reads (lower case, as Resource Graph reports them).
ARM_TYPES: Mapping[str, tuple[str, ...]] = {
    "azure.storage.account": ("microsoft.storage/storageaccounts",),
    "azure.network.nsg": ("microsoft.network/networksecuritygroups",),
    "azure.sql.server": ("microsoft.sql/servers",),
    "azure.sql.database": ("microsoft.sql/servers/databases",),
    "azure.keyvault.vault": ("microsoft.keyvault/vaults",),
    "azure.compute.vm": ("microsoft.compute/virtualmachines",),
    "azure.compute.disk": ("microsoft.compute/disks",),
    "azure.web.site": ("microsoft.web/sites",),
    "azure.monitor.subscription": ("microsoft.insights/activitylogalerts", "microsoft.insights/components"),
    "azure.security.subscription": (
        "microsoft.network/bastionhosts", "microsoft.network/networkwatchers", "microsoft.network/virtualnetworks",
    ),
    "azure.network.flowlog": ("microsoft.network/networkwatchers/flowlogs",),
    "azure.postgresql.server": ("microsoft.dbforpostgresql/flexibleservers", "microsoft.dbforpostgresql/servers"),
    "azure.mysql.server": ("microsoft.dbformysql/flexibleservers", "microsoft.dbformysql/servers"),
    "azure.cosmosdb.account": ("microsoft.documentdb/databaseaccounts",),
    "azure.network.vnet": ("microsoft.network/virtualnetworks",),
    "azure.network.appgateway": ("microsoft.network/applicationgateways",),
    "azure.network.vpngateway": ("microsoft.network/virtualnetworkgateways",),
    "azure.databricks.workspace": ("microsoft.databricks/workspaces", "microsoft.network/virtualnetworks"),
    # Entra ID settings come from Microsoft Graph; the VM access check needs the subscription's VMs.
    "azure.entra.tenant": (),
    "azure.entra.user": (),
    "azure.entra.vm_access": ("microsoft.compute/virtualmachines",),
}

_PROJECT = "id, name, type, location, resourceGroup, subscriptionId, tags, properties, sku, kind, identity, managedBy"


def arm_types_for(resource_types: Iterable[str]) -> set[str]:
    return {arm for rtype in resource_types for arm in ARM_TYPES.get(rtype, ())}


def fetch_inventory(subscription: AzureSubscription) -> dict[str, list[dict[str, Any]]]:
    """Every row of the subscription's needed types, grouped by lower-case ARM type."""
    if not subscription.arm_types:
        return {}
    if subscription.clients.settings.inventory_source == "arm":
        rows = _arm_rows(subscription)
    else:
        rows = _graph_rows(subscription)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row.get("type", "")).lower(), []).append(row)
    return grouped


def graph_query(arm_types: Iterable[str]) -> str:
    quoted = ", ".join(f"'{t}'" for t in sorted(arm_types))
    return f"Resources | where type in~ ({quoted}) | project {_PROJECT} | order by id asc"


def _graph_rows(subscription: AzureSubscription) -> list[dict[str, Any]]:
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    client = subscription.clients.graph()
    query = graph_query(subscription.arm_types)
    page_size = subscription.clients.settings.graph_page_size
    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    while True:
        options = QueryRequestOptions(top=page_size, skip_token=skip_token, result_format="objectArray")
        response = client.resources(
            QueryRequest(subscriptions=[subscription.subscription_id], query=query, options=options)
        )
        rows.extend(response.data or [])
        skip_token = response.skip_token
        if not skip_token:
            return rows


def _arm_rows(subscription: AzureSubscription) -> list[dict[str, Any]]:
    client = subscription.clients.resources(subscription.subscription_id)
    type_filter = " or ".join(f"resourceType eq '{t}'" for t in sorted(subscription.arm_types))
    listed = [item.as_dict() for item in client.resources.list(filter=type_filter)]
    versions: dict[str, str] = {}
    rows = []
    for item in listed:
        arm_type = str(item["type"])
        if arm_type.lower() not in versions:
            versions.update(_api_versions(client, arm_type.split("/", 1)[0]))
        api_version = versions.get(arm_type.lower())
        if api_version is None:
            raise LookupError(f"no api-version known for {arm_type}")
        full = client.resources.get_by_id(item["id"], api_version=api_version).as_dict()
        full.setdefault("type", arm_type)
        rows.append(full)
    return rows


def _api_versions(client: Any, namespace: str) -> dict[str, str]:
    """Newest stable api-version of each type of a provider namespace (one call per namespace)."""
    provider = client.providers.get(namespace)
    result = {}
    for resource_type in provider.resource_types or []:
        versions = [v for v in resource_type.api_versions or [] if "preview" not in v] or list(
            resource_type.api_versions or []
        )
        if versions:
            result[f"{namespace}/{resource_type.resource_type}".lower()] = sorted(versions)[-1]
    return result


def list_subscriptions(clients: AzureClients) -> list[tuple[str, str]]:
    """(id, display name) of every enabled subscription the credentials can see."""
    found = []
    for sub in clients.subscriptions().subscriptions.list():
        state = getattr(sub, "state", None)
        state = str(getattr(state, "value", state) or "")  # an enum in the SDK models
        if state and state.lower() not in ("enabled", "pastdue", "warned"):
            log.info("skipping subscription %s in state %s", sub.subscription_id, state)
            continue
        found.append((str(sub.subscription_id), str(sub.display_name or sub.subscription_id)))
    return found
