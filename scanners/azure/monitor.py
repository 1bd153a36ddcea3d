"""Subscription-level monitoring: activity log alerts and Application Insights components (from the inventory),
the subscription's diagnostic settings (one GET) and the storage accounts they export to (one GET each),
gathered into one synthetic resource per subscription.

Its id is ``/subscriptions/<id>/providers/Microsoft.Insights/activityLogMonitoring``: ARM-shaped, but not a
real ARM resource.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from skywarden.scanners.azure.context import AzureContext
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

DIAGNOSTICS_API = "2021-05-01-preview"
STORAGE_API = "2023-05-01"
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


def service_health_alerted(alerts: Sequence[Mapping[str, Any]]) -> bool:
    """CIS 6.0 6.1.2.11: an enabled alert on the ServiceHealth category scoped to the subscription."""
    return any(alert["enabled"] and alert["covers_subscription"]
               and "servicehealth" in [c.lower() for c in alert["categories"]] for alert in alerts)


def enabled_categories(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    found = set()
    for setting in settings:
        props = setting.get("properties") or {}
        if any(props.get(key) for key in _DESTINATIONS):
            found.update(str(log.get("category")) for log in props.get("logs") or [] if log.get("enabled"))
    return sorted(found)


def log_storage_accounts(ctx: AzureContext, settings: Sequence[Mapping[str, Any]], errors: dict[str, str]
                         ) -> list[dict[str, Any]] | None:
    """The storage accounts receiving the activity log and their encryption key source (CIS 5.1.3).

    Each is read by id, not from this subscription's inventory: a central log account often lives in another
    subscription. A destination that cannot be read makes the rule ERROR rather than pass.
    """
    ids = sorted({str(s["properties"]["storageAccountId"]) for s in settings
                  if (s.get("properties") or {}).get("storageAccountId")}, key=str.lower)
    accounts = []
    for account_id in ids:
        account = ctx.try_get(errors, "activity_log_storage_accounts", account_id, STORAGE_API)
        if account is None:
            return None
        encryption = (account.get("properties") or {}).get("encryption") or {}
        accounts.append({"id": account_id, "key_source": encryption.get("keySource") or "Microsoft.Storage"})
    return accounts


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
        "service_health_alert": service_health_alerted(alerts),
        "diagnostic_settings": settings,
        "diagnostic_categories": None if settings is None else enabled_categories(settings),
    }
    properties["activity_log_storage_accounts"] = (
        None if settings is None else log_storage_accounts(ctx, settings, errors))
    properties["application_insights"] = sorted(str(r.get("name")) for r in ctx.rows("microsoft.insights/components"))
    if settings is None:
        errors["diagnostic_categories"] = errors["diagnostic_settings"]
        errors["activity_log_storage_accounts"] = errors["diagnostic_settings"]
    row = {"id": f"/subscriptions/{sub}/providers/Microsoft.Insights/activityLogMonitoring",
           "name": f"{ctx.subscription.name} monitoring", "location": "global"}
    yield ctx.resource("azure.monitor.subscription", row, properties, errors)
