"""App Service sites. The site's own properties have httpsOnly; TLS, FTP and HTTP/2 settings live in its
``config/web`` child, which list and Resource Graph answers leave empty, and App Service Authentication in
``config/authsettingsV2``: two GETs per site."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

WEB_API = "2023-12-01"


def authentication_enabled(settings: Mapping[str, Any]) -> bool:
    """App Service Authentication (Easy Auth) on: ``platform.enabled`` in the V2 shape (config/authsettingsV2),
    top-level ``enabled`` in the V1 shape (config/authsettings/list), so either answer reads the same.
    Absent means off, as the portal shows it."""
    props = settings.get("properties") or {}
    if isinstance(props.get("platform"), Mapping):
        return props["platform"].get("enabled") is True
    return props.get("enabled") is True


@collector("azure.web.site", service="web", regional=False)
def web_sites(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.web/sites"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        config = ctx.try_get(errors, "site_config", f"{row['id']}/config/web", WEB_API)
        properties["site_config"] = None if config is None else (config.get("properties") or {})
        auth = ctx.try_get(errors, "authentication_enabled", f"{row['id']}/config/authsettingsV2", WEB_API)
        properties["authentication_enabled"] = None if auth is None else authentication_enabled(auth)
        yield ctx.resource("azure.web.site", row, properties, errors)
