"""Dataproc clusters (disk encryption)."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

CLUSTER = "dataproc.googleapis.com/Cluster"


@collector("gcp.dataproc.cluster", service="dataproc", regional=False)
def clusters(ctx: GcpContext) -> Iterator[Resource]:
    """The Dataproc v1 Cluster plus ``cmek_key``: the Cloud KMS key its disks are encrypted with, or None.

    ``config.encryptionConfig`` names the key as ``gcePdKmsKeyName`` (persistent disks, the original
    field) or ``kmsKey`` (the newer field that also covers cluster data in Cloud Storage); either counts.
    """
    for asset in ctx.list_assets([CLUSTER]):
        data = data_of(asset)
        encryption = (data.get("config") or {}).get("encryptionConfig") or {}
        key = encryption.get("gcePdKmsKeyName") or encryption.get("kmsKey") or None
        name = data.get("clusterName") or None
        yield ctx.resource("gcp.dataproc.cluster", asset, {**data, "cmek_key": key}, name=name, tags=data.get("labels"))
