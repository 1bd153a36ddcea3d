"""Compute Engine: instances, firewall rules, networks (with their Cloud DNS policies), subnetworks,
backend services and project-wide metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from skywarden.scanners.gcp.assets import GcpContext, data_of, is_true, metadata_items
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

# Cloud Asset type -> the resource type built from it.
TYPES = {
    "compute.googleapis.com/Instance": "gcp.compute.instance",
    "compute.googleapis.com/Firewall": "gcp.compute.firewall",
    "compute.googleapis.com/Network": "gcp.compute.network",
    "compute.googleapis.com/Subnetwork": "gcp.compute.subnetwork",
    "compute.googleapis.com/Project": "gcp.compute.project",
    "compute.googleapis.com/BackendService": "gcp.compute.backend_service",
    "compute.googleapis.com/RegionBackendService": "gcp.compute.backend_service",
}
# Server policies of Cloud DNS are attached to networks: CIS 2.12 is a property of the network.
DNS_POLICY = "dns.googleapis.com/Policy"
_NETWORK_PATH = re.compile(r"projects/([^/]+)/global/networks/([^/]+)$")
_DEFAULT_SA = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")
FULL_API_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@collector(*TYPES.values(), service="compute", regional=False)
def compute(ctx: GcpContext) -> Iterator[Resource]:
    """One listing for every Compute asset type the rules need (not the ones they do not)."""
    asset_types = [asset_type for asset_type, rtype in TYPES.items() if ctx.wants(rtype)]
    if not asset_types:
        return
    if ctx.wants("gcp.compute.network"):
        asset_types.append(DNS_POLICY)
    networks: list[tuple[dict[str, Any], dict[str, Any]]] = []
    dns_policies: list[dict[str, Any]] = []
    for asset in ctx.list_assets(asset_types):
        if asset.get("assetType") == DNS_POLICY:
            dns_policies.append(data_of(asset))
            continue
        rtype = TYPES.get(asset.get("assetType", ""))
        if rtype is None:
            continue
        data = data_of(asset)
        if rtype == "gcp.compute.network":
            networks.append((asset, data))  # annotated once every DNS policy has been read
        elif rtype == "gcp.compute.instance":
            yield ctx.resource(rtype, asset, instance_properties(data), name=data.get("name"), tags=data.get("labels"))
        elif rtype == "gcp.compute.project":
            items = metadata_items(data.get("commonInstanceMetadata"))
            properties = {**data, "metadata_items": items, "os_login_enabled": is_true(items.get("enable-oslogin"))}
            yield ctx.resource(rtype, asset, properties, name=data.get("name") or ctx.project_id)
        else:
            yield ctx.resource(rtype, asset, data, name=data.get("name"))
    for asset, data in networks:
        properties = {**data, **dns_policy_properties(ctx.project_id, data, dns_policies)}
        yield ctx.resource("gcp.compute.network", asset, properties, name=data.get("name"))


def dns_policy_properties(project: str, network: dict[str, Any], policies: list[dict[str, Any]]) -> dict[str, Any]:
    """``dns_policies`` / ``dns_logging_policies``: the Cloud DNS server policies attached to this network,
    and those of them with ``enableLogging``.

    A policy names its networks by URL, in whichever form the caller used (``https://www.googleapis.com/
    compute/v1/...``, ``https://compute.googleapis.com/compute/v1/...`` or a relative
    ``projects/P/global/networks/N``): they are compared by their ``projects/P/global/networks/N`` tail.
    """
    own = (project, str(network.get("name", "")))
    attached = [
        policy
        for policy in policies
        if any(_network_key(str(n.get("networkUrl", ""))) == own for n in policy.get("networks") or [])
    ]
    return {
        "dns_policies": sorted(str(p.get("name")) for p in attached),
        "dns_logging_policies": sorted(str(p.get("name")) for p in attached if p.get("enableLogging") is True),
    }


def _network_key(url: str) -> tuple[str, str] | None:
    match = _NETWORK_PATH.search(url.rstrip("/"))
    return (match.group(1), match.group(2)) if match else None


def instance_properties(data: dict[str, Any]) -> dict[str, Any]:
    """The instance as the Compute API returns it, plus the facts CIS section 4 asks about.

    ``metadata_items`` flattens metadata; ``serial_port_enabled``/``block_project_ssh_keys``/``os_login``
    read it the way Compute does (string booleans); ``default_service_account`` and
    ``default_sa_full_api_access`` look at the attached service account; ``has_external_ip`` is any
    access config on any interface; ``is_gke_node`` marks the VMs CIS excludes; ``disks_without_csek``
    names the attached disks whose ``diskEncryptionKey`` has no ``sha256`` (only a customer-supplied key
    has one: a CMEK disk carries ``kmsKeyName`` instead); ``confidential_compute`` reads both shapes of
    ``confidentialInstanceConfig``.
    """
    items = metadata_items(data.get("metadata"))
    accounts = data.get("serviceAccounts") or []
    default = [a for a in accounts if _DEFAULT_SA.match(str(a.get("email", "")))]
    labels = data.get("labels") or {}
    return {
        **data,
        "metadata_items": items,
        "serial_port_enabled": is_true(items.get("serial-port-enable", "false")),
        "block_project_ssh_keys": is_true(items.get("block-project-ssh-keys", "false")),
        "os_login": items.get("enable-oslogin"),
        "default_service_account": bool(default),
        "default_sa_full_api_access": any(FULL_API_SCOPE in (a.get("scopes") or []) for a in default),
        "has_external_ip": any(nic.get("accessConfigs") for nic in data.get("networkInterfaces") or []),
        "is_gke_node": str(data.get("name", "")).startswith("gke-") and "goog-gke-node" in labels,
        "disks_without_csek": [
            str(disk.get("deviceName") or disk.get("source") or index)
            for index, disk in enumerate(data.get("disks") or [])
            if not (disk.get("diskEncryptionKey") or {}).get("sha256")
        ],
        "confidential_compute": confidential_compute(data.get("confidentialInstanceConfig")),
    }


def confidential_compute(config: Any) -> bool:
    """Confidential VM is on: ``enableConfidentialCompute`` (the original field, AMD SEV only) or a
    ``confidentialInstanceType`` (SEV, SEV_SNP, TDX; the field newer API versions set instead)."""
    config = config if isinstance(config, dict) else {}
    kind = str(config.get("confidentialInstanceType") or "")
    return config.get("enableConfidentialCompute") is True or kind not in ("", "CONFIDENTIAL_INSTANCE_TYPE_UNSPECIFIED")
