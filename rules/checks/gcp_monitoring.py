"""CIS GCP 2.4-2.11: a log-based metric with the prescribed filter, watched by an enabled alert policy.

The metric and the policy are separate resources joined on the metric's type
(``logging.googleapis.com/user/<name>``), which the YAML language cannot join; the collector
(scanners/gcp/monitoring.py) gathers both per project and this check walks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from skywarden.rules.checks import CHECKS

USER_METRIC = "logging.googleapis.com/user/"


def filter_regexes(params: Mapping[str, Any]) -> list[re.Pattern[str]]:
    """The regexes a metric's filter must all match.

    ``clauses``: ``[field, value]`` pairs, each required as ``field=value`` or ``field:value`` (the
    Logging query language's equality and has operators), the value quoted or not; a value ending in a
    method such as ``compute.firewalls.patch`` also matches its versioned spellings (``v1.compute...``,
    ``beta.compute...``), as CIS's own alternative filters write it. ``terms``: bare words the filter must
    contain (``ProjectOwnership``).
    """
    clauses = tuple((str(f), str(v)) for f, v in params.get("clauses") or [])
    terms = tuple(str(t) for t in params.get("terms") or [])
    if not clauses and not terms:
        raise ValueError("gcp_log_metric_alert needs clauses or terms")
    return _compiled(clauses, terms)


@lru_cache(maxsize=64)
def _compiled(clauses: tuple[tuple[str, str], ...], terms: tuple[str, ...]) -> list[re.Pattern[str]]:
    regexes = []
    for field, value in clauses:
        # Audit log method names carry an API version in front (v1.compute.networks.delete).
        prefix = r"(?:[A-Za-z0-9_]+\.)?" if field.endswith("methodName") and value[:1].islower() else ""
        body = r"\*" if value == "*" else prefix + re.escape(value)
        regexes.append(re.compile(rf"{re.escape(field)}\s*[=:]\s*\"?{body}\"?(?![A-Za-z0-9_.\-/])"))
    regexes.extend(re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(term)}(?![A-Za-z0-9_])") for term in terms)
    return regexes


def filter_matches(text: str, regexes: Sequence[re.Pattern[str]]) -> bool:
    flat = " ".join(str(text).split())
    return all(regex.search(flat) for regex in regexes)


def metric_type(metric: Mapping[str, Any]) -> str:
    descriptor = metric.get("metricDescriptor") or {}
    return str(descriptor.get("type") or f"{USER_METRIC}{metric.get('name', '')}")


def _condition_texts(policy: Mapping[str, Any]) -> Iterable[str]:
    for condition in policy.get("conditions") or []:
        for kind in ("conditionThreshold", "conditionAbsent"):
            if isinstance(condition.get(kind), Mapping):
                yield str(condition[kind].get("filter") or "")
        for kind in ("conditionMonitoringQueryLanguage", "conditionPrometheusQueryLanguage"):
            if isinstance(condition.get(kind), Mapping):
                yield str(condition[kind].get("query") or "")


def watches(policy: Mapping[str, Any], metric: str) -> bool:
    """The policy has a condition on ``metric``: ``metric.type="..."`` in a filter, the type in an MQL
    query, or its PromQL spelling (``logging_googleapis_com:user_<name>``)."""
    promql = metric.replace(".", "_").replace("/", ":", 1).replace("/", "_")
    exact = re.compile(rf"{re.escape(metric)}(?![A-Za-z0-9_.\-/])")
    return any(exact.search(text) or promql in text for text in _condition_texts(policy))


def enabled(policy: Mapping[str, Any]) -> bool:
    # ``enabled`` is a BoolValue: the API documents an unset value as enabled.
    return policy.get("enabled", True) is not False


@CHECKS.register("gcp_log_metric_alert")
def log_metric_alert(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when an enabled log metric's filter has every prescribed clause and an enabled alert
    policy with at least one notification channel has a condition on that metric (gcp.monitoring.log_alerting).
    """
    regexes = filter_regexes(params)
    metrics = resource.properties.get("log_metrics")
    policies = resource.properties.get("alert_policies")
    if not isinstance(metrics, list) or not isinstance(policies, list):
        raise TypeError("the resource has no log_metrics / alert_policies lists")
    matching = [m for m in metrics if not m.get("disabled") and filter_matches(str(m.get("filter", "")), regexes)]
    if not matching:
        return False, "no enabled log-based metric has the prescribed filter"
    for metric in matching:
        for policy in policies:
            if enabled(policy) and policy.get("notificationChannels") and watches(policy, metric_type(metric)):
                name = policy.get("displayName") or policy.get("name")
                return True, f"metric {metric.get('name')} is alerted on by policy {name}"
    names = ", ".join(sorted(str(m.get("name")) for m in matching))
    return False, f"metric {names} has the filter but no enabled alert policy with a notification channel watches it"
