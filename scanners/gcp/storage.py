"""Cloud Storage buckets with their IAM policies."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.gcp.assets import GcpContext, data_of, public_members
from scanners.model import Resource
from scanners.registry import collector

BUCKET = "storage.googleapis.com/Bucket"


@collector("gcp.storage.bucket", service="storage", regional=False)
def buckets(ctx: GcpContext) -> Iterator[Resource]:
    """Properties: the JSON API bucket (``iamConfiguration``, ``retentionPolicy``, ...) plus ``iamPolicy``.

    Derived: ``public_members`` ('role member' granted to allUsers/allAuthenticatedUsers) and ``is_public``
    (such a grant exists and public access prevention does not override it).
    """
    policies = ctx.iam_policies([BUCKET])
    for asset in ctx.list_assets([BUCKET]):
        data = data_of(asset)
        policy = policies.get(asset["name"], {})
        public = public_members(policy)
        prevention = ((data.get("iamConfiguration") or {}).get("publicAccessPrevention") or "").lower()
        properties = {
            **data,
            "iamPolicy": policy,
            "public_members": public,
            "is_public": bool(public) and prevention != "enforced",
        }
        yield ctx.resource("gcp.storage.bucket", asset, properties, name=data.get("name"), tags=data.get("labels"))
