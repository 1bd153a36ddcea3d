"""KMS collector and the key rotation rule (CIS 3.6) against moto in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from rules.model import Outcome
from scanners.aws.scan import collect_aws
from scanners.aws.session import AccountSpec, resolve_targets
from scanners.model import Inventory
from tests.support.aws import outcomes, pack_rules

RULE = "aws-kms-key-rotation-enabled"


class Keys:
    def __init__(self) -> None:
        self.arns: dict[str, str] = {}
        self.inventory = Inventory(provider="aws")


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    result = Keys()
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")

        def create(name: str, **kwargs: Any) -> str:
            meta = kms.create_key(Description=name, **kwargs)["KeyMetadata"]
            result.arns[name] = meta["Arn"]
            return str(meta["KeyId"])

        kms.enable_key_rotation(KeyId=create("rotating"))
        create("not-rotating")
        create("asymmetric", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
        kms.disable_key(KeyId=create("disabled"))
        create("imported", Origin="EXTERNAL")
        denied_id = create("denied")

        def deny_describe(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            # moto enforces no key policies: answer as a key policy excluding the scanner would.
            if denied_id in str(params.get("body")):
                error = {"Code": "AccessDeniedException", "Message": "denied by the test"}
                return AWSResponse("https://kms", 400, {}, None), {"Error": error, "ResponseMetadata": {}}
            return None

        session = boto3.Session(region_name="us-east-1")
        session.events.register("before-call.kms.DescribeKey", deny_describe)
        targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
        result.inventory = collect_aws(targets, regions=["us-east-1"], resource_types=["aws.kms.key"])
        yield result


@pytest.fixture(scope="module")
def results(keys: Keys) -> dict[tuple[str, str], Outcome]:
    return outcomes(pack_rules("aws/kms.yaml"), keys.inventory.resources)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("rotating", Outcome.PASS),
        ("not-rotating", Outcome.FAIL),
        ("asymmetric", Outcome.NOT_APPLICABLE),
        ("disabled", Outcome.NOT_APPLICABLE),
        ("imported", Outcome.NOT_APPLICABLE),
        ("denied", Outcome.ERROR),
    ],
)
def test_rotation_rule(keys: Keys, results: dict[tuple[str, str], Outcome], key: str, expected: Outcome) -> None:
    assert results[(RULE, keys.arns[key])] is expected


def test_collection(keys: Keys) -> None:
    assert [unit.status for unit in keys.inventory.coverage] == ["ok"]
    by_arn = {r.id: r for r in keys.inventory.resources}
    assert set(by_arn) == set(keys.arns.values())
    assert by_arn[keys.arns["rotating"]].properties["rotation_enabled"] is True
    assert by_arn[keys.arns["not-rotating"]].properties["rotation_enabled"] is False
    # Rotation is not asked about for keys AWS cannot rotate, so nothing errors there.
    imported = by_arn[keys.arns["imported"]].properties
    assert imported["rotation_enabled"] is None and "_errors" not in imported
    denied = by_arn[keys.arns["denied"]].properties
    assert denied["_errors"]["KeyMetadata"] == "AccessDenied"
