"""Virtual machines and managed disks: both carry what the CIS 7.x rules read in their ARM properties."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector


@collector("azure.compute.vm", service="compute", regional=False)
def virtual_machines(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.compute/virtualmachines"):
        yield ctx.resource("azure.compute.vm", row, base_properties(row))


@collector("azure.compute.disk", service="compute-disk", regional=False)
def disks(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.compute/disks"):
        yield ctx.resource("azure.compute.disk", row, base_properties(row))
