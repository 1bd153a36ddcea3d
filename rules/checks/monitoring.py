"""CIS 4.1-4.15: a CloudTrail metric filter with an alarm that notifies someone, for given events.

The chain spans four services (CloudTrail, CloudWatch Logs, CloudWatch, SNS) joined on log group, metric
and topic, which the YAML condition language cannot join; the collector (scanners/aws/monitoring.py)
gathers the pieces and this check walks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from rules.checks import CHECKS

_OPERATORS = {"=": r"\s*=\s*", "!=": r"\s*!=\s*"}


def filter_regexes(params: Mapping[str, Any]) -> list[re.Pattern[str]]:
    """The regexes a metric filter's pattern must all match, built from the rule's params.

    ``event_source``: required ``$.eventSource = <value>``; ``event_names``: each required as
    ``$.eventName = <name>``; ``clauses``: ``[field, "=" | "!=", value]`` each required; ``pattern``: an extra
    raw regex (for clauses such as ``$.userIdentity.invokedBy NOT EXISTS``). Clauses match in any order,
    quoted or not, and a value only matches whole (``CreateRoute`` is not satisfied by ``CreateRouteTable``).
    """
    clauses: list[tuple[str, str, str]] = []
    if params.get("event_source"):
        clauses.append(("eventSource", "=", str(params["event_source"])))
    clauses.extend(("eventName", "=", str(name)) for name in params.get("event_names") or [])
    for clause in params.get("clauses") or []:
        field, operator, value = clause
        if operator not in _OPERATORS:
            raise ValueError(f"unsupported operator {operator!r} in clause {clause!r}; use '=' or '!='")
        clauses.append((str(field), operator, str(value)))
    extra = [str(params["pattern"])] if params.get("pattern") else []
    if not clauses and not extra:
        raise ValueError("give event_names, event_source, clauses or pattern")
    return _compiled(tuple(clauses), tuple(extra))


@lru_cache(maxsize=64)
def _compiled(clauses: tuple[tuple[str, str, str], ...], extra: tuple[str, ...]) -> list[re.Pattern[str]]:
    regexes = [
        re.compile(
            rf"\$\.{re.escape(field)}{_OPERATORS[operator]}\"?{re.escape(value)}(?![A-Za-z0-9_.*])",
            re.DOTALL,
        )
        for field, operator, value in clauses
    ]
    regexes.extend(re.compile(raw, re.DOTALL) for raw in extra)
    return regexes


def pattern_matches(filter_pattern: str, regexes: Sequence[re.Pattern[str]]) -> bool:
    return all(regex.search(filter_pattern) for regex in regexes)


@CHECKS.register("aws_cis_metric_filter_alarm")
def aws_cis_metric_filter_alarm(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when a qualifying trail's log group has a matching metric filter whose metric has an
    enabled alarm notifying an SNS topic with at least one confirmed subscription.

    A qualifying trail is multi-region, logging, records all management events, and sends to a CloudWatch
    Logs log group in this account. Reads aws.cloudwatch.cis_monitoring. When the chain is not proven and
    some part could not be read (``unknown``), the outcome is unknown: this raises, and the rule ERRORs.
    """
    regexes = filter_regexes(params)
    props = resource.properties
    trails = [t for t in props.get("trails") or [] if t.get("qualifies")]
    if not trails:
        return _fail(props, "no multi-region, logging trail with all management events sends to a log group here")
    groups = {(g.get("region"), g.get("name")): g for g in props.get("log_groups") or []}
    topics = {t.get("TopicArn"): t for t in props.get("topics") or []}
    matched: list[str] = []
    for trail in trails:
        group = groups.get((trail.get("log_group_region"), trail.get("log_group_name")))
        for metric_filter in (group or {}).get("metric_filters") or []:
            if not pattern_matches(str(metric_filter.get("filterPattern") or ""), regexes):
                continue
            matched.append(str(metric_filter.get("filterName")))
            for alarm in _alarms_for(props.get("alarms") or [], group or {}, metric_filter):
                notified = [a for a in alarm.get("AlarmActions") or [] if _has_subscriber(topics.get(a))]
                if alarm.get("ActionsEnabled") is not False and notified:
                    return True, (
                        f"metric filter {metric_filter.get('filterName')} on {group.get('name')} has alarm "
                        f"{alarm.get('AlarmName')} notifying {notified[0]}"
                    )
    if not matched:
        return _fail(props, "no metric filter on a qualifying trail's log group matches the required pattern")
    return _fail(props, f"metric filter(s) {', '.join(matched)} have no enabled alarm notifying a subscribed topic")


def _alarms_for(
    alarms: Iterable[Mapping[str, Any]], group: Mapping[str, Any], metric_filter: Mapping[str, Any]
) -> Iterator[Mapping[str, Any]]:
    produced = {
        (t.get("metricNamespace"), t.get("metricName")) for t in metric_filter.get("metricTransformations") or []
    }
    for alarm in alarms:
        if alarm.get("region") != group.get("region"):
            continue
        if produced.intersection((ns, name) for ns, name in alarm.get("watched_metrics") or []):
            yield alarm


def _has_subscriber(topic: Mapping[str, Any] | None) -> bool:
    return bool(topic) and (topic.get("confirmed_subscriptions") or 0) > 0  # type: ignore[union-attr]


def _fail(props: Mapping[str, Any], reason: str) -> tuple[bool, str]:
    unknown = props.get("unknown") or []
    if unknown:
        # Not proven, but not disproven either: the missing part may hold the filter or the alarm.
        raise LookupError(f"{reason}; could not read {'; '.join(unknown)}")
    return False, reason
