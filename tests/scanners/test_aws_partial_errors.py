"""Sub-call failures stay with the property they affect; global collectors look in every scanned region."""

from __future__ import annotations

import boto3
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets


def scan(session: boto3.Session, regions, types):
    targets = resolve_targets(session, [AccountSpec(id=None, name="t")])
    return collect_aws(targets, regions=regions, resource_types=types, max_workers=4)


def test_unreachable_s3_control_errors_only_the_account_block_property():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="partial-a")
        session = boto3.Session(region_name="us-east-1")

        def unreachable(**kwargs):
            raise EndpointConnectionError(endpoint_url="https://123456789012.s3-control.us-east-1.amazonaws.com")

        session.events.register("before-call.s3-control.GetPublicAccessBlock", unreachable)
        inventory = scan(session, ["us-east-1"], ["aws.s3.bucket"])
    assert inventory.gaps == []
    bucket = next(r for r in inventory.resources if r.name == "partial-a")
    assert bucket.properties["_errors"]["account_public_access_block"] == "EndpointUnavailable"
    assert bucket.properties["versioning"] is not None  # the rest of the bucket was still read


def test_single_region_trail_in_another_scanned_region_is_seen():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="trail-logs-partial")
        boto3.client("cloudtrail", region_name="eu-west-1").create_trail(
            Name="eu-only", S3BucketName="trail-logs-partial", IsMultiRegionTrail=False
        )
        inventory = scan(boto3.Session(region_name="us-east-1"), ["us-east-1", "eu-west-1"],
                         ["aws.cloudtrail.trail"])
    names = {r.name for r in inventory.resources if r.type == "aws.cloudtrail.trail"}
    assert "eu-only" in names
