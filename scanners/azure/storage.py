"""Storage accounts: every setting the CIS 3.x rules read is in the account's own ARM properties."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.azure.context import AzureContext, base_properties
from scanners.model import Resource
from scanners.registry import collector


@collector("azure.storage.account", service="storage", regional=False)
def storage_accounts(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.storage/storageaccounts"):
        yield ctx.resource("azure.storage.account", row, base_properties(row))
