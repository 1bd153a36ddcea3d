"""Cloud Logging sinks, summarised per project."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.gcp.assets import GcpContext, data_of
from scanners.model import GLOBAL_REGION, Resource
from scanners.registry import collector

LOG_SINK = "logging.googleapis.com/LogSink"


@collector("gcp.logging.project_sinks", service="logging", regional=False)
def project_sinks(ctx: GcpContext) -> Iterator[Resource]:
    """One synthetic resource per project, id ``//logging.googleapis.com/projects/<project id>/sinks``.

    CIS 2.2 asks whether *some* sink exports every entry, a fact about the project rather than about
    any one sink, so the sinks are listed together: ``sinks`` (each LogSink as the API returns it) and
    ``unfiltered_sinks`` (names of enabled sinks with an empty filter). A project with no sink still
    gets the resource, and fails.
    """
    sinks = [data_of(asset) for asset in ctx.list_assets([LOG_SINK])]
    unfiltered = sorted(
        str(s.get("name")) for s in sinks if not str(s.get("filter") or "").strip() and not s.get("disabled")
    )
    asset = {
        "name": f"//logging.googleapis.com/projects/{ctx.project_id}/sinks",
        "resource": {"location": GLOBAL_REGION},
    }
    properties = {"sinks": sinks, "unfiltered_sinks": unfiltered, "exports_all_entries": bool(unfiltered)}
    yield ctx.resource("gcp.logging.project_sinks", asset, properties, name=ctx.project_id)
