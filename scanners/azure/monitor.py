"""Subscription-level monitoring: activity log alerts (from the inventory) and the subscription's diagnostic
settings (one GET), gathered into one synthetic resource per subscription.

Its id is ``/subscriptions/<id>/providers/Microsoft.Insights/activityLogMonitoring``: ARM-shaped, but not a
real ARM resource.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scanners.azure.context import AzureContext
from scanners.model import Resource
from scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
_DESTINATIONS = ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def alert_summary(alert: Mapping[str, Any], subscription_id: str) -> dict[str, Any]:
    props = alert.get("properties") or {}
    conditions = (props.get("condition") or {}).get("allOf") or []
    fields: dict[str, list[str]] = {}
    for condition in conditions:
        values = [condition["equals"]] if condition.get("equals") else list(condition.get("containsAny") or [])
        fields.setdefault(str(condition.get("field", "")).lower(), []).extend(str(v) for v in values)
    scopes = [str(s).lower().rstrip("/") for s in props.get("scopes") or []]
    return {
        "name": alert.get("name"),
        "enabled": props.get("enabled") is not False,
        "covers_subscription": f"/subscriptions/{subscription_id}".lower() in scopes,
        "operations": [op.lower() for op in fields.get("operationname", [])],
        "categories": fields.get("category", []),
        # CIS 5.2: the alert must not narrow itself by level, status or caller.
        "filtered": sorted(set(fields) & {"level", "status", "caller"}),
    }


def alerted_operations(alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    found = set()
    for alert in alerts:
        if alert["enabled"] and alert["covers_subscription"] and not alert["filtered"]:
            found.update(alert["operations"])
    return sorted(found)


def enabled_categories(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    found = set()
    for setting in settings:
        props = setting.get("properties") or {}
        if any(props.get(key) for key in _DESTINATIONS):
            found.update(str(log.get("category")) for log in props.get("logs") or [] if log.get("enabled"))
    return sorted(found)


@collector("azure.monitor.subscription", service="monitor", regional=False)
def subscription_monitoring(ctx: AzureContext) -> Iterator[Resource]:
    sub = ctx.account_id
    errors: dict[str, str] = {}
    alerts = [alert_summary(row, sub) for row in ctx.rows("microsoft.insights/activitylogalerts")]
    settings = ctx.try_list(
        errors, "diagnostic_settings", f"/subscriptions/{sub}/providers/Microsoft.Insights/diagnosticSettings",
        DIAGNOSTICS_API,
    )
    properties: dict[str, Any] = {
        "activity_log_alerts": alerts,
        "alerted_operations": alerted_operations(alerts),
        "diagnostic_settings": settings,
        "diagnostic_categories": None if settings is None else enabled_categories(settings),
    }
    if settings is None:
        errors["diagnostic_categories"] = errors["diagnostic_settings"]
    row = {"id": f"/subscriptions/{sub}/providers/Microsoft.Insights/activityLogMonitoring",
           "name": f"{ctx.subscription.name} monitoring", "location": "global"}
    yield ctx.resource("azure.monitor.subscription", row, properties, errors)
