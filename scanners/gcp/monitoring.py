"""Log-based metrics and Cloud Monitoring alert policies, gathered per project for CIS 2.4-2.11."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

LOG_METRIC = "logging.googleapis.com/LogMetric"
ALERT_POLICY = "monitoring.googleapis.com/AlertPolicy"


@collector("gcp.monitoring.log_alerting", service="monitoring", regional=False)
def log_alerting(ctx: GcpContext) -> Iterator[Resource]:
    """One synthetic resource per project, id ``//monitoring.googleapis.com/projects/<project id>/logAlerting``.

    CIS asks whether *some* log-based metric with a given filter is watched by *some* enabled alert
    policy: a fact about the project, which the YAML language cannot join, so the collector lists both
    (``log_metrics``: each LogMetric as the Logging API returns it; ``alert_policies``: each AlertPolicy
    as the Monitoring API returns it) and the check gcp_log_metric_alert walks them. A project with
    neither still gets the resource, and fails.
    """
    metrics, policies = [], []
    for asset in ctx.list_assets([LOG_METRIC, ALERT_POLICY]):
        (metrics if asset.get("assetType") == LOG_METRIC else policies).append(data_of(asset))
    asset = {
        "name": f"//monitoring.googleapis.com/projects/{ctx.project_id}/logAlerting",
        "resource": {"location": GLOBAL_REGION},
    }
    properties = {"log_metrics": metrics, "alert_policies": policies}
    yield ctx.resource("gcp.monitoring.log_alerting", asset, properties, name=ctx.project_id)
