"""App Service sites. The site's own properties have httpsOnly; TLS, FTP and HTTP/2 settings live in its
``config/web`` child, which list and Resource Graph answers leave empty: one GET per site."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.azure.context import AzureContext, base_properties
from scanners.model import Resource
from scanners.registry import collector

WEB_API = "2023-12-01"


@collector("azure.web.site", service="web", regional=False)
def web_sites(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.web/sites"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        config = ctx.try_get(errors, "site_config", f"{row['id']}/config/web", WEB_API)
        properties["site_config"] = None if config is None else (config.get("properties") or {})
        yield ctx.resource("azure.web.site", row, properties, errors)
