"""S3 collector and rule pack against moto in-process: one moto session, a few scans of the same buckets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from skywarden.rules.model import Outcome
from skywarden.scanners.aws.s3 import denies_insecure_transport
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets
from skywarden.scanners.model import Inventory, Resource
from tests.support.aws import ACCOUNT, outcomes, pack_rules

ALL_FLAGS = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ARN = "arn:aws:s3:::{}"
ACCOUNT_BLOCK_ID = f"arn:aws:s3::{ACCOUNT}:account-public-access-block"
S3_TYPES = ["aws.s3.bucket", "aws.s3.account_public_access_block"]
PASS, FAIL, ERROR = Outcome.PASS, Outcome.FAIL, Outcome.ERROR


def _public_read_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
            ],
        }
    )


def _tls_only_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def _seed(s3: Any) -> None:
    # bad-bucket: public ACL and public policy, nothing else configured.
    s3.create_bucket(Bucket="bad-bucket")
    s3.put_bucket_acl(Bucket="bad-bucket", ACL="public-read")
    s3.put_bucket_policy(Bucket="bad-bucket", Policy=_public_read_policy("bad-bucket"))

    # good-bucket: everything configured; logs go to log-bucket.
    s3.create_bucket(Bucket="log-bucket")
    s3.put_bucket_acl(Bucket="log-bucket", ACL="log-delivery-write")
    s3.create_bucket(Bucket="good-bucket")
    s3.put_bucket_policy(Bucket="good-bucket", Policy=_tls_only_policy("good-bucket"))
    s3.put_public_access_block(Bucket="good-bucket", PublicAccessBlockConfiguration=ALL_FLAGS)
    s3.put_bucket_encryption(
        Bucket="good-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_bucket_versioning(Bucket="good-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket="good-bucket",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "log-bucket", "TargetPrefix": "good-bucket/"}},
    )
    s3.put_bucket_tagging(Bucket="good-bucket", Tagging={"TagSet": [{"Key": "owner", "Value": "data"}]})

    # Public grants neutralised by the flags AWS evaluates (IgnorePublicAcls, RestrictPublicBuckets).
    s3.create_bucket(Bucket="neutralised-bucket")
    s3.put_bucket_acl(Bucket="neutralised-bucket", ACL="public-read")
    s3.put_bucket_policy(Bucket="neutralised-bucket", Policy=_public_read_policy("neutralised-bucket"))
    s3.put_public_access_block(
        Bucket="neutralised-bucket",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )

    # denied-bucket: a policy that could be public, so AWS's verdict is asked for, and GetBucketPolicyStatus
    # answers AccessDenied (see _deny_policy_status).
    s3.create_bucket(Bucket="denied-bucket")
    s3.put_bucket_policy(Bucket="denied-bucket", Policy=_public_read_policy("denied-bucket"))

    eu = boto3.client("s3", region_name="eu-west-1")
    eu.create_bucket(Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def _error_response(code: str, status: int = 403) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse("https://s3.amazonaws.com", status, {}, None)
    return http, {"Error": {"Code": code, "Message": f"{code} (injected by the test)"}, "ResponseMetadata": {}}


def _deny_policy_status(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    # moto has no IAM enforcement for S3 by default: answer this one call as a real AccessDenied would.
    if "denied-bucket" in params["url"]:
        return _error_response("AccessDenied")
    return None


def _mfa_delete_on_good_bucket(parsed: dict[str, Any], params: Any = None, **kwargs: Any) -> None:
    # moto neither stores nor returns MFADelete; real S3 reports it in GetBucketVersioning for good-bucket.
    if kwargs["context"].get("skywarden_bucket") == "good-bucket" and parsed.get("Status") == "Enabled":
        parsed["MFADelete"] = "Enabled"


def _remember_bucket(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["skywarden_bucket"] = params.get("Bucket")


def _deny_s3control(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    return _error_response("AccessDenied")


def _scan(handlers: list[tuple[str, Callable[..., Any]]]) -> Inventory:
    session = boto3.Session(region_name="us-east-1")
    for event, handler in handlers:
        session.events.register(event, handler)
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    return collect_aws(targets, regions=["us-east-1"], resource_types=S3_TYPES, max_workers=2)


BASE_HANDLERS = [
    ("before-call.s3.GetBucketPolicyStatus", _deny_policy_status),
    ("before-parameter-build.s3.GetBucketVersioning", _remember_bucket),
    ("after-call.s3.GetBucketVersioning", _mfa_delete_on_good_bucket),
]


class Scans:
    def __init__(self, unset: Inventory, account_block: Inventory, account_denied: Inventory) -> None:
        self.unset, self.account_block, self.account_denied = unset, account_block, account_denied

    @staticmethod
    def bucket(inventory: Inventory, name: str) -> Resource:
        return next(r for r in inventory.resources if r.id == ARN.format(name))


@pytest.fixture(scope="module")
def scans() -> Iterator[Scans]:
    with mock_aws():
        _seed(boto3.client("s3", region_name="us-east-1"))
        unset = _scan(BASE_HANDLERS)
        boto3.client("s3control", region_name="us-east-1").put_public_access_block(
            AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_FLAGS
        )
        account_block = _scan(BASE_HANDLERS)
        account_denied = _scan([*BASE_HANDLERS, ("before-call.s3-control.GetPublicAccessBlock", _deny_s3control)])
        yield Scans(unset, account_block, account_denied)


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/s3.yaml")


@pytest.fixture(scope="module")
def results(scans: Scans, rules) -> dict[str, dict[tuple[str, str], Outcome]]:
    return {
        "unset": outcomes(rules, scans.unset.resources),
        "account_block": outcomes(rules, scans.account_block.resources),
        "account_denied": outcomes(rules, scans.account_denied.resources),
    }


EXPECTED = [
    # (scan, rule, bucket, outcome)
    ("unset", "aws-s3-bucket-deny-http", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-deny-http", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-block-public-access", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-block-public-access", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-block-public-access", "neutralised-bucket", FAIL),
    ("unset", "aws-s3-bucket-effective-block-public-access", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-effective-block-public-access", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-not-public", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-not-public", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-not-public", "neutralised-bucket", PASS),
    ("unset", "aws-s3-bucket-not-public", "eu-bucket", PASS),
    ("unset", "aws-s3-bucket-default-encryption", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-default-encryption", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-versioning", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-versioning", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-mfa-delete", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-mfa-delete", "good-bucket", PASS),
    ("unset", "aws-s3-bucket-access-logging", "bad-bucket", FAIL),
    ("unset", "aws-s3-bucket-access-logging", "good-bucket", PASS),
    # An unreadable policy status makes only the rules that depend on it ERROR.
    ("unset", "aws-s3-bucket-not-public", "denied-bucket", ERROR),
    ("unset", "aws-s3-bucket-default-encryption", "denied-bucket", FAIL),
    ("unset", "aws-s3-bucket-block-public-access", "denied-bucket", FAIL),
    # The account-level block covers every bucket, but is not a bucket-level setting.
    ("account_block", "aws-s3-bucket-effective-block-public-access", "bad-bucket", PASS),
    ("account_block", "aws-s3-bucket-block-public-access", "bad-bucket", FAIL),
    ("account_block", "aws-s3-bucket-not-public", "bad-bucket", PASS),
    ("account_block", "aws-s3-bucket-not-public", "denied-bucket", PASS),
    # Account-level block unreadable: undecidable unless the bucket's own flags settle it.
    ("account_denied", "aws-s3-bucket-effective-block-public-access", "bad-bucket", ERROR),
    ("account_denied", "aws-s3-bucket-effective-block-public-access", "good-bucket", PASS),
    ("account_denied", "aws-s3-bucket-not-public", "good-bucket", PASS),
    ("account_denied", "aws-s3-bucket-not-public", "bad-bucket", ERROR),
    ("account_denied", "aws-s3-bucket-block-public-access", "good-bucket", PASS),
    # The account-level setting is its own finding (CIS 2.1.4 account settings): no configuration fails,
    # all four flags pass, an unreadable configuration is an error rather than a guess.
    ("unset", "aws-s3-account-block-public-access", "(account)", FAIL),
    ("account_block", "aws-s3-account-block-public-access", "(account)", PASS),
    ("account_denied", "aws-s3-account-block-public-access", "(account)", ERROR),
]


@pytest.mark.parametrize(("scan", "rule", "bucket", "expected"), EXPECTED, ids=lambda v: getattr(v, "name", v))
def test_rule_outcome(results, scan: str, rule: str, bucket: str, expected: Outcome) -> None:
    resource_id = ACCOUNT_BLOCK_ID if bucket == "(account)" else ARN.format(bucket)
    assert results[scan][(rule, resource_id)] is expected


def test_every_rule_has_a_pass_and_a_fail_case(rules) -> None:
    covered = {(rule, outcome) for _, rule, _, outcome in EXPECTED}
    for rule in rules:
        assert (rule.id, PASS) in covered and (rule.id, FAIL) in covered, rule.id


def test_collection_succeeded_and_found_every_bucket(scans: Scans) -> None:
    for inventory in (scans.unset, scans.account_block, scans.account_denied):
        assert [unit.status for unit in inventory.coverage] == ["ok", "ok"]
        assert {r.name for r in inventory.resources if r.type == "aws.s3.bucket"} == {
            "bad-bucket",
            "good-bucket",
            "log-bucket",
            "neutralised-bucket",
            "denied-bucket",
            "eu-bucket",
        }


def test_bucket_properties(scans: Scans) -> None:
    good = Scans.bucket(scans.unset, "good-bucket")
    assert good.region == "us-east-1"
    assert good.tags == {"owner": "data"}
    assert good.properties["logging"] == {"TargetBucket": "log-bucket", "TargetPrefix": "good-bucket/"}
    assert good.properties["public_access_block"] == ALL_FLAGS
    assert good.properties["policy"]["Statement"][0]["Sid"] == "DenyInsecureTransport"
    assert "_errors" not in good.properties

    bad = Scans.bucket(scans.unset, "bad-bucket")
    props = bad.properties
    assert props["acl_public"] is True and props["policy_status"] == {"IsPublic": True}
    assert props["public_access_block"] is None and props["account_public_access_block"] is None
    assert props["encryption"] is None and props["logging"] is None and props["tls_only"] is False
    assert props["versioning"] == {} and props["mfa_delete"] == "Disabled"
    assert props["effective_public_access_block"] == dict.fromkeys(ALL_FLAGS, False)

    assert Scans.bucket(scans.unset, "eu-bucket").region == "eu-west-1"
    assert Scans.bucket(scans.unset, "log-bucket").properties["policy"] is None


def test_access_denied_is_recorded_not_guessed(scans: Scans) -> None:
    denied = Scans.bucket(scans.unset, "denied-bucket").properties
    assert denied["policy_status"] is None and denied["is_public"] is None
    assert denied["_errors"]["policy_status"] == "AccessDenied"
    assert set(denied["_errors"]) == {"policy_status", "is_public"}


def test_account_level_block(scans: Scans) -> None:
    bad = Scans.bucket(scans.account_block, "bad-bucket").properties
    assert bad["account_public_access_block"] == ALL_FLAGS
    assert bad["effective_public_access_block"] == ALL_FLAGS
    assert bad["is_public"] is False and bad["acl_public"] is True

    denied = Scans.bucket(scans.account_denied, "bad-bucket").properties
    assert denied["_errors"]["account_public_access_block"] == "AccessDenied"
    assert denied["effective_public_access_block"] == dict.fromkeys(ALL_FLAGS)


def _statement(**overrides: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    statement.update(overrides)
    return statement


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (_statement(), True),
        (_statement(Principal={"AWS": "*"}, Action=["s3:GetObject", "*"]), True),
        (_statement(Condition={"BoolIfExists": {"AWS:SecureTransport": False}}), True),
        (_statement(Effect="Allow"), False),
        (_statement(Action="s3:GetObject"), False),
        (_statement(Principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
        (_statement(Condition={"Bool": {"aws:SecureTransport": "true"}}), False),
        (_statement(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), False),
    ],
)
def test_denies_insecure_transport(statement: dict[str, Any], expected: bool) -> None:
    assert denies_insecure_transport({"Version": "2012-10-17", "Statement": [statement]}) is expected
    assert denies_insecure_transport(None) is False


def test_policy_status_is_asked_only_for_a_policy_that_could_be_public(scans: Scans) -> None:
    # good-bucket's policy only denies (TLS), log-bucket has none: AWS cannot rate either public, so the
    # GetBucketPolicyStatus call is skipped; bad-bucket's Allow to "*" is a candidate and AWS is asked.
    asked: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        asked.append(next(b for b in ("bad-bucket", "denied-bucket", "neutralised-bucket", "good-bucket",
                                      "log-bucket", "eu-bucket") if b in params["url"]))

    inventory = _scan([("before-call.s3.GetBucketPolicyStatus", count)])  # inside the scans fixture's moto
    assert sorted(asked) == ["bad-bucket", "denied-bucket", "neutralised-bucket"]
    good = next(r for r in inventory.resources if r.id == ARN.format("good-bucket"))
    assert good.properties["policy_status"] is None and good.properties["is_public"] is False
    bad = next(r for r in inventory.resources if r.id == ARN.format("bad-bucket"))
    assert bad.properties["policy_status"] == {"IsPublic": True}


def test_bucket_region_from_list_buckets_saves_the_location_call(scans: Scans) -> None:
    # Real ListBuckets answers carry BucketRegion (moto 5.2's do not): then no GetBucketLocation is sent.
    regions = {"eu-bucket": "eu-west-1"}
    located: list[str] = []

    def add_region(parsed: dict[str, Any], **_: Any) -> None:
        for bucket in parsed.get("Buckets", []):
            bucket["BucketRegion"] = regions.get(bucket["Name"], "us-east-1")

    def count(params: dict[str, Any], **_: Any) -> None:
        located.append(params["url"])

    inventory = _scan([("after-call.s3.ListBuckets", add_region), ("before-call.s3.GetBucketLocation", count)])
    assert located == []
    buckets = {r.name: r for r in inventory.resources if r.type == "aws.s3.bucket"}
    assert buckets["eu-bucket"].region == "eu-west-1" and buckets["good-bucket"].region == "us-east-1"
    assert buckets["good-bucket"].properties["versioning"]["Status"] == "Enabled"  # read in its own region
