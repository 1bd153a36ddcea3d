"""Every AWS remediation action against moto: the plan, a real change read back with boto3, verification by
re-collecting and re-evaluating, a no-op second plan, and an undo that restores the previous state exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from freezegun import freeze_time
from moto import mock_aws

from skywarden.rules.loader import load_rules
from skywarden.rules.model import Outcome
from skywarden.rules.remediation.base import ACTIONS, load_actions
from tests.support.aws import ACCOUNT, outcomes, scan_inventory

REGION = "us-east-1"


@pytest.fixture(scope="module")
def aws():
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def factory(session: boto3.Session) -> Callable[[str, str | None], Any]:
    def client(service: str, region: str | None) -> Any:
        return session.client(service, region_name=region or REGION)

    return client


def collect(resource_type: str, resource_id: str):
    inventory = scan_inventory(regions=(REGION,), resource_types=[resource_type])
    assert not inventory.gaps, inventory.gaps
    found = [r for r in inventory.resources if r.id == resource_id]
    assert found, f"{resource_id} not collected"
    return found[0]


def rule_outcomes(rules, action_name: str, resource) -> set[Outcome]:
    fixing = [r for r in rules if r.remediation_action == action_name and r.resource_type == resource.type]
    assert fixing, f"no rule names {action_name}"
    return set(outcomes(fixing, [resource]).values())


@dataclass
class Case:
    action: str
    resource_type: str
    seed: Callable[[boto3.Session], str]  # makes a failing resource, returns its id
    read: Callable[[boto3.Session, str], Any]  # reads back the settings the action touches


def _s3(session):
    return session.client("s3", region_name=REGION)


def seed_public_bucket(session):
    _s3(session).create_bucket(Bucket="rem-public", ACL="public-read")
    return "arn:aws:s3:::rem-public"


def read_block(session, rid):
    try:
        return _s3(session).get_public_access_block(Bucket=rid.split(":::")[1])["PublicAccessBlockConfiguration"]
    except _s3(session).exceptions.ClientError:
        return None


def seed_partial_account_block(session):
    # Only one flag on: the account rule fails, and undo must restore exactly this partial configuration.
    config = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
              "RestrictPublicBuckets": False}
    session.client("s3control", region_name=REGION).put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration=config)
    return f"arn:aws:s3::{ACCOUNT}:account-public-access-block"


def read_account_block(session, rid):
    control = session.client("s3control", region_name=REGION)
    try:
        return control.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    except control.exceptions.ClientError:
        return None


def seed_plain_bucket(name):
    def seed(session):
        _s3(session).create_bucket(Bucket=name)
        return f"arn:aws:s3:::{name}"

    return seed


def read_encryption(session, rid):
    try:
        return _s3(session).get_bucket_encryption(Bucket=rid.split(":::")[1])["ServerSideEncryptionConfiguration"]
    except _s3(session).exceptions.ClientError:
        return None


def read_versioning(session, rid):
    return _s3(session).get_bucket_versioning(Bucket=rid.split(":::")[1]).get("Status")


def _ec2(session):
    return session.client("ec2", region_name=REGION)


def seed_open_sg(session, name="rem-bastion"):
    ec2 = _ec2(session)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName=name, Description="bastion", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ])
    account = session.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:ec2:{REGION}:{account}:security-group/{group}"


def read_ingress(session, rid):
    group = _ec2(session).describe_security_groups(GroupIds=[rid.rsplit("/", 1)[1]])["SecurityGroups"][0]
    return sorted(
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), tuple(sorted(r["CidrIp"] for r in p.get("IpRanges", []))),
         tuple(sorted(r["CidrIpv6"] for r in p.get("Ipv6Ranges", []))))
        for p in group["IpPermissions"]
    )


def seed_ebs_default_off(session):
    _ec2(session).disable_ebs_encryption_by_default()
    account = session.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:ec2:{REGION}:{account}:regional-settings"


def read_ebs_default(session, rid):
    return _ec2(session).get_ebs_encryption_by_default()["EbsEncryptionByDefault"]


def seed_public_snapshot(session):
    ec2 = _ec2(session)
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add",
                                  GroupNames=["all"])
    return f"arn:aws:ec2:{REGION}::snapshot/{snapshot}"


def read_snapshot_public(session, rid):
    answer = _ec2(session).describe_snapshot_attribute(SnapshotId=rid.rsplit("/", 1)[1],
                                                       Attribute="createVolumePermission")
    return [p.get("Group") for p in answer["CreateVolumePermissions"]]


def seed_unrotated_key(session):
    return session.client("kms", region_name=REGION).create_key(Description="rem")["KeyMetadata"]["Arn"]


def read_rotation(session, rid):
    return session.client("kms", region_name=REGION).get_key_rotation_status(KeyId=rid)["KeyRotationEnabled"]


def seed_weak_password_policy(session):
    session.client("iam").update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=True)
    account = session.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:iam::{account}:password-policy"


def read_password_policy(session, rid):
    policy = session.client("iam").get_account_password_policy()["PasswordPolicy"]
    return {k: policy.get(k) for k in ("MinimumPasswordLength", "PasswordReusePrevention", "RequireSymbols")}


def seed_stale_key_user(session):
    iam = session.client("iam")
    user = iam.create_user(UserName="rem-stale")["User"]
    with freeze_time(datetime.now(UTC) - timedelta(days=200)):
        iam.create_access_key(UserName="rem-stale")
    return user["Arn"]


def read_key_status(session, rid):
    return [k["Status"] for k in session.client("iam").list_access_keys(UserName="rem-stale")["AccessKeyMetadata"]]


def _rds(session):
    return session.client("rds", region_name=REGION)


def seed_public_db(session):
    db = _rds(session).create_db_instance(
        DBInstanceIdentifier="rem-db", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="admin",
        MasterUserPassword="password123", AllocatedStorage=20, PubliclyAccessible=True)["DBInstance"]
    return db["DBInstanceArn"]


def read_db_public(session, rid):
    return _rds(session).describe_db_instances(DBInstanceIdentifier="rem-db")["DBInstances"][0]["PubliclyAccessible"]


def seed_public_db_snapshot(session):
    rds = _rds(session)
    rds.create_db_instance(DBInstanceIdentifier="rem-snapdb", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20)
    snap = rds.create_db_snapshot(DBInstanceIdentifier="rem-snapdb", DBSnapshotIdentifier="rem-snap")["DBSnapshot"]
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="rem-snap", AttributeName="restore", ValuesToAdd=["all"])
    return snap["DBSnapshotArn"]


def read_db_snapshot_restore(session, rid):
    attrs = _rds(session).describe_db_snapshot_attributes(DBSnapshotIdentifier="rem-snap")
    return [a.get("AttributeValues", []) for a in attrs["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
            if a["AttributeName"] == "restore"]


CASES = [
    Case("aws.s3.block_public_access", "aws.s3.bucket", seed_public_bucket, read_block),
    Case("aws.s3.block_public_access_account", "aws.s3.account_public_access_block", seed_partial_account_block,
         read_account_block),
    Case("aws.s3.enable_default_encryption", "aws.s3.bucket", seed_plain_bucket("rem-plain"), read_encryption),
    Case("aws.s3.enable_versioning", "aws.s3.bucket", seed_plain_bucket("rem-unversioned"), read_versioning),
    Case("aws.ec2.revoke_admin_port_ingress", "aws.ec2.security_group", seed_open_sg, read_ingress),
    Case("aws.ec2.enable_ebs_default_encryption", "aws.ec2.regional_settings", seed_ebs_default_off, read_ebs_default),
    Case("aws.ec2.make_snapshot_private", "aws.ec2.snapshot", seed_public_snapshot, read_snapshot_public),
    Case("aws.kms.enable_key_rotation", "aws.kms.key", seed_unrotated_key, read_rotation),
    Case("aws.iam.set_cis_password_policy", "aws.iam.password_policy", seed_weak_password_policy, read_password_policy),
    Case("aws.iam.deactivate_unused_access_keys", "aws.iam.user", seed_stale_key_user, read_key_status),
    Case("aws.rds.disable_public_access", "aws.rds.db_instance", seed_public_db, read_db_public),
    Case("aws.rds.make_snapshot_private", "aws.rds.db_snapshot", seed_public_db_snapshot, read_db_snapshot_restore),
]


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
def test_plan_apply_verify_undo(aws, rules, case):
    load_actions()
    action = ACTIONS.get(case.action)
    client = factory(aws)
    resource_id = case.seed(aws)
    before = case.read(aws, resource_id)
    resource = collect(case.resource_type, resource_id)
    assert Outcome.FAIL in rule_outcomes(rules, case.action, resource)

    plan = action.plan(resource, client)
    assert plan.calls and plan.before != plan.after and plan.summary
    assert plan.to_dict()["calls"][0]["operation"] == plan.calls[0].operation
    result = action.apply(plan, client)
    assert result.ok, result.error
    assert all(record.ok for record in result.records)
    after = case.read(aws, resource_id)
    assert after != before  # the real resource changed

    fixed = collect(case.resource_type, resource_id)
    assert rule_outcomes(rules, case.action, fixed) <= {Outcome.PASS, Outcome.NOT_APPLICABLE}
    assert action.plan(fixed, client).noop

    undone = action.undo(plan, result.undo, client)
    assert undone.ok, undone.error
    restored = case.read(aws, resource_id)
    if case.action == "aws.s3.enable_versioning":
        assert restored == "Suspended"  # S3 cannot return a bucket to "never versioned"
    else:
        assert restored == before


def test_revoke_touches_only_world_open_admin_permissions(aws):
    load_actions()
    resource_id = seed_open_sg(aws, "rem-mixed")
    group_id = resource_id.rsplit("/", 1)[1]
    resource = collect("aws.ec2.security_group", resource_id)
    plan = ACTIONS.get("aws.ec2.revoke_admin_port_ingress").plan(resource, factory(aws))
    ACTIONS.get("aws.ec2.revoke_admin_port_ingress").apply(plan, factory(aws))
    remaining = read_ingress(aws, f"x/{group_id}")
    assert ("tcp", 22, 22, ("10.0.0.0/8",), ()) in remaining
    assert ("tcp", 443, 443, ("0.0.0.0/0",), ()) in remaining
    assert all(entry[1] != 3389 for entry in remaining)


def test_every_action_declares_its_contract():
    load_actions()
    names = {r.remediation_action for r in load_rules() if r.remediation_action}
    assert names <= set(ACTIONS), names - set(ACTIONS)
    for name, action in ACTIONS.items():
        assert action.permissions and action.title and action.resource_type, name
