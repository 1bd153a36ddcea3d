"""S3 remediations: block public access, default encryption, versioning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))


def _bucket(resource: Any) -> tuple[str, str]:
    return resource.name, resource.region


def _plan(action_: RemediationAction, resource: Any, summary: str, calls: tuple[ApiCall, ...],
          before: Mapping[str, Any], after: Mapping[str, Any]) -> Plan:
    return Plan(action_.name, resource.id, resource.type, resource.account_id, resource.region, summary,
                calls, dict(before), dict(after))


def _block_plan(action_: RemediationAction, resource: Any, client: ClientFactory, service: str,
                target: Mapping[str, str], region: str | None, summary: str) -> Plan:
    """Block Public Access is the same four settings on a bucket (s3) and on an account (s3control): read them,
    and plan one put unless all four are already on."""
    try:
        current = client(service, region).get_public_access_block(**target)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        current = None
    calls: tuple[ApiCall, ...] = ()
    if current != ALL_BLOCKED:
        calls = (ApiCall(service, "put_public_access_block",
                         {**target, "PublicAccessBlockConfiguration": dict(ALL_BLOCKED)}, region),)
    return _plan(action_, resource, summary, calls,
                 {"PublicAccessBlockConfiguration": current}, {"PublicAccessBlockConfiguration": ALL_BLOCKED})


def _block_undo(service: str, target: Mapping[str, str], region: str | None,
                undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
    """Restore the settings recorded before the fix; none recorded means there was no configuration at all."""
    previous = undo["before"]["PublicAccessBlockConfiguration"]
    if previous is None:
        return (ApiCall(service, "delete_public_access_block", dict(target), region),)
    return (ApiCall(service, "put_public_access_block", {**target, "PublicAccessBlockConfiguration": previous},
                    region),)


@action
class BlockPublicAccess(RemediationAction):
    name = "aws.s3.block_public_access"
    resource_type = "aws.s3.bucket"
    title = "Turn on all four Block Public Access settings of the bucket"
    permissions = ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        bucket, region = _bucket(resource)
        return _block_plan(self, resource, client, "s3", {"Bucket": bucket}, region,
                           f"Block all public access to bucket {bucket}")

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        return _block_undo("s3", {"Bucket": plan.resource_id.split(":::", 1)[1]}, plan.region, undo)


@action
class EnableDefaultEncryption(RemediationAction):
    name = "aws.s3.enable_default_encryption"
    resource_type = "aws.s3.bucket"
    title = "Set SSE-S3 (AES256) default encryption on the bucket"
    permissions = ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration")
    CONFIG = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        bucket, region = _bucket(resource)
        try:
            current = client("s3", region).get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        except ClientError as exc:
            if _code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            current = None
        calls: tuple[ApiCall, ...] = ()
        if not current or not current.get("Rules"):
            calls = (ApiCall("s3", "put_bucket_encryption",
                             {"Bucket": bucket, "ServerSideEncryptionConfiguration": self.CONFIG}, region),)
        return _plan(self, resource, f"Encrypt new objects in {bucket} with SSE-S3 by default", calls,
                     {"ServerSideEncryptionConfiguration": current},
                     {"ServerSideEncryptionConfiguration": current if not calls else self.CONFIG})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        bucket = plan.resource_id.split(":::", 1)[1]
        previous = undo["before"]["ServerSideEncryptionConfiguration"]
        if not previous:
            return (ApiCall("s3", "delete_bucket_encryption", {"Bucket": bucket}, plan.region),)
        return (ApiCall("s3", "put_bucket_encryption",
                        {"Bucket": bucket, "ServerSideEncryptionConfiguration": previous}, plan.region),)


@action
class EnableVersioning(RemediationAction):
    name = "aws.s3.enable_versioning"
    resource_type = "aws.s3.bucket"
    title = "Enable versioning on the bucket"
    permissions = ("s3:GetBucketVersioning", "s3:PutBucketVersioning")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        bucket, region = _bucket(resource)
        status = client("s3", region).get_bucket_versioning(Bucket=bucket).get("Status")
        calls: tuple[ApiCall, ...] = ()
        if status != "Enabled":
            calls = (ApiCall("s3", "put_bucket_versioning",
                             {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}}, region),)
        return _plan(self, resource, f"Enable versioning on {bucket}", calls,
                     {"Status": status}, {"Status": "Enabled"})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        # A bucket can never return to "never versioned"; Suspended is the closest previous state.
        bucket = plan.resource_id.split(":::", 1)[1]
        if undo["before"]["Status"] == "Enabled":
            return ()
        return (ApiCall("s3", "put_bucket_versioning",
                        {"Bucket": bucket, "VersioningConfiguration": {"Status": "Suspended"}}, plan.region),)


@action
class BlockPublicAccessAccount(RemediationAction):
    name = "aws.s3.block_public_access_account"
    resource_type = "aws.s3.account_public_access_block"
    title = "Turn on all four Block Public Access settings for the whole account (every bucket)"
    permissions = ("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        account = resource.account_id
        # S3 Control is a global endpoint: no region (the client factory picks one to sign with).
        return _block_plan(self, resource, client, "s3control", {"AccountId": account}, None,
                           f"Block all public access to every bucket of account {account}")

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        return _block_undo("s3control", {"AccountId": plan.account_id}, None, undo)
