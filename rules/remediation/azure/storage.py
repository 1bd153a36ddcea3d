"""Storage account remediations: disable anonymous blob access, require secure transfer.

Both are one boolean of the account's ARM properties, read with a GET and changed with a PATCH by id
(``client("arm", None)`` is the subscription's generic resource client, see rules/remediation/azure/environment.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

# Both properties exist unchanged since 2019; one fixed, documented version keeps the shapes predictable.
STORAGE_API_VERSION = "2023-05-01"


class StorageAccountFlag(RemediationAction):
    """Set one boolean property of a storage account to ``wanted``."""

    resource_type = "azure.storage.account"
    permissions = ("Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/write")
    property: str
    wanted: bool
    # What Azure does when the property is absent (older API versions left it unset): undo writes this value
    # back, because a PATCH cannot unset a property.
    absent_means: bool
    summary: str

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        live = client("arm", None).get_resource(resource_id=resource.id, api_version=STORAGE_API_VERSION)
        current = (live.get("properties") or {}).get(self.property)
        calls: tuple[ApiCall, ...] = ()
        if current is not self.wanted:
            calls = (ApiCall("arm", "update_resource", {
                "resource_id": resource.id, "api_version": STORAGE_API_VERSION,
                "properties": {self.property: self.wanted},
            }),)
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    self.summary.format(name=resource.name), calls, {self.property: current},
                    {self.property: self.wanted})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        previous = undo["before"][self.property]
        restore = self.absent_means if previous is None else previous
        if restore == self.wanted:
            return ()
        return (ApiCall("arm", "update_resource", {
            "resource_id": plan.resource_id, "api_version": STORAGE_API_VERSION, "properties": {self.property: restore},
        }),)


@action
class DisableBlobPublicAccess(StorageAccountFlag):
    name = "azure.storage.disable_blob_public_access"
    title = "Disallow anonymous (public) blob access on the storage account"
    property = "allowBlobPublicAccess"
    wanted = False
    absent_means = True  # accounts created before 2023-11 allowed it when the property was unset
    summary = "Disallow anonymous blob access on storage account {name}"


@action
class RequireSecureTransfer(StorageAccountFlag):
    name = "azure.storage.require_secure_transfer"
    title = "Require secure transfer (HTTPS only) on the storage account"
    property = "supportsHttpsTrafficOnly"
    wanted = True
    absent_means = False  # api-versions before 2019-04-01 defaulted to allowing HTTP
    summary = "Require secure transfer (HTTPS only) on storage account {name}"
