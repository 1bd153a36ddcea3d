"""AWS Config recorder collector and rule (CIS 3.3) against moto, one region per case."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from skywarden.rules.model import Outcome
from skywarden.scanners.model import Inventory
from tests.support.aws import ACCOUNT, outcomes, pack_rules, scan_inventory

RULE = "aws-config-recorder-enabled"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-config"
# us-east-1: records everything and is on; eu-west-1: records everything but stopped; eu-central-1: on, but
# without global resource types; us-west-2: no recorder at all.
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2")


def _recorder(region: str, include_global: bool, start: bool) -> None:
    config = boto3.client("config", region_name=region)
    group = {"allSupported": True, "includeGlobalResourceTypes": include_global}
    config.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": ROLE, "recordingGroup": group}
    )
    if start:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "acme-config-bucket"})
        config.start_configuration_recorder(ConfigurationRecorderName="default")


@pytest.fixture(scope="module")
def inventory() -> Iterator[Inventory]:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-config-bucket")
        _recorder("us-east-1", include_global=True, start=True)
        _recorder("eu-west-1", include_global=True, start=False)
        _recorder("eu-central-1", include_global=False, start=True)
        yield scan_inventory(regions=REGIONS, resource_types=["aws.config.recorder"])


def _id(region: str) -> str:
    return f"arn:aws:config:{region}:{ACCOUNT}:recorders"


@pytest.fixture(scope="module")
def results(inventory: Inventory) -> dict[tuple[str, str], Outcome]:
    return outcomes(pack_rules("aws/config.yaml"), inventory.resources)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", Outcome.PASS),
        ("eu-west-1", Outcome.FAIL),
        ("eu-central-1", Outcome.FAIL),
        ("us-west-2", Outcome.FAIL),
    ],
)
def test_rule(results: dict[tuple[str, str], Outcome], region: str, expected: Outcome) -> None:
    assert results[(RULE, _id(region))] is expected


def test_collection(inventory: Inventory) -> None:
    assert [unit.status for unit in inventory.coverage] == ["ok"] * len(REGIONS)
    by_id = {r.id: r.properties for r in inventory.resources}
    assert by_id[_id("us-east-1")]["recording"] is True
    assert by_id[_id("us-east-1")]["recorders"][0]["status"]["recording"] is True
    assert by_id[_id("eu-west-1")]["records_everything"] is True and by_id[_id("eu-west-1")]["recording"] is False
    assert by_id[_id("eu-central-1")]["records_everything"] is False
    assert by_id[_id("us-west-2")] == {"recorders": [], "records_everything": False, "recording": False}
