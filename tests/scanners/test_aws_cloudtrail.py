"""CloudTrail collector and rule pack against moto in-process: the account before and after a good trail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from skywarden.rules.model import Outcome
from skywarden.scanners.aws.cloudtrail import s3_data_events
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets
from skywarden.scanners.model import Inventory, Resource
from tests.support.aws import ACCOUNT, outcomes, pack_rules

PASS, FAIL, ERROR = Outcome.PASS, Outcome.FAIL, Outcome.ERROR
ACCOUNT_ID = f"arn:aws:cloudtrail::{ACCOUNT}:account"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
TYPES = ["aws.cloudtrail.trail", "aws.cloudtrail.account", "aws.s3.bucket"]


def trail_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}"


def _seed_before() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="access-logs")
    s3.put_bucket_acl(Bucket="access-logs", ACL="log-delivery-write")
    s3.create_bucket(Bucket="bad-trail-bucket")
    s3.create_bucket(Bucket="good-trail-bucket")
    s3.put_bucket_logging(
        Bucket="good-trail-bucket",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "trail/"}},
    )
    ct = boto3.client("cloudtrail", region_name="us-east-1")
    # Single-region, unvalidated, unencrypted, to an unlogged bucket.
    ct.create_trail(Name="bad-trail", S3BucketName="bad-trail-bucket")
    ct.start_logging(Name="bad-trail")
    # Multi-region with every event selected, but stopped: logs nothing.
    ct.create_trail(Name="stopped-trail", S3BucketName="bad-trail-bucket", IsMultiRegionTrail=True)
    ct.put_event_selectors(TrailName="stopped-trail", EventSelectors=[_everything()])
    # Multi-region and logging, but only a subset of S3 data events and no management events.
    ct.create_trail(Name="partial-trail", S3BucketName="bad-trail-bucket", IsMultiRegionTrail=True)
    ct.start_logging(Name="partial-trail")
    ct.put_event_selectors(
        TrailName="partial-trail",
        AdvancedEventSelectors=[
            {
                "Name": "puts only",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "eventName", "Equals": ["PutObject"]},
                ],
            }
        ],
    )


def _seed_good_trail() -> None:
    ct = boto3.client("cloudtrail", region_name="us-east-1")
    ct.create_trail(
        Name="good-trail",
        S3BucketName="good-trail-bucket",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=KEY_ARN,
    )
    ct.put_event_selectors(TrailName="good-trail", EventSelectors=[_everything()])
    ct.start_logging(Name="good-trail")


def _everything() -> dict[str, Any]:
    return {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
    }


def _deny(match: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]] | None]:
    def handler(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # moto enforces no IAM here: answer as a scanner role lacking this permission would be answered.
        if match in str(params.get("url")) + str(params.get("body")):
            error = {"Code": "AccessDenied", "Message": "denied by the test"}
            return AWSResponse("https://aws", 403, {}, None), {"Error": error, "ResponseMetadata": {}}
        return None

    return handler


class Scan:
    def __init__(self, session: boto3.Session, handlers: list[tuple[str, Callable[..., Any]]]) -> None:
        # Handlers are registered on the session only for this scan: its clients are created (and copy the
        # session's handlers) during it. One session for all scans saves reloading botocore's models.
        self.calls: Counter[str] = Counter()
        handlers = [("before-call.*.*", self._count), *handlers]
        for event, handler in handlers:
            session.events.register(event, handler)
        try:
            targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
            self.inventory: Inventory = collect_aws(targets, regions=["us-east-1"], resource_types=TYPES)
        finally:
            for event, handler in handlers:
                session.events.unregister(event, handler)
        self.resources = {r.id: r for r in self.inventory.resources}

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1


@pytest.fixture(scope="module")
def scans() -> Iterator[dict[str, Scan]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        _seed_before()
        before = Scan(session, [])
        _seed_good_trail()
        after = Scan(session, [])
        denied = Scan(
            session,
            [
                ("before-call.cloudtrail.GetTrailStatus", _deny("good-trail")),
                ("before-call.s3.GetBucketLogging", _deny("good-trail-bucket")),
            ],
        )
        yield {"before": before, "after": after, "denied": denied}


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/cloudtrail.yaml")


@pytest.fixture(scope="module")
def results(scans: dict[str, Scan], rules) -> dict[str, dict[tuple[str, str], Outcome]]:
    return {name: outcomes(rules, scan.inventory.resources) for name, scan in scans.items()}


EXPECTED = [
    ("before", "aws-cloudtrail-multi-region-logging", ACCOUNT_ID, FAIL),
    ("before", "aws-cloudtrail-s3-data-events-write", ACCOUNT_ID, FAIL),
    ("before", "aws-cloudtrail-s3-data-events-read", ACCOUNT_ID, FAIL),
    ("after", "aws-cloudtrail-multi-region-logging", ACCOUNT_ID, PASS),
    ("after", "aws-cloudtrail-s3-data-events-write", ACCOUNT_ID, PASS),
    ("after", "aws-cloudtrail-s3-data-events-read", ACCOUNT_ID, PASS),
    ("after", "aws-cloudtrail-log-file-validation", trail_arn("bad-trail"), FAIL),
    ("after", "aws-cloudtrail-log-file-validation", trail_arn("good-trail"), PASS),
    ("after", "aws-cloudtrail-bucket-access-logging", trail_arn("bad-trail"), FAIL),
    ("after", "aws-cloudtrail-bucket-access-logging", trail_arn("good-trail"), PASS),
    ("after", "aws-cloudtrail-kms-encryption", trail_arn("bad-trail"), FAIL),
    ("after", "aws-cloudtrail-kms-encryption", trail_arn("good-trail"), PASS),
    # The only trail that could cover the account has an unreadable status: unknown, not FAIL or PASS.
    ("denied", "aws-cloudtrail-multi-region-logging", ACCOUNT_ID, ERROR),
    ("denied", "aws-cloudtrail-s3-data-events-write", ACCOUNT_ID, ERROR),
    ("denied", "aws-cloudtrail-bucket-access-logging", trail_arn("good-trail"), ERROR),
    ("denied", "aws-cloudtrail-bucket-access-logging", trail_arn("bad-trail"), FAIL),
    ("denied", "aws-cloudtrail-log-file-validation", trail_arn("good-trail"), PASS),
]


@pytest.mark.parametrize(("scan", "rule", "resource", "expected"), EXPECTED, ids=lambda v: getattr(v, "name", v))
def test_rule_outcome(results, scan: str, rule: str, resource: str, expected: Outcome) -> None:
    assert results[scan][(rule, resource)] is expected


def test_every_rule_has_a_pass_and_a_fail_case(rules) -> None:
    covered = {(rule, outcome) for _, rule, _, outcome in EXPECTED}
    for rule in rules:
        assert (rule.id, PASS) in covered and (rule.id, FAIL) in covered, rule.id


def test_collection(scans: dict[str, Scan]) -> None:
    after = scans["after"]
    assert {unit.status for unit in after.inventory.coverage} == {"ok"}
    trails = {r.name: r for r in after.inventory.resources if r.type == "aws.cloudtrail.trail"}
    assert set(trails) == {"bad-trail", "stopped-trail", "partial-trail", "good-trail"}
    good = trails["good-trail"].properties
    assert good["is_logging"] is True and good["logs_all_management_events"] is True
    assert good["s3_data_events_read"] is True and good["s3_data_events_write"] is True
    assert good["trail_bucket_logging"] == {"TargetBucket": "access-logs", "TargetPrefix": "trail/"}
    assert trails["good-trail"].region == "us-east-1"
    stopped = trails["stopped-trail"].properties
    assert stopped["is_logging"] is False and stopped["s3_data_events_write"] is True
    partial = trails["partial-trail"].properties
    assert partial["s3_data_events_write"] is False and partial["logs_all_management_events"] is False

    account: Resource = after.resources[ACCOUNT_ID]
    assert account.properties["multi_region_logging_trails"] == [trail_arn("good-trail")]
    assert account.properties["s3_data_events_write_trails"] == [trail_arn("good-trail")]
    assert scans["before"].resources[ACCOUNT_ID].properties["has_multi_region_logging_trail"] is False


def test_each_api_is_called_once_per_scan(scans: dict[str, Scan]) -> None:
    calls = scans["after"].calls
    assert calls["DescribeTrails"] == 1
    assert calls["GetTrailStatus"] == 4 and calls["GetEventSelectors"] == 4
    # The trail buckets are also S3 buckets of the scan: their logging is read once, shared by both collectors.
    assert calls["GetBucketLogging"] == 3 and calls["ListBuckets"] == 1


def test_denied_status_is_recorded(scans: dict[str, Scan]) -> None:
    denied = scans["denied"].resources
    good = denied[trail_arn("good-trail")].properties
    assert good["is_logging"] is None and good["_errors"]["is_logging"] == "AccessDenied"
    assert good["_errors"]["trail_bucket_logging_enabled"] == "AccessDenied"
    account = denied[ACCOUNT_ID].properties
    assert account["has_multi_region_logging_trail"] is None
    assert "good-trail" in account["_errors"]["has_multi_region_logging_trail"]


def _advanced(*fields: dict[str, Any]) -> dict[str, Any]:
    base = [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]
    return {"AdvancedEventSelectors": [{"Name": "s3", "FieldSelectors": base + list(fields)}]}


def _classic(kind: str, values: list[str]) -> dict[str, Any]:
    resources = [{"Type": "AWS::S3::Object", "Values": values}]
    return {"EventSelectors": [{"ReadWriteType": kind, "IncludeManagementEvents": True, "DataResources": resources}]}


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (None, (False, False)),
        (_classic("All", ["arn:aws:s3"]), (True, True)),
        (_classic("ReadOnly", ["arn:aws:s3:::"]), (True, False)),
        (_classic("WriteOnly", ["arn:aws:s3"]), (False, True)),
        (_classic("All", ["arn:aws:s3:::one-bucket/"]), (False, False)),
        (_advanced(), (True, True)),
        (_advanced({"Field": "readOnly", "Equals": ["true"]}), (True, False)),
        (_advanced({"Field": "readOnly", "Equals": ["false"]}), (False, True)),
        (_advanced({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::"]}), (True, True)),
        (_advanced({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::one-bucket/"]}), (False, False)),
        (_advanced({"Field": "eventName", "Equals": ["PutObject"]}), (False, False)),
    ],
)
def test_s3_data_events(selectors: dict[str, Any] | None, expected: tuple[bool, bool]) -> None:
    assert s3_data_events(selectors) == expected
