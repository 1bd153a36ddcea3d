"""KMS key rotation, CloudTrail log file validation, RDS snapshot and instance exposure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action


def _plan(action_: RemediationAction, resource: Any, summary: str, calls: tuple[ApiCall, ...],
          before: Mapping[str, Any], after: Mapping[str, Any]) -> Plan:
    return Plan(action_.name, resource.id, resource.type, resource.account_id, resource.region, summary, calls,
                dict(before), dict(after))


@action
class EnableKeyRotation(RemediationAction):
    name = "aws.kms.enable_key_rotation"
    resource_type = "aws.kms.key"
    title = "Enable automatic yearly rotation of the KMS key"
    permissions = ("kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        key_id = resource.id.rsplit("/", 1)[-1]
        enabled = bool(client("kms", resource.region).get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
        calls = () if enabled else (ApiCall("kms", "enable_key_rotation", {"KeyId": key_id}, resource.region),)
        return _plan(self, resource, f"Enable rotation of KMS key {key_id}", calls,
                     {"KeyRotationEnabled": enabled}, {"KeyRotationEnabled": True})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if undo["before"]["KeyRotationEnabled"]:
            return ()
        return (ApiCall("kms", "disable_key_rotation", {"KeyId": plan.resource_id.rsplit("/", 1)[-1]}, plan.region),)


@action
class EnableLogFileValidation(RemediationAction):
    name = "aws.cloudtrail.enable_log_file_validation"
    resource_type = "aws.cloudtrail.trail"
    title = "Enable CloudTrail log file integrity validation"
    permissions = ("cloudtrail:GetTrail", "cloudtrail:UpdateTrail")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        region = resource.properties.get("HomeRegion") or resource.region
        trail = client("cloudtrail", region).get_trail(Name=resource.id)["Trail"]
        enabled = bool(trail.get("LogFileValidationEnabled"))
        calls: tuple[ApiCall, ...] = ()
        if not enabled:
            calls = (ApiCall("cloudtrail", "update_trail", {"Name": resource.id, "EnableLogFileValidation": True},
                             region),)
        return _plan(self, resource, f"Enable log file validation on trail {trail['Name']}", calls,
                     {"LogFileValidationEnabled": enabled}, {"LogFileValidationEnabled": True})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if undo["before"]["LogFileValidationEnabled"]:
            return ()
        region = plan.calls[0].region if plan.calls else plan.region
        return (ApiCall("cloudtrail", "update_trail", {"Name": plan.resource_id, "EnableLogFileValidation": False},
                        region),)


@action
class MakeDbSnapshotPrivate(RemediationAction):
    name = "aws.rds.make_snapshot_private"
    resource_type = "aws.rds.db_snapshot"
    title = "Remove public (all) restore permission from the RDS snapshot"
    permissions = ("rds:DescribeDBSnapshotAttributes", "rds:ModifyDBSnapshotAttribute")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        snapshot = resource.properties.get("DBSnapshotIdentifier") or resource.id.rsplit(":", 1)[-1]
        answer = client("rds", resource.region).describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot)
        attributes = answer["DBSnapshotAttributesResult"].get("DBSnapshotAttributes", [])
        restore = next((a.get("AttributeValues", []) for a in attributes if a.get("AttributeName") == "restore"), [])
        public = "all" in restore
        calls: tuple[ApiCall, ...] = ()
        if public:
            calls = (ApiCall("rds", "modify_db_snapshot_attribute",
                             {"DBSnapshotIdentifier": snapshot, "AttributeName": "restore", "ValuesToRemove": ["all"]},
                             resource.region),)
        return _plan(self, resource, f"Make RDS snapshot {snapshot} private", calls, {"public": public},
                     {"public": False})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if not undo["before"]["public"]:
            return ()
        snapshot = plan.resource_id.rsplit(":", 1)[-1]
        return (ApiCall("rds", "modify_db_snapshot_attribute",
                        {"DBSnapshotIdentifier": snapshot, "AttributeName": "restore", "ValuesToAdd": ["all"]},
                        plan.region),)


@action
class DisableDbPublicAccess(RemediationAction):
    name = "aws.rds.disable_public_access"
    resource_type = "aws.rds.db_instance"
    title = "Turn off public accessibility of the RDS instance (applied immediately)"
    permissions = ("rds:DescribeDBInstances", "rds:ModifyDBInstance")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        identifier = resource.properties.get("DBInstanceIdentifier") or resource.id.rsplit(":", 1)[-1]
        instance = client("rds", resource.region).describe_db_instances(DBInstanceIdentifier=identifier)
        public = bool(instance["DBInstances"][0].get("PubliclyAccessible"))
        calls: tuple[ApiCall, ...] = ()
        if public:
            calls = (ApiCall("rds", "modify_db_instance",
                             {"DBInstanceIdentifier": identifier, "PubliclyAccessible": False,
                              "ApplyImmediately": True}, resource.region),)
        return _plan(self, resource, f"Make RDS instance {identifier} private", calls,
                     {"PubliclyAccessible": public}, {"PubliclyAccessible": False})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if not undo["before"]["PubliclyAccessible"]:
            return ()
        identifier = plan.resource_id.rsplit(":", 1)[-1]
        return (ApiCall("rds", "modify_db_instance",
                        {"DBInstanceIdentifier": identifier, "PubliclyAccessible": True, "ApplyImmediately": True},
                        plan.region),)
