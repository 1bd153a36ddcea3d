"""CIS 4.1-4.15: a CloudTrail metric filter with an alarm that notifies someone, for given events.

The chain spans four services (CloudTrail, CloudWatch Logs, CloudWatch, SNS) joined on log group, metric
and topic, which the YAML condition language cannot join; the collector (scanners/aws/monitoring.py)
gathers the pieces and this check walks them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from skywarden.rules.checks import CHECKS
from skywarden.rules.checks.filter_patterns import FilterPatternError, compile_filter

# A CloudTrail record as it reaches CloudWatch Logs; each rule's clauses overwrite the fields they name.
_BASE_EVENT: dict[str, Any] = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "IAMUser",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "userName": "alice",
    },
    "eventTime": "2026-01-01T00:00:00Z",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "DescribeInstances",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.10",
    "userAgent": "aws-cli/2.15",
    "eventType": "AwsApiCall",
    "recipientAccountId": "111122223333",
}
# For "field != value": a realistic value that is not it (the benchmark's exclusions and MFAUsed).
_OTHER_VALUE = {"Yes": "No", "AwsServiceEvent": "AwsApiCall", "HeadBucket": "GetObject"}
_CLAUSE_OPERATORS = ("=", "!=", "NOT EXISTS")


@dataclass(frozen=True)
class Probes:
    """Events a compliant filter must match (``fire``) and must not match (``quiet``)."""

    fire: tuple[dict[str, Any], ...]
    quiet: tuple[dict[str, Any], ...]


def filter_probes(params: Mapping[str, Any]) -> Probes:
    """Sample CloudTrail events from a rule's params.

    ``event_source``: ``$.eventSource`` of every event; ``event_names``: one event per name, each must fire;
    ``clauses``: ``[field, "=", value]`` (several values for one field are alternatives, each must fire;
    ``*`` in a value is a wildcard), ``[field, "!=", value]`` (an event with that value must stay quiet) and
    ``[field, "NOT EXISTS"]`` (an event carrying the field must stay quiet).
    """
    equal: dict[str, list[str]] = {}
    differ: list[tuple[str, str]] = []
    absent: list[str] = []
    for clause in params.get("clauses") or []:
        if not isinstance(clause, list | tuple) or len(clause) < 2 or clause[1] not in _CLAUSE_OPERATORS:
            raise ValueError(f"clause {clause!r}: use [field, '=' | '!=', value] or [field, 'NOT EXISTS']")
        field_name, operator = str(clause[0]), clause[1]
        if operator == "NOT EXISTS":
            absent.append(field_name)
        elif len(clause) != 3:
            raise ValueError(f"clause {clause!r} needs a value")
        elif operator == "=":
            equal.setdefault(field_name, []).append(str(clause[2]))
        else:
            differ.append((field_name, str(clause[2])))
    names = [str(n) for n in params.get("event_names") or []]
    if not names and not equal:
        raise ValueError("give event_names or '=' clauses")
    base = copy.deepcopy(_BASE_EVENT)
    if params.get("event_source"):
        base["eventSource"] = str(params["event_source"])
    for field_name, value in differ:
        _set(base, field_name, _OTHER_VALUE.get(value, f"not-{value}"))
    for field_name in absent:
        _remove(base, field_name)
    variants = [base]
    for field_name, values in equal.items():
        variants = [_with(v, field_name, _example(value)) for v in variants for value in values]
    fire = [_named(v, name, "errorMessage" in equal) for v in variants for name in names] if names else variants
    quiet = [_with(fire[0], field_name, _example(value)) for field_name, value in differ]
    quiet += [_with(fire[0], field_name, "signin.amazonaws.com") for field_name in absent]
    return Probes(tuple(fire), tuple(quiet))


def _named(event: dict[str, Any], name: str, failed: bool) -> dict[str, Any]:
    named = _with(event, "eventName", name)
    if name == "ConsoleLogin":
        # Sign-in records carry their outcome; the benchmark's SSO-aware 4.2 pattern tests it.
        _set(named, "responseElements.ConsoleLogin", "Failure" if failed else "Success")
    return named


def _example(value: str) -> str:
    # "*UnauthorizedOperation" -> "Client.UnauthorizedOperation", "AccessDenied*" -> "AccessDeniedException".
    if value.startswith("*"):
        value = "Client." + value[1:]
    if value.endswith("*"):
        value = value[:-1] + "Exception"
    return value.replace("*", "x")


def _with(event: dict[str, Any], field_name: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    _set(changed, field_name, value)
    return changed


def _set(event: dict[str, Any], field_name: str, value: Any) -> None:
    *parents, last = field_name.split(".")
    for part in parents:
        event = event.setdefault(part, {})
    event[last] = value


def _remove(event: dict[str, Any], field_name: str) -> None:
    *parents, last = field_name.split(".")
    for part in parents:
        event = event.get(part) or {}
    event.pop(last, None)


def pattern_fires(filter_pattern: str, probes: Probes) -> bool:
    """True when the filter matches every event it must catch and none of those it must leave out."""
    try:
        matches = compile_filter(filter_pattern)
    except FilterPatternError:
        return False  # not a JSON pattern we can read (space-delimited, regex terms): it cannot be shown to fire
    return all(matches(e) for e in probes.fire) and not any(matches(e) for e in probes.quiet)


@CHECKS.register("aws_cis_metric_filter_alarm")
def aws_cis_metric_filter_alarm(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when a qualifying trail's log group has a matching metric filter whose metric has an
    enabled alarm notifying an SNS topic with at least one confirmed subscription.

    A qualifying trail is multi-region, logging, records all management events, and sends to a CloudWatch
    Logs log group in this account. Reads aws.cloudwatch.cis_monitoring. When the chain is not proven and
    some part could not be read (``unknown``), the outcome is unknown: this raises, and the rule ERRORs.
    """
    probes = filter_probes(params)
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
            if not pattern_fires(str(metric_filter.get("filterPattern") or ""), probes):
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
