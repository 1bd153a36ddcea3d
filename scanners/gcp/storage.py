"""Cloud Storage buckets with their IAM policies."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of, public_members
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

BUCKET = "storage.googleapis.com/Bucket"
LOG_SINK = "logging.googleapis.com/LogSink"
_SINK_BUCKET = "storage.googleapis.com/"


@collector("gcp.storage.bucket", service="storage", regional=False)
def buckets(ctx: GcpContext) -> Iterator[Resource]:
    """Properties: the JSON API bucket (``iamConfiguration``, ``retentionPolicy``, ...) plus ``iamPolicy``.

    Derived: ``public_members`` ('role member' granted to allUsers/allAuthenticatedUsers), ``is_public``
    (such a grant exists and public access prevention does not override it) and ``log_sinks`` (the
    project's log sinks whose destination is ``storage.googleapis.com/<this bucket>``, read in the same
    listing; sinks of other projects, folders or the organization are not seen from here).
    """
    policies = ctx.iam_policies([BUCKET])
    assets = list(ctx.list_assets([BUCKET, LOG_SINK]))
    sinks: dict[str, list[str]] = {}
    for asset in assets:
        if asset.get("assetType") == LOG_SINK:
            sink = data_of(asset)
            destination = str(sink.get("destination") or "")
            if destination.startswith(_SINK_BUCKET):
                bucket = destination[len(_SINK_BUCKET) :].split("/", 1)[0]
                sinks.setdefault(bucket, []).append(str(sink.get("name")))
    for asset in assets:
        if asset.get("assetType") != BUCKET:
            continue
        data = data_of(asset)
        policy = policies.get(asset["name"], {})
        public = public_members(policy)
        prevention = ((data.get("iamConfiguration") or {}).get("publicAccessPrevention") or "").lower()
        properties = {
            **data,
            "iamPolicy": policy,
            "public_members": public,
            "is_public": bool(public) and prevention != "enforced",
            "log_sinks": sorted(sinks.get(str(data.get("name")), [])),
        }
        yield ctx.resource("gcp.storage.bucket", asset, properties, name=data.get("name"), tags=data.get("labels"))
