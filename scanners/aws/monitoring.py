"""CloudWatch monitoring of CloudTrail events (CIS 4.1-4.15): one account-level synthetic resource.

Each CIS 4.x control asks the same chain: a multi-region, logging trail recording all management events
delivers to a CloudWatch Logs log group; that group has a metric filter for the control's events; an
alarm watches the filter's metric; the alarm notifies an SNS topic that somebody is subscribed to. The
collector gathers that chain once per account and the ``aws_cis_metric_filter_alarm`` check
(rules/checks/monitoring.py) decides each control from it.

Resource: type ``aws.cloudwatch.cis_monitoring``, id ``arn:<partition>:cloudwatch::<account>:cis-monitoring``,
region ``global``. Properties:
  trails:     every trail with the facts the chain needs (IsMultiRegionTrail, IsLogging,
              logs_all_management_events, CloudWatchLogsLogGroupArn, log_group_name/region/account)
  log_groups: [{arn, name, region, metric_filters: [describe_metric_filters entries]}] for the log groups of
              qualifying trails in this account
  alarms:     metric alarms (describe_alarms fields, plus ``region`` and ``watched_metrics``: [[namespace,
              name], ...]) that watch a metric those filters produce
  topics:     [{TopicArn, subscriptions, confirmed_subscriptions}] for the SNS topics those alarms notify
  unknown:    what could not be read, as "<what>: <error class>". The check passes when the chain is
              proven despite them and errors (instead of failing) when it is not, so an unreadable corner
              never turns into a false FAIL or a false PASS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from skywarden.scanners.aws import _trails
from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.aws.errors import classify, error_code
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

RESOURCE_TYPE = "aws.cloudwatch.cis_monitoring"
_NOT_FOUND = {"ResourceNotFoundException", "NotFound", "NotFoundException"}


@collector(RESOURCE_TYPE, service="cloudwatch", regional=False)
def cis_monitoring(ctx: AwsContext) -> Iterator[Resource]:
    unknown: list[str] = []
    trails = [_trail_facts(ctx, trail, unknown) for trail in _trails.trails(ctx)]
    log_groups = _log_groups(ctx, [t for t in trails if t["qualifies"]], unknown)
    metrics = {
        (group["region"], transform.get("metricNamespace"), transform.get("metricName"))
        for group in log_groups
        for mf in group["metric_filters"]
        for transform in mf.get("metricTransformations") or []
    }
    alarms = _alarms(ctx, metrics, unknown)
    topic_arns = sorted({a for alarm in alarms for a in alarm.get("AlarmActions") or [] if ":sns:" in a})
    topics = [_topic(ctx, arn, unknown) for arn in topic_arns]
    properties = {"trails": trails, "log_groups": log_groups, "alarms": alarms, "topics": topics, "unknown": unknown}
    yield ctx.resource(
        RESOURCE_TYPE,
        ctx.arn("cloudwatch", "cis-monitoring"),
        "cis-monitoring",
        properties,
        region=GLOBAL_REGION,
    )


def _trail_facts(ctx: AwsContext, trail: dict[str, Any], unknown: list[str]) -> dict[str, Any]:
    name = trail.get("Name", "")
    status = trail.get("status")
    group_arn = trail.get("CloudWatchLogsLogGroupArn") or ""
    # arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
    parts = group_arn.split(":")
    group_ok = len(parts) >= 7 and parts[2] == "logs"
    facts = {
        "Name": name,
        "TrailARN": trail.get("TrailARN"),
        "HomeRegion": trail.get("HomeRegion"),
        "IsMultiRegionTrail": bool(trail.get("IsMultiRegionTrail")),
        "IsOrganizationTrail": bool(trail.get("IsOrganizationTrail")),
        "IsLogging": None if status is None else bool(status.get("IsLogging")),
        "logs_all_management_events": (
            None
            if trail.get("event_selectors") is None
            else _trails.logs_all_management_events(trail["event_selectors"])
        ),
        "CloudWatchLogsLogGroupArn": group_arn or None,
        "log_group_name": parts[6] if group_ok else None,
        "log_group_region": parts[3] if group_ok else None,
        "log_group_account": parts[4] if group_ok else None,
    }
    # An organisation trail's log group lives in the management account: its filters and alarms are not
    # this account's to read, so from here the trail cannot carry the chain.
    facts["qualifies"] = bool(
        facts["IsMultiRegionTrail"]
        and facts["IsLogging"]
        and facts["logs_all_management_events"]
        and group_ok
        and facts["log_group_account"] == ctx.account_id
    )
    # An unreadable status or selector only leaves the outcome open for a trail that could otherwise carry
    # the chain; a single-region trail or one without a log group here fails whatever they say.
    if facts["IsMultiRegionTrail"] and group_ok and facts["log_group_account"] == ctx.account_id:
        for part, error in (trail.get("errors") or {}).items():
            unknown.append(f"trail {name} {part}: {error}")
    return facts


def _log_groups(ctx: AwsContext, trails: list[dict[str, Any]], unknown: list[str]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for trail in trails:
        key = (trail["log_group_region"], trail["log_group_name"])
        if key in groups:
            continue
        region, name = key
        logs = ctx.client("logs", region)
        try:
            filters = ctx.paginate(logs, "describe_metric_filters", "metricFilters", logGroupName=name)
        except ClientError as exc:
            filters = []
            if error_code(exc) not in _NOT_FOUND:
                unknown.append(f"metric filters of log group {name} in {region}: {classify(exc)[0]}")
        groups[key] = {
            "arn": trail["CloudWatchLogsLogGroupArn"],
            "name": name,
            "region": region,
            "metric_filters": [
                {k: mf.get(k) for k in ("filterName", "filterPattern", "metricTransformations", "logGroupName")}
                for mf in filters
            ],
        }
    return list(groups.values())


def _alarms(ctx: AwsContext, metrics: set[tuple[str, Any, Any]], unknown: list[str]) -> list[dict[str, Any]]:
    wanted_by_region: dict[str, set[tuple[Any, Any]]] = {}
    for region, namespace, name in metrics:
        wanted_by_region.setdefault(region, set()).add((namespace, name))
    found: list[dict[str, Any]] = []
    for region, wanted in sorted(wanted_by_region.items()):
        cloudwatch = ctx.client("cloudwatch", region)
        try:
            alarms = ctx.paginate(cloudwatch, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"])
        except ClientError as exc:
            unknown.append(f"alarms in {region}: {classify(exc)[0]}")
            continue
        for alarm in alarms:
            watched = _watched_metrics(alarm)
            if wanted.intersection(watched):
                entry = {
                    k: alarm.get(k)
                    for k in (
                        "AlarmName",
                        "AlarmArn",
                        "ActionsEnabled",
                        "AlarmActions",
                        "StateValue",
                        "MetricName",
                        "Namespace",
                    )
                }
                entry["region"] = region
                entry["watched_metrics"] = sorted([ns, name] for ns, name in watched)
                found.append(entry)
    return found


def _watched_metrics(alarm: dict[str, Any]) -> set[tuple[Any, Any]]:
    watched = set()
    if alarm.get("MetricName"):
        watched.add((alarm.get("Namespace"), alarm["MetricName"]))
    # Metric-math alarms name their inputs under Metrics[].MetricStat.Metric.
    for query in alarm.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric.get("MetricName"):
            watched.add((metric.get("Namespace"), metric["MetricName"]))
    return watched


def _topic(ctx: AwsContext, topic_arn: str, unknown: list[str]) -> dict[str, Any]:
    region = topic_arn.split(":")[3]
    sns = ctx.client("sns", region)

    def call() -> tuple[list[dict[str, Any]] | None, str | None]:
        try:
            return ctx.paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn), None
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return [], None
            return None, classify(exc)[0]

    subscriptions, error = ctx.memo(("sns", "list_subscriptions_by_topic", topic_arn), call)
    if error is not None:
        unknown.append(f"subscriptions of SNS topic {topic_arn}: {error}")
    # Until the endpoint confirms, AWS lists the subscription with SubscriptionArn "PendingConfirmation"
    # and delivers nothing to it.
    confirmed = [s for s in subscriptions or [] if str(s.get("SubscriptionArn", "")).startswith("arn:")]
    return {
        "TopicArn": topic_arn,
        "subscriptions": None if subscriptions is None else len(subscriptions),
        "confirmed_subscriptions": None if subscriptions is None else len(confirmed),
    }
