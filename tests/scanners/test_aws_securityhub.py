"""Security Hub collector and rule (CIS 4.16) against moto: enabled in one region, not in another."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from skywarden.rules.model import Outcome
from skywarden.scanners.model import Inventory
from tests.support.aws import ACCOUNT, outcomes, pack_rules, scan_inventory

RULE = "aws-securityhub-enabled"
ENABLED = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default"
DISABLED = f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:hub/default"


@pytest.fixture(scope="module")
def inventory() -> Iterator[Inventory]:
    with mock_aws():
        boto3.client("securityhub", region_name="us-east-1").enable_security_hub(EnableDefaultStandards=False)
        yield scan_inventory(regions=("us-east-1", "eu-west-1"), resource_types=["aws.securityhub.hub"])


@pytest.fixture(scope="module")
def results(inventory: Inventory) -> dict[tuple[str, str], Outcome]:
    return outcomes(pack_rules("aws/securityhub.yaml"), inventory.resources)


@pytest.mark.parametrize(("hub", "expected"), [(ENABLED, Outcome.PASS), (DISABLED, Outcome.FAIL)])
def test_rule(results: dict[tuple[str, str], Outcome], hub: str, expected: Outcome) -> None:
    assert results[(RULE, hub)] is expected


def test_not_subscribed_is_a_fact_not_a_coverage_failure(inventory: Inventory) -> None:
    assert sorted(unit.status for unit in inventory.coverage) == ["ok", "ok"]
    by_id = {r.id: r for r in inventory.resources}
    assert by_id[DISABLED].properties == {"enabled": False}
    assert by_id[ENABLED].properties["enabled"] is True
    assert by_id[ENABLED].properties["HubArn"] == ENABLED
