"""Full paging: no AWS collector calls a paginated list/describe operation directly (it would read page 1 only)."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest

import skywarden.scanners.aws as aws_package

SERVICES = (
    "accessanalyzer", "cloudtrail", "cloudwatch", "config", "ec2", "efs", "iam", "kms", "logs", "rds", "s3",
    "s3control", "securityhub", "sns", "sts",
)
CALL = re.compile(r"\.((?:list|describe|get|lookup|search)_[a-z0-9_]+)\(")


def _paginated(client: object, operation: str) -> bool:
    try:
        return bool(client.can_paginate(operation))  # type: ignore[attr-defined]
    except KeyError:  # not an operation of this service
        return False


@pytest.fixture(scope="module")
def clients() -> list:
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return [session.client(name) for name in SERVICES]  # no request is made: only the models are read


def test_every_paginated_operation_goes_through_a_paginator(clients: list) -> None:
    direct: list[str] = []
    for path in sorted(Path(aws_package.__path__[0]).glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for operation in CALL.findall(line):
                if any(_paginated(client, operation) for client in clients):
                    direct.append(f"{path.name}:{number} {operation}")
    assert direct == []


def test_the_scan_uses_paginators_for_the_listings_it_pages(clients: list) -> None:
    # The check above must be able to fail: these listings are paginated in the real API.
    ec2 = next(c for c in clients if c.meta.service_model.service_name == "ec2")
    kms = next(c for c in clients if c.meta.service_model.service_name == "kms")
    assert ec2.can_paginate("describe_snapshots") and kms.can_paginate("list_aliases")
    assert CALL.findall("kms.list_aliases(KeyId=k)") == ["list_aliases"]
