"""Network Watcher flow logs (NSG and VNet flow logs), with their retention policy (CIS 6.5)."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector


@collector("azure.network.flowlog", service="network-flowlog", regional=False)
def flow_logs(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.network/networkwatchers/flowlogs"):
        properties = base_properties(row)
        policy = properties.get("retentionPolicy") or {}
        # Retention off, or 0 days, means the platform never deletes the blobs: kept indefinitely.
        days = policy.get("days")
        properties["retention_days"] = 0 if policy.get("enabled") is not True else int(days or 0)
        yield ctx.resource("azure.network.flowlog", row, properties)
