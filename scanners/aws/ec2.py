"""EC2 compute and block storage: instances (CIS 5.6), EBS volumes, snapshots and default encryption (CIS 2.2.1)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

# Terminated instances linger in the listing for about an hour but can no longer be fixed or exploited.
_GONE_STATES = {"terminated", "shutting-down"}


@collector("aws.ec2.instance", service="ec2")
def instances(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    for reservation in ctx.paginate(ec2, "describe_instances", "Reservations"):
        for instance in reservation.get("Instances", []):
            if instance.get("State", {}).get("Name") in _GONE_STATES:
                continue
            properties = dict(instance)
            properties["OwnerId"] = reservation.get("OwnerId")
            yield ctx.resource(
                "aws.ec2.instance",
                ctx.arn("ec2", f"instance/{instance['InstanceId']}", ctx.region),
                name_tag(instance.get("Tags")) or instance["InstanceId"],
                properties,
                tags=instance.get("Tags"),
            )


@collector("aws.ec2.volume", service="ec2")
def volumes(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    for volume in ctx.paginate(ec2, "describe_volumes", "Volumes"):
        properties = dict(volume)
        attachments = volume.get("Attachments", [])
        properties["attached_instance_ids"] = [a["InstanceId"] for a in attachments if "InstanceId" in a]
        yield ctx.resource(
            "aws.ec2.volume",
            ctx.arn("ec2", f"volume/{volume['VolumeId']}", ctx.region),
            name_tag(volume.get("Tags")) or volume["VolumeId"],
            properties,
            tags=volume.get("Tags"),
        )


@collector("aws.ec2.snapshot", service="ec2")
def snapshots(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    # Only our own snapshots: public ones from other accounts are not ours to fix.
    own = ctx.paginate(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"])
    public_ids = public_snapshot_ids(ctx, ec2, own)
    for snapshot in own:
        snapshot_id = snapshot["SnapshotId"]
        errors: dict[str, str] = {}
        if public_ids is not None:
            is_public: bool | None = snapshot_id in public_ids
        else:
            is_public = _public_from_attribute(errors, ec2, snapshot_id)
        properties = dict(snapshot)
        properties["is_public"] = is_public
        # Snapshot ARNs carry no account id.
        yield ctx.resource(
            "aws.ec2.snapshot",
            ctx.arn("ec2", f"snapshot/{snapshot_id}", ctx.region, account=False),
            name_tag(snapshot.get("Tags")) or snapshot_id,
            with_errors(properties, errors),
            tags=snapshot.get("Tags"),
        )


def public_snapshot_ids(ctx: AwsContext, ec2: Any, own: list[Mapping[str, Any]]) -> set[str] | None:
    """Ids of our snapshots anyone may restore, from one filtered listing per region; None to ask per snapshot.

    DescribeSnapshots(RestorableByUserIds=["all"]) answers with the public snapshots only, which replaces
    one DescribeSnapshotAttribute per snapshot. When the filtered listing fails, or comes back with every
    snapshot (what an endpoint that ignores the filter answers, e.g. moto's), each snapshot is checked on
    its own instead: correct in every case, and cheap in the real one where public snapshots are rare.
    """
    if not own:
        return set()
    errors: dict[str, str] = {}
    listed = try_call(
        errors,
        "public",
        lambda: ctx.paginate(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"], RestorableByUserIds=["all"]),
    )
    if listed is None:
        return None
    public = {s["SnapshotId"] for s in listed}
    if public >= {s["SnapshotId"] for s in own}:
        return None
    return public


def _public_from_attribute(errors: dict[str, str], ec2: Any, snapshot_id: str) -> bool | None:
    permissions = try_call(
        errors,
        "is_public",
        lambda: ec2.describe_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission")[
            "CreateVolumePermissions"
        ],
        missing=("InvalidSnapshot.NotFound",),  # deleted between the listing and this call
        default=[],
    )
    return None if permissions is None else any(p.get("Group") == "all" for p in permissions)


@collector("aws.ec2.regional_settings", service="ec2")
def regional_settings(ctx: AwsContext) -> Iterator[Resource]:
    """One synthetic resource per region: arn:<partition>:ec2:<region>:<account>:regional-settings."""
    ec2 = ctx.client("ec2")
    encryption = ec2.get_ebs_encryption_by_default()
    properties = {"EbsEncryptionByDefault": bool(encryption.get("EbsEncryptionByDefault"))}
    yield ctx.resource(
        "aws.ec2.regional_settings",
        ctx.arn("ec2", "regional-settings", ctx.region),
        f"EC2 settings {ctx.region}",
        properties,
    )


def name_tag(tags: Iterable[Mapping[str, str]] | None) -> str | None:
    """The Name tag, which the console shows as the resource's name."""
    for tag in tags or []:
        if tag.get("Key") == "Name" and tag.get("Value"):
            return tag["Value"]
    return None
