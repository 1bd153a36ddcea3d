"""Network security groups: custom and default rules, evaluated by the ``nsg_*`` checks in priority order."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector


@collector("azure.network.nsg", service="network", regional=False)
def network_security_groups(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.network/networksecuritygroups"):
        properties = base_properties(row)
        # Resource Graph omits defaultSecurityRules for some api-versions; the platform defaults then apply
        # (DenyAllInBound at 65500), which the check assumes when the list is absent.
        properties.setdefault("securityRules", [])
        yield ctx.resource("azure.network.nsg", row, properties)
