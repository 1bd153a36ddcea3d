"""Cloud Logging sinks, summarised per project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.gcp.assets import GcpContext, ancestor_assets, data_of, project_ancestors
from skywarden.scanners.gcp.errors import classify
from skywarden.scanners.model import ERRORS_KEY, GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

LOG_SINK = "logging.googleapis.com/LogSink"


@collector("gcp.logging.project_sinks", service="logging", regional=False)
def project_sinks(ctx: GcpContext) -> Iterator[Resource]:
    """One synthetic resource per project, id ``//logging.googleapis.com/projects/<project id>/sinks``.

    CIS 2.2 asks whether *some* sink exports every entry, a fact about the project rather than about
    any one sink, so the sinks are listed together: ``sinks`` (each LogSink as the API returns it) and
    ``unfiltered_sinks`` (names of enabled sinks with an empty filter). CIS also accepts a sink of a folder
    or the organization that includes its children: ``inherited_sinks`` names those (as
    ``organizations/N/sinks/NAME``). A project with none of either still gets the resource, and fails;
    when it has none of its own and its ancestors cannot be read, ``exports_all_entries`` is recorded as
    not collected (the rule reports ERROR).
    """
    sinks = [data_of(asset) for asset in ctx.list_assets([LOG_SINK])]
    unfiltered = sorted(str(s.get("name")) for s in sinks if exports_everything(s))
    inherited: list[str] = []
    errors: dict[str, str] = {}
    ancestors: list[str] = []
    try:
        ancestors = project_ancestors(ctx)
        for asset in ancestor_assets(ctx, ancestors, [LOG_SINK]):
            sink = data_of(asset)
            if sink.get("includeChildren") is True and exports_everything(sink):
                inherited.append(str(asset.get("name", "")).split("/", 3)[-1])
    except Exception as exc:  # only the ancestors' part is unknown; the project's own sinks were read
        if not unfiltered:
            error_class, message = classify(exc)
            errors["exports_all_entries"] = f"{error_class} reading the sinks of {', '.join(ancestors)}: {message}"
    asset = {
        "name": f"//logging.googleapis.com/projects/{ctx.project_id}/sinks",
        "resource": {"location": GLOBAL_REGION},
    }
    properties = {
        "sinks": sinks,
        "unfiltered_sinks": unfiltered,
        "inherited_sinks": sorted(inherited),
        "exports_all_entries": bool(unfiltered or inherited),
        **({ERRORS_KEY: errors} if errors else {}),
    }
    yield ctx.resource("gcp.logging.project_sinks", asset, properties, name=ctx.project_id)


def exports_everything(sink: dict[str, Any]) -> bool:
    """An enabled sink whose inclusion filter is empty (CIS 2.2's "empty filter")."""
    return not str(sink.get("filter") or "").strip() and not sink.get("disabled")
