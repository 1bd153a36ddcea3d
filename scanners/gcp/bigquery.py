"""BigQuery datasets (access and default encryption) and tables (encryption)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from skywarden.scanners.gcp.assets import PUBLIC_MEMBERS, GcpContext, data_of, public_members
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

DATASET = "bigquery.googleapis.com/Dataset"
TABLE = "bigquery.googleapis.com/Table"
TYPES = {DATASET: "gcp.bigquery.dataset", TABLE: "gcp.bigquery.table"}


@collector(*TYPES.values(), service="bigquery", regional=False)
def bigquery(ctx: GcpContext) -> Iterator[Resource]:
    """Datasets get ``iamPolicy``, ``public_members`` and ``is_public``; tables are the API's Table.

    A dataset is shared two ways that BigQuery keeps in step: its ``access`` list (``iamMember`` or, for
    the older form, ``specialGroup: allAuthenticatedUsers``) and the IAM policy Cloud Asset reports. Both
    are read, so a grant expressed either way is found.
    """
    wanted = [asset_type for asset_type, rtype in TYPES.items() if ctx.wants(rtype)]
    if not wanted:
        return
    policies = ctx.iam_policies([DATASET]) if DATASET in wanted else {}
    for asset in ctx.list_assets(wanted):
        rtype = TYPES.get(asset.get("assetType", ""))
        data = data_of(asset)
        if rtype == "gcp.bigquery.dataset":
            policy = policies.get(asset["name"], {})
            public = sorted(set(public_members(policy)) | set(_public_access_entries(data.get("access") or [])))
            properties = {**data, "iamPolicy": policy, "public_members": public, "is_public": bool(public)}
            name = (data.get("datasetReference") or {}).get("datasetId")
            yield ctx.resource(rtype, asset, properties, name=name, tags=data.get("labels"))
        elif rtype == "gcp.bigquery.table":
            reference = data.get("tableReference") or {}
            name = f"{reference.get('datasetId')}.{reference.get('tableId')}" if reference else None
            yield ctx.resource(rtype, asset, data, name=name, tags=data.get("labels"))


def _public_access_entries(entries: list[Mapping[str, Any]]) -> list[str]:
    found = []
    for entry in entries:
        for key in ("iamMember", "specialGroup"):
            if entry.get(key) in PUBLIC_MEMBERS:
                found.append(f"{entry.get('role')} {entry.get(key)}")
    return found
