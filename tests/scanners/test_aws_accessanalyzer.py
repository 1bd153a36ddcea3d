"""IAM Access Analyzer collector and rule (CIS 1.20).

moto does not implement Access Analyzer at all, so the collector runs on botocore Stubber clients that
answer list_analyzers as the real service does, one region per case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from skywarden.rules.model import Outcome
from skywarden.scanners.aws.accessanalyzer import analyzers
from skywarden.scanners.aws.context import AwsAccountClients, AwsContext
from skywarden.scanners.model import Resource
from tests.support.aws import ACCOUNT, outcomes, pack_rules

RULE = "aws-accessanalyzer-enabled"


def _analyzer(name: str, type_: str, status: str, region: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/{name}",
        "name": name,
        "type": type_,
        "createdAt": datetime(2024, 1, 1, tzinfo=UTC),
        "status": status,
    }


# region -> the analyzers list_analyzers returns there, and the expected outcome.
CASES = {
    "us-east-1": ([_analyzer("external", "ACCOUNT", "ACTIVE", "us-east-1")], Outcome.PASS),
    "eu-west-1": ([_analyzer("org", "ORGANIZATION", "ACTIVE", "eu-west-1")], Outcome.PASS),
    "us-west-2": ([], Outcome.FAIL),
    "eu-central-1": ([_analyzer("unused", "ACCOUNT_UNUSED_ACCESS", "ACTIVE", "eu-central-1")], Outcome.FAIL),
    "ap-south-1": ([_analyzer("broken", "ACCOUNT", "FAILED", "ap-south-1")], Outcome.FAIL),
}


class StubbedClients(AwsAccountClients):
    """Account clients whose accessanalyzer clients are Stubber-backed, one per region."""

    def __init__(self) -> None:
        super().__init__(boto3.Session(region_name="us-east-1"), ACCOUNT, "test")
        self.stubbed: dict[str, Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "accessanalyzer", service
        return self.stubbed[region or self.default_region]


@pytest.fixture(scope="module")
def account() -> Iterator[StubbedClients]:
    clients = StubbedClients()
    stubbers = []
    for region, (found, _) in CASES.items():
        client = boto3.client("accessanalyzer", region_name=region)
        stubber = Stubber(client)
        stubber.add_response("list_analyzers", {"analyzers": found}, {})
        stubber.activate()
        stubbers.append(stubber)
        clients.stubbed[region] = client
    yield clients
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture(scope="module")
def resources(account: StubbedClients) -> dict[str, Resource]:
    return {region: next(iter(analyzers(AwsContext(account, region)))) for region in CASES}


@pytest.fixture(scope="module")
def results(resources: dict[str, Resource]) -> dict[tuple[str, str], Outcome]:
    return outcomes(pack_rules("aws/accessanalyzer.yaml"), resources.values())


@pytest.mark.parametrize("region", list(CASES))
def test_rule(resources: dict[str, Resource], results: dict[tuple[str, str], Outcome], region: str) -> None:
    resource = resources[region]
    assert resource.id == f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzers"
    assert results[(RULE, resource.id)] is CASES[region][1]


def test_properties(resources: dict[str, Resource]) -> None:
    unused = resources["eu-central-1"].properties
    assert unused["active"] is True and unused["active_external_access"] is False
    assert resources["us-east-1"].properties["analyzers"][0]["createdAt"] == "2024-01-01T00:00:00+00:00"
    assert resources["us-west-2"].properties == {"analyzers": [], "active": False, "active_external_access": False}


def test_access_denied_is_not_swallowed() -> None:
    clients = StubbedClients()
    client = boto3.client("accessanalyzer", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("list_analyzers", "AccessDeniedException", "denied", 403)
        clients.stubbed["us-east-1"] = client
        with pytest.raises(ClientError):
            list(analyzers(AwsContext(clients, "us-east-1")))
