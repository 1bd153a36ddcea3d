"""CloudTrail: trails (CIS 3.2, 3.4, 3.5) and the account's trail coverage (CIS 3.1, 3.8, 3.9).

The trail APIs are read once per scan through ``scanners.aws._trails`` (shared with the CloudWatch
monitoring collector). Account-level facts are on a synthetic resource ``aws.cloudtrail.account`` with id
``arn:<partition>:cloudtrail::<account>:account``: CIS asks whether *some* trail covers the account, which
no single trail resource can answer.

Derived facts are tri-state: True or False when known, None (with an ``_errors`` entry) when a sub-call
needed to decide failed, so the rule ERRORs instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from skywarden.scanners.aws._trails import logs_all_management_events, trails
from skywarden.scanners.aws.context import AwsContext, with_errors
from skywarden.scanners.aws.s3 import bucket_logging, bucket_region
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

# "arn:aws:s3" (what the console writes) or "arn:aws:s3:::" select the objects of every bucket.
_ALL_BUCKETS = re.compile(r"^arn:[a-z-]+:s3(:::)?$")
# Advanced selector fields that only choose the S3 object data events themselves, not a subset of them.
_DATA_SELECTOR_FIELDS = {"eventCategory", "resources.type", "readOnly", "resources.ARN"}


@collector("aws.cloudtrail.trail", "aws.cloudtrail.account", service="cloudtrail", regional=False)
def cloudtrail(ctx: AwsContext) -> Iterator[Resource]:
    facts = []
    for trail in trails(ctx):
        properties = _trail_properties(ctx, trail)
        facts.append(properties)
        # Organisation trails also show up in member accounts; they belong to (and are reported in) the
        # management account, or one trail would be two resources with the same id.
        if _owner(trail) in (None, ctx.account_id):
            yield ctx.resource(
                "aws.cloudtrail.trail",
                trail.get("TrailARN") or trail["Name"],
                trail["Name"],
                properties,
                region=trail.get("HomeRegion") or GLOBAL_REGION,
            )
    yield _account(ctx, facts)


def _owner(trail: Mapping[str, Any]) -> str | None:
    parts = str(trail.get("TrailARN", "")).split(":")
    return parts[4] if len(parts) > 5 else None


def _trail_properties(ctx: AwsContext, trail: Mapping[str, Any]) -> dict[str, Any]:
    call_errors = dict(trail.get("errors") or {})
    properties = {k: v for k, v in trail.items() if k != "errors"}
    errors: dict[str, str] = {}

    status = trail.get("status")
    if "status" in call_errors:
        errors["status"] = errors["is_logging"] = call_errors["status"]
        properties["is_logging"] = None
    else:
        # No status without an error: the trail vanished meanwhile, so nothing is logging to it.
        properties["is_logging"] = bool((status or {}).get("IsLogging"))

    selectors = trail.get("event_selectors")
    derived_from_selectors = ("logs_all_management_events", "s3_data_events_read", "s3_data_events_write")
    if "event_selectors" in call_errors:
        errors["event_selectors"] = call_errors["event_selectors"]
        for key in derived_from_selectors:
            errors[key] = call_errors["event_selectors"]
            properties[key] = None
    else:
        read, write = s3_data_events(selectors)
        properties["logs_all_management_events"] = logs_all_management_events(selectors)
        properties["s3_data_events_read"] = read
        properties["s3_data_events_write"] = write

    bucket = trail.get("S3BucketName")
    properties["trail_bucket_logging"] = None
    properties["trail_bucket_logging_enabled"] = False if not bucket else None
    if bucket:
        region, error = bucket_region(ctx, bucket)
        logging = None
        if error is None:
            logging, error = bucket_logging(ctx, bucket, region)
        if error is None:
            properties["trail_bucket_logging"] = logging
            properties["trail_bucket_logging_enabled"] = bool(logging and logging.get("TargetBucket"))
        else:
            # Often a central log archive bucket in another account: unknown here, not "off".
            errors["trail_bucket_logging"] = errors["trail_bucket_logging_enabled"] = error
    return with_errors(properties, errors)


def s3_data_events(selectors: Mapping[str, Any] | None) -> tuple[bool, bool]:
    """(read, write): whether the selectors log S3 object-level events of every bucket (CIS 3.9, 3.8)."""
    read = write = False
    if not selectors:
        return read, write
    for selector in selectors.get("EventSelectors") or []:
        kind = selector.get("ReadWriteType", "All")
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") == "AWS::S3::Object" and any(
                _ALL_BUCKETS.match(str(value)) for value in resource.get("Values") or []
            ):
                read = read or kind in ("All", "ReadOnly")
                write = write or kind in ("All", "WriteOnly")
    for advanced in selectors.get("AdvancedEventSelectors") or []:
        covers = _advanced_s3_coverage(advanced.get("FieldSelectors") or [])
        read, write = read or covers[0], write or covers[1]
    return read, write


def _advanced_s3_coverage(field_selectors: Iterable[Mapping[str, Any]]) -> tuple[bool, bool]:
    fields = {f.get("Field"): f for f in field_selectors}
    if "Data" not in (fields.get("eventCategory") or {}).get("Equals", []):
        return False, False
    if "AWS::S3::Object" not in (fields.get("resources.type") or {}).get("Equals", []):
        return False, False
    # Any other field (eventName, eventSource, userIdentity...) logs only a subset: not full coverage.
    if set(fields) - _DATA_SELECTOR_FIELDS:
        return False, False
    arn = fields.get("resources.ARN")
    if arn is not None:
        operators = {k for k in arn if k != "Field"}
        starts = arn.get("StartsWith") or []
        if operators != {"StartsWith"} or not any(_ALL_BUCKETS.match(v) for v in starts):
            return False, False
    read_only = fields.get("readOnly")
    if read_only is None:
        return True, True
    logs = {value == "true" for value in read_only.get("Equals", [])}
    logs |= {value != "true" for value in read_only.get("NotEquals", [])}
    return True in logs, False in logs


def _account(ctx: AwsContext, trails_facts: list[dict[str, Any]]) -> Resource:
    """Whether any trail gives the account-wide coverage CIS asks for; None when a failed call hides it."""
    errors: dict[str, str] = {}
    properties: dict[str, Any] = {"trails": [t.get("TrailARN") or t["Name"] for t in trails_facts]}
    requirements = {
        # CIS 3.1: a multi-region trail that is logging and records all read and write management events.
        "multi_region_logging": ("IsMultiRegionTrail", "is_logging", "logs_all_management_events"),
        # CIS 3.8/3.9: S3 object-level events of every bucket, in every region, actually being logged.
        "s3_data_events_write": ("IsMultiRegionTrail", "is_logging", "s3_data_events_write"),
        "s3_data_events_read": ("IsMultiRegionTrail", "is_logging", "s3_data_events_read"),
    }
    for name, needed in requirements.items():
        verdicts = [(_all_of(t, needed), t) for t in trails_facts]
        properties[f"{name}_trails"] = [t.get("TrailARN") or t["Name"] for v, t in verdicts if v is True]
        unknown = [t for v, t in verdicts if v is None]
        if properties[f"{name}_trails"]:
            covered: bool | None = True
        elif unknown:
            covered = None
            errors[f"has_{name}_trail"] = "; ".join(
                f"{t['Name']}: {sorted(set(t.get('_errors', {}).values()))}" for t in unknown
            )
        else:
            covered = False
        properties[f"has_{name}_trail"] = covered
    return ctx.resource(
        "aws.cloudtrail.account",
        ctx.arn("cloudtrail", "account"),
        ctx.account.name or ctx.account_id,
        with_errors(properties, errors),
        region=GLOBAL_REGION,
    )


def _all_of(trail: Mapping[str, Any], keys: Iterable[str]) -> bool | None:
    values = [trail.get(key) for key in keys]
    if any(value is False for value in values):
        return False
    if any(value is None for value in values):
        return None
    return all(bool(value) for value in values)
