"""Security Hub: whether the hub is enabled in each region (CIS 4.16)."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.aws.errors import error_code
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

RESOURCE_TYPE = "aws.securityhub.hub"


@collector(RESOURCE_TYPE, service="securityhub")
def hub(ctx: AwsContext) -> Iterator[Resource]:
    """One resource per region, id ``arn:<partition>:securityhub:<region>:<account>:hub/default``.

    Properties: describe_hub's fields (HubArn, SubscribedAt, AutoEnableControls, ControlFindingGenerator) when
    enabled, and ``enabled``.
    """
    client = ctx.client("securityhub")
    try:
        answer = client.describe_hub()
    except ClientError as exc:
        # This is how Security Hub says "this account is not subscribed here": a fact about the region,
        # not a failure to read it. Any other error (AccessDenied...) is a coverage failure.
        if error_code(exc) != "InvalidAccessException":
            raise
        properties = {"enabled": False}
    else:
        properties = {k: v for k, v in answer.items() if k not in ("ResponseMetadata", "Tags")}
        properties["enabled"] = True
    hub_arn = properties.get("HubArn") or ctx.arn("securityhub", "hub/default", region=ctx.region)
    yield ctx.resource(RESOURCE_TYPE, hub_arn, f"securityhub-{ctx.region}", properties)
