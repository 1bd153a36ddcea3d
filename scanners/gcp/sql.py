"""Cloud SQL instances."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

INSTANCE = "sqladmin.googleapis.com/Instance"


@collector("gcp.sql.instance", service="sql", regional=False)
def instances(ctx: GcpContext) -> Iterator[Resource]:
    """The Cloud SQL Admin API instance, plus ``database_flags`` as a name -> value mapping."""
    for asset in ctx.list_assets([INSTANCE]):
        data = data_of(asset)
        settings = data.get("settings") or {}
        flags = {str(f.get("name")): str(f.get("value", "")) for f in settings.get("databaseFlags") or []}
        properties = {**data, "database_flags": flags}
        yield ctx.resource(
            "gcp.sql.instance", asset, properties, name=data.get("name"), tags=settings.get("userLabels")
        )
