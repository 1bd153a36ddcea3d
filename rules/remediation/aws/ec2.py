"""EC2 remediations: admin-port ingress from the world, EBS default encryption, public EBS snapshots."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

ADMIN_PORTS = (22, 3389)
WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"


def _resource_suffix(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


def _covers_admin_port(permission: Mapping[str, Any]) -> bool:
    if permission.get("IpProtocol") == "-1":
        return True
    if permission.get("IpProtocol") not in ("tcp", "6"):
        return False
    low, high = permission.get("FromPort", 0), permission.get("ToPort", 65535)
    return any(low <= port <= high for port in ADMIN_PORTS)


def world_open_admin_permissions(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts of ingress permissions that open 22/3389 to the world: only the world ranges, nothing else."""
    revoke = []
    for permission in permissions:
        if not _covers_admin_port(permission):
            continue
        v4 = [r for r in permission.get("IpRanges", []) if r.get("CidrIp") == WORLD_V4]
        v6 = [r for r in permission.get("Ipv6Ranges", []) if r.get("CidrIpv6") == WORLD_V6]
        if not v4 and not v6:
            continue
        entry: dict[str, Any] = {"IpProtocol": permission["IpProtocol"]}
        for port in ("FromPort", "ToPort"):
            if port in permission:
                entry[port] = permission[port]
        if v4:
            entry["IpRanges"] = copy.deepcopy(v4)
        if v6:
            entry["Ipv6Ranges"] = copy.deepcopy(v6)
        revoke.append(entry)
    return revoke


@action
class RevokeAdminPortIngress(RemediationAction):
    name = "aws.ec2.revoke_admin_port_ingress"
    resource_type = "aws.ec2.security_group"
    title = "Revoke world-open ingress to SSH/RDP (only those permissions; the rest is untouched)"
    permissions = ("ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        group_id = _resource_suffix(resource.id)
        group = client("ec2", resource.region).describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        revoke = world_open_admin_permissions(group.get("IpPermissions", []))
        calls: tuple[ApiCall, ...] = ()
        if revoke:
            calls = (ApiCall("ec2", "revoke_security_group_ingress",
                             {"GroupId": group_id, "IpPermissions": revoke}, resource.region),)
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    f"Revoke {len(revoke)} world-open admin-port ingress permission(s) from {group_id}",
                    calls, {"world_open_admin_ingress": revoke}, {"world_open_admin_ingress": []})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        revoked = undo["before"]["world_open_admin_ingress"]
        if not revoked:
            return ()
        return (ApiCall("ec2", "authorize_security_group_ingress",
                        {"GroupId": _resource_suffix(plan.resource_id), "IpPermissions": revoked}, plan.region),)


@action
class EnableEbsDefaultEncryption(RemediationAction):
    name = "aws.ec2.enable_ebs_default_encryption"
    resource_type = "aws.ec2.regional_settings"
    title = "Turn on EBS encryption by default in the region"
    permissions = ("ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault",
                   "ec2:DisableEbsEncryptionByDefault")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        enabled = bool(client("ec2", resource.region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])
        calls = () if enabled else (ApiCall("ec2", "enable_ebs_encryption_by_default", {}, resource.region),)
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    f"Encrypt every new EBS volume in {resource.region} by default", calls,
                    {"EbsEncryptionByDefault": enabled}, {"EbsEncryptionByDefault": True})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if undo["before"]["EbsEncryptionByDefault"]:
            return ()
        return (ApiCall("ec2", "disable_ebs_encryption_by_default", {}, plan.region),)


@action
class MakeSnapshotPrivate(RemediationAction):
    name = "aws.ec2.make_snapshot_private"
    resource_type = "aws.ec2.snapshot"
    title = "Remove public (all) create-volume permission from the EBS snapshot"
    permissions = ("ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        snapshot_id = _resource_suffix(resource.id)
        answer = client("ec2", resource.region).describe_snapshot_attribute(
            SnapshotId=snapshot_id, Attribute="createVolumePermission"
        )
        public = any(p.get("Group") == "all" for p in answer.get("CreateVolumePermissions", []))
        calls: tuple[ApiCall, ...] = ()
        if public:
            calls = (ApiCall("ec2", "modify_snapshot_attribute",
                             {"SnapshotId": snapshot_id, "Attribute": "createVolumePermission",
                              "OperationType": "remove", "GroupNames": ["all"]}, resource.region),)
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    f"Make EBS snapshot {snapshot_id} private", calls, {"public": public}, {"public": False})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if not undo["before"]["public"]:
            return ()
        return (ApiCall("ec2", "modify_snapshot_attribute",
                        {"SnapshotId": _resource_suffix(plan.resource_id), "Attribute": "createVolumePermission",
                         "OperationType": "add", "GroupNames": ["all"]}, plan.region),)
