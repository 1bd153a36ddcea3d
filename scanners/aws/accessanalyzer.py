"""IAM Access Analyzer: the analyzers of each region (CIS 1.20)."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

RESOURCE_TYPE = "aws.accessanalyzer.region"


@collector(RESOURCE_TYPE, service="accessanalyzer")
def analyzers(ctx: AwsContext) -> Iterator[Resource]:
    """One resource per region, id ``arn:<partition>:access-analyzer:<region>:<account>:analyzers``.

    Properties: ``analyzers`` (list_analyzers entries: arn, name, type, status...), ``active``: some analyzer
    is ACTIVE, and ``active_external_access``: some ACTIVE analyzer is of type ACCOUNT or ORGANIZATION. CIS 1.20
    is about external access findings; an unused-access analyzer (ACCOUNT_UNUSED_ACCESS...) reports none, so
    the rule reads ``active_external_access``.
    """
    client = ctx.client("accessanalyzer")
    found = ctx.paginate(client, "list_analyzers", "analyzers")
    properties = {
        "analyzers": found,
        "active": any(a.get("status") == "ACTIVE" for a in found),
        "active_external_access": any(
            a.get("status") == "ACTIVE" and a.get("type") in ("ACCOUNT", "ORGANIZATION") for a in found
        ),
    }
    yield ctx.resource(
        RESOURCE_TYPE,
        ctx.arn("access-analyzer", "analyzers", region=ctx.region),
        f"access-analyzer-{ctx.region}",
        properties,
    )
