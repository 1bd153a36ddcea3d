"""RDS: database instances (CIS 2.3.1-2.3.3) and manual snapshots and whether they are public."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector


@collector("aws.rds.db_instance", service="rds")
def db_instances(ctx: AwsContext) -> Iterator[Resource]:
    rds = ctx.client("rds")
    for instance in ctx.paginate(rds, "describe_db_instances", "DBInstances"):
        properties = dict(instance)
        properties.pop("TagList", None)  # kept as the resource's tags
        yield ctx.resource(
            "aws.rds.db_instance",
            instance["DBInstanceArn"],
            instance["DBInstanceIdentifier"],
            properties,
            tags=instance.get("TagList"),
        )


@collector("aws.rds.db_snapshot", service="rds")
def db_snapshots(ctx: AwsContext) -> Iterator[Resource]:
    rds = ctx.client("rds")
    # Automated snapshots cannot be shared, so only manual ones can be public.
    for snapshot in ctx.paginate(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"):
        snapshot_id = snapshot["DBSnapshotIdentifier"]
        errors: dict[str, str] = {}
        attributes = try_call(
            errors,
            "restore_principals",
            lambda s=snapshot_id: rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=s)[
                "DBSnapshotAttributesResult"
            ].get("DBSnapshotAttributes", []),
            missing=("DBSnapshotNotFound",),  # deleted between the listing and this call
            default=[],
        )
        if "restore_principals" in errors:
            errors["is_public"] = errors["restore_principals"]
        properties = dict(snapshot)
        properties.pop("TagList", None)
        if attributes is None:
            properties["restore_principals"] = None
            properties["is_public"] = None
        else:
            # The "restore" attribute lists the accounts that may copy or restore the snapshot; "all" is anyone.
            principals = [
                value
                for attribute in attributes
                if attribute.get("AttributeName") == "restore"
                for value in attribute.get("AttributeValues", [])
            ]
            properties["restore_principals"] = principals
            properties["is_public"] = "all" in principals
        yield ctx.resource(
            "aws.rds.db_snapshot",
            snapshot["DBSnapshotArn"],
            snapshot_id,
            with_errors(properties, errors),
            tags=snapshot.get("TagList"),
        )
