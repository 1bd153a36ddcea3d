"""RDS and EFS collectors and rule packs against moto in-process: one moto session, seeded once, scanned once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import skywarden.scanners.aws as aws_package

# moto's RDS backend starts the EC2 one (for default VPCs and security groups), which loads ~1,300 AMIs unless
# pointed at a one-AMI file; must be set before that first happens in this process.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(aws_package.__file__).parent / "demo_amis.json"))

import boto3  # noqa: E402
import pytest  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from moto import mock_aws  # noqa: E402

from skywarden.rules.model import Outcome, Rule  # noqa: E402
from skywarden.scanners.aws.scan import collect_aws  # noqa: E402
from skywarden.scanners.aws.session import AccountSpec, resolve_targets  # noqa: E402
from skywarden.scanners.model import Inventory, Resource  # noqa: E402
from tests.support.aws import ACCOUNT, outcomes, pack_rules  # noqa: E402

PASS, FAIL, ERROR = Outcome.PASS, Outcome.FAIL, Outcome.ERROR
REGION = "us-east-1"
TYPES = ["aws.rds.db_instance", "aws.rds.db_snapshot", "aws.efs.file_system"]
PACKS = ("aws/rds.yaml", "aws/efs.yaml")


def _seed_rds(rds: Any) -> None:
    common = {
        "Engine": "postgres",
        "DBInstanceClass": "db.t3.micro",
        "MasterUsername": "admin",
        "MasterUserPassword": "not-a-real-password",
        "AllocatedStorage": 20,
    }
    rds.create_db_instance(
        DBInstanceIdentifier="bad-db",
        PubliclyAccessible=True,
        StorageEncrypted=False,
        AutoMinorVersionUpgrade=False,
        BackupRetentionPeriod=1,
        **common,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="good-db",
        PubliclyAccessible=False,
        StorageEncrypted=True,
        AutoMinorVersionUpgrade=True,
        BackupRetentionPeriod=14,
        MultiAZ=True,
        DeletionProtection=True,
        **common,
    )
    for name in ("public-db-snap", "private-db-snap", "shared-db-snap", "denied-db-snap"):
        rds.create_db_snapshot(DBInstanceIdentifier="good-db", DBSnapshotIdentifier=name)
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="public-db-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="shared-db-snap", AttributeName="restore", ValuesToAdd=["111122223333"]
    )


def _seed_efs(efs: Any) -> None:
    efs.create_file_system(CreationToken="plain", Tags=[{"Key": "Name", "Value": "plain-fs"}])
    efs.create_file_system(CreationToken="enc", Encrypted=True, Tags=[{"Key": "Name", "Value": "encrypted-fs"}])


def _deny_one_snapshot(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    # moto enforces no IAM: answer one snapshot's attribute call as a real AccessDenied would.
    if params["body"].get("DBSnapshotIdentifier") != "denied-db-snap":
        return None
    http = AWSResponse(f"https://rds.{REGION}.amazonaws.com", 403, {}, None)
    error = {"Code": "AccessDenied", "Message": "AccessDenied (injected by the test)"}
    return http, {"Error": error, "ResponseMetadata": {}}


def _scan() -> Inventory:
    session = boto3.Session(region_name=REGION)
    session.events.register("before-call.rds.DescribeDBSnapshotAttributes", _deny_one_snapshot)
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    return collect_aws(targets, regions=[REGION], resource_types=TYPES, max_workers=4)


@pytest.fixture(scope="module")
def inventory() -> Iterator[Inventory]:
    with mock_aws():
        _seed_rds(boto3.client("rds", region_name=REGION))
        _seed_efs(boto3.client("efs", region_name=REGION))
        yield _scan()


def _named(inventory: Inventory, resource_type: str, name: str) -> Resource:
    return next(r for r in inventory.resources if r.type == resource_type and r.name == name)


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return pack_rules(*PACKS)


@pytest.fixture(scope="module")
def results(inventory: Inventory, rules: list[Rule]) -> dict[tuple[str, str, str], Outcome]:
    found = outcomes(rules, inventory.resources)
    names = {r.id: (r.type, r.name) for r in inventory.resources}
    return {(rule, *names[resource]): outcome for (rule, resource), outcome in found.items()}


DB, SNAP, FS = "aws.rds.db_instance", "aws.rds.db_snapshot", "aws.efs.file_system"
EXPECTED = [
    # (rule, resource type, name, outcome)
    ("aws-rds-instance-storage-encrypted", DB, "bad-db", FAIL),
    ("aws-rds-instance-storage-encrypted", DB, "good-db", PASS),
    ("aws-rds-instance-auto-minor-version-upgrade", DB, "bad-db", FAIL),
    ("aws-rds-instance-auto-minor-version-upgrade", DB, "good-db", PASS),
    ("aws-rds-instance-not-public", DB, "bad-db", FAIL),
    ("aws-rds-instance-not-public", DB, "good-db", PASS),
    ("aws-rds-instance-backups-enabled", DB, "bad-db", FAIL),
    ("aws-rds-instance-backups-enabled", DB, "good-db", PASS),
    ("aws-rds-snapshot-not-public", SNAP, "public-db-snap", FAIL),
    ("aws-rds-snapshot-not-public", SNAP, "private-db-snap", PASS),
    ("aws-rds-snapshot-not-public", SNAP, "shared-db-snap", PASS),
    ("aws-rds-snapshot-not-public", SNAP, "denied-db-snap", ERROR),
    ("aws-efs-file-system-encrypted", FS, "plain-fs", FAIL),
    ("aws-efs-file-system-encrypted", FS, "encrypted-fs", PASS),
]


@pytest.mark.parametrize(("rule_id", "kind", "name", "expected"), EXPECTED, ids=[f"{r}-{n}" for r, _, n, _ in EXPECTED])
def test_rule_outcome(
    results: dict[tuple[str, str, str], Outcome], rule_id: str, kind: str, name: str, expected: Outcome
):
    assert results[(rule_id, kind, name)] is expected


def test_every_rule_has_a_pass_and_a_fail_case(rules: list[Rule]):
    for outcome in (PASS, FAIL):
        assert {r.id for r in rules} == {rule for rule, _, _, expected in EXPECTED if expected is outcome}


def test_collection_complete(inventory: Inventory):
    assert inventory.gaps == []
    assert sorted(r.name for r in inventory.resources if r.type == DB) == ["bad-db", "good-db"]


def test_db_instance_properties(inventory: Inventory):
    good = _named(inventory, DB, "good-db")
    assert good.id == f"arn:aws:rds:{REGION}:{ACCOUNT}:db:good-db"
    assert good.region == REGION
    props = good.properties
    assert (props["MultiAZ"], props["DeletionProtection"], props["BackupRetentionPeriod"]) == (True, True, 14)
    assert "TagList" not in props


def test_snapshot_restore_principals(inventory: Inventory):
    shared = _named(inventory, SNAP, "shared-db-snap").properties
    assert (shared["restore_principals"], shared["is_public"]) == (["111122223333"], False)
    public = _named(inventory, SNAP, "public-db-snap").properties
    assert public["is_public"] is True
    denied = _named(inventory, SNAP, "denied-db-snap").properties
    assert denied["_errors"] == {"restore_principals": "AccessDenied", "is_public": "AccessDenied"}
    assert denied["is_public"] is None


def test_file_system_identity(inventory: Inventory):
    fs = _named(inventory, FS, "encrypted-fs")
    assert fs.id.startswith(f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-")
    assert fs.tags == {"Name": "encrypted-fs"}
    assert "Tags" not in fs.properties
