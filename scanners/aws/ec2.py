"""EC2 compute and block storage: instances (CIS 5.6), EBS volumes, snapshots and default encryption (CIS 2.2.1)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from scanners.aws.context import AwsContext, try_call, with_errors
from scanners.model import Resource
from scanners.registry import collector

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
    for snapshot in ctx.paginate(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
        snapshot_id = snapshot["SnapshotId"]
        errors: dict[str, str] = {}
        permissions = try_call(
            errors,
            "CreateVolumePermissions",
            lambda s=snapshot_id: ec2.describe_snapshot_attribute(SnapshotId=s, Attribute="createVolumePermission")[
                "CreateVolumePermissions"
            ],
            missing=("InvalidSnapshot.NotFound",),  # deleted between the listing and this call
            default=[],
        )
        if "CreateVolumePermissions" in errors:
            errors["is_public"] = errors["CreateVolumePermissions"]
        properties = dict(snapshot)
        properties["CreateVolumePermissions"] = permissions
        properties["is_public"] = None if permissions is None else any(p.get("Group") == "all" for p in permissions)
        properties["shared_with_accounts"] = [p["UserId"] for p in permissions or [] if "UserId" in p]
        # Snapshot ARNs carry no account id.
        yield ctx.resource(
            "aws.ec2.snapshot",
            ctx.arn("ec2", f"snapshot/{snapshot_id}", ctx.region, account=False),
            name_tag(snapshot.get("Tags")) or snapshot_id,
            with_errors(properties, errors),
            tags=snapshot.get("Tags"),
        )


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
