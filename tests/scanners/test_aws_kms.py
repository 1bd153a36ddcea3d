"""KMS collector and the key rotation rule (CIS 3.6) against moto in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from skywarden.rules.model import Outcome
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets
from skywarden.scanners.model import Inventory
from tests.support.aws import outcomes, pack_rules

RULE = "aws-kms-key-rotation-enabled"


class Keys:
    def __init__(self) -> None:
        self.arns: dict[str, str] = {}
        self.inventory = Inventory(provider="aws")
        self.tag_calls: list[str] = []
        self.alias_calls: list[Any] = []


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

        pending = create("pending-deletion")
        kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
        managed_id = create("aws-managed")
        rotating_id = kms.describe_key(KeyId=result.arns["rotating"])["KeyMetadata"]["KeyId"]
        plain_id = kms.describe_key(KeyId=result.arns["not-rotating"])["KeyMetadata"]["KeyId"]

        def aws_managed(parsed: dict[str, Any], **_: Any) -> None:
            # moto only makes AWS managed keys on first use by a service; mark one key as AWS would show it.
            if parsed.get("KeyMetadata", {}).get("KeyId") == managed_id:
                parsed["KeyMetadata"]["KeyManager"] = "AWS"

        def count_tags(params: dict[str, Any], **_: Any) -> None:
            result.tag_calls.append(str(params.get("body")))

        def paged_aliases(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            # ListAliases as the real API pages it: Truncated + NextMarker, then the Marker sent back.
            body = params.get("body")
            result.alias_calls.append(body)
            http = AWSResponse("https://kms", 200, {}, None)
            if "page-2" not in str(body):
                arn = "arn:aws:kms:us-east-1:123456789012:alias/rotating"
                first = [{"AliasName": "alias/rotating", "AliasArn": arn, "TargetKeyId": rotating_id},
                         {"AliasName": "alias/orphan"}]
                return http, {"Aliases": first, "NextMarker": "page-2", "Truncated": True, "ResponseMetadata": {}}
            second = [{"AliasName": "alias/b-plain", "TargetKeyId": plain_id},
                      {"AliasName": "alias/a-plain", "TargetKeyId": plain_id}]
            return http, {"Aliases": second, "Truncated": False, "ResponseMetadata": {}}

        session = boto3.Session(region_name="us-east-1")
        session.events.register("before-call.kms.DescribeKey", deny_describe)
        session.events.register("after-call.kms.DescribeKey", aws_managed)
        session.events.register("before-call.kms.ListResourceTags", count_tags)
        session.events.register("before-call.kms.ListAliases", paged_aliases)
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
        ("pending-deletion", Outcome.NOT_APPLICABLE),
        ("aws-managed", Outcome.NOT_APPLICABLE),
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


def test_aliases_come_from_one_fully_paged_listing_per_region(keys: Keys) -> None:
    by_arn = {r.id: r for r in keys.inventory.resources}
    assert len(keys.alias_calls) == 2  # both pages, and no per-key ListAliases
    assert by_arn[keys.arns["rotating"]].properties["aliases"] == ["alias/rotating"]
    assert by_arn[keys.arns["not-rotating"]].properties["aliases"] == ["alias/a-plain", "alias/b-plain"]
    assert by_arn[keys.arns["not-rotating"]].name == "alias/a-plain"
    assert by_arn[keys.arns["disabled"]].properties["aliases"] == []


def test_aws_managed_keys_are_not_asked_for_tags(keys: Keys) -> None:
    by_arn = {r.id: r for r in keys.inventory.resources}
    managed = by_arn[keys.arns["aws-managed"]]
    assert managed.properties["KeyManager"] == "AWS" and managed.properties["customer_managed"] is False
    managed_id = managed.properties["KeyId"]
    assert not [body for body in keys.tag_calls if managed_id in body]
    assert len(keys.tag_calls) == len(keys.arns) - 2  # every key but the AWS managed and the unreadable one
