"""Storage accounts: the account's own ARM properties, plus the blob and file services' settings (soft delete,
versioning, SMB) and the diagnostic settings of the blob, queue and table services (CIS 3.5, 3.11, 3.13, 3.14):
one GET each, only for the services the account's kind has."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

STORAGE_API = "2023-05-01"
DIAGNOSTICS_API = "2021-05-01-preview"
_DESTINATIONS = ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "marketplacePartnerId")
_REQUEST_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
# Which services an account kind has (FileStorage: files only; BlobStorage/BlockBlobStorage: blobs only).
_SERVICES_BY_KIND = {
    "storagev2": ("blob", "queue", "table", "file"),
    "storage": ("blob", "queue", "table", "file"),
    "blobstorage": ("blob",),
    "blockblobstorage": ("blob",),
    "filestorage": ("file",),
}
_LOGGED_SERVICES = ("blob", "queue", "table")


def logged_categories(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Request categories some diagnostic setting with a destination sends; the allLogs group means all three."""
    found: set[str] = set()
    for setting in settings:
        props = setting.get("properties") or {}
        if not any(props.get(key) for key in _DESTINATIONS):
            continue
        for log in props.get("logs") or []:
            if not log.get("enabled"):
                continue
            if str(log.get("categoryGroup") or "").lower() == "alllogs":
                found.update(_REQUEST_CATEGORIES)
            elif log.get("category"):
                found.add(str(log["category"]))
    return sorted(found)


def services_of(kind: Any) -> tuple[str, ...]:
    return _SERVICES_BY_KIND.get(str(kind or "StorageV2").lower(), _SERVICES_BY_KIND["storagev2"])


def _semicolon_list(value: Any) -> list[str] | None:
    # SMB versions and channel encryption come as one ';'-terminated string; absent means "all allowed".
    return None if value is None else [v.strip() for v in str(value).split(";") if v.strip()]


def file_service_summary(service: Mapping[str, Any]) -> dict[str, Any]:
    props = service.get("properties") or {}
    smb = (props.get("protocolSettings") or {}).get("smb") or {}
    retention = props.get("shareDeleteRetentionPolicy") or {}
    return {"share_soft_delete": retention.get("enabled") is True, "share_retention_days": retention.get("days"),
            "smb_versions": _semicolon_list(smb.get("versions")),
            "smb_channel_encryption": _semicolon_list(smb.get("channelEncryption"))}


@collector("azure.storage.account", service="storage", regional=False)
def storage_accounts(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.storage/storageaccounts"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        services = services_of(row.get("kind"))
        properties["services"] = list(services)
        if "blob" in services:
            blob = ctx.try_get(errors, "blob_service", f"{row['id']}/blobServices/default", STORAGE_API)
            properties["blob_service"] = None if blob is None else (blob.get("properties") or {})
        if "file" in services:
            files = ctx.try_get(errors, "file_service", f"{row['id']}/fileServices/default", STORAGE_API)
            properties["file_service"] = None if files is None else file_service_summary(files)
        logging: dict[str, list[str] | None] = {}
        for service in (s for s in services if s in _LOGGED_SERVICES):
            settings = ctx.try_list(
                errors, "service_logging",
                f"{row['id']}/{service}Services/default/providers/Microsoft.Insights/diagnosticSettings",
                DIAGNOSTICS_API,
            )
            logging[service] = None if settings is None else logged_categories(settings)
        properties["service_logging"] = None if "service_logging" in errors else logging
        yield ctx.resource("azure.storage.account", row, properties, errors)
