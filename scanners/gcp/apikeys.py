"""API keys: each key, and the project's keys counted together."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

API_KEY = "apikeys.googleapis.com/Key"
ALL_GOOGLE_CLOUD_APIS = "cloudapis.googleapis.com"


@collector("gcp.apikeys.key", "gcp.apikeys.project_keys", service="apikeys", regional=False)
def api_keys(ctx: GcpContext) -> Iterator[Resource]:
    """``gcp.apikeys.key``: the API Keys v2 Key plus ``api_targets`` (the services it may call) and
    ``unrestricted_api``: no API restriction, or one that names cloudapis.googleapis.com (every Google
    Cloud API). A key with ``deleteTime`` is in its 30-day undelete window and cannot be used: skipped.

    ``gcp.apikeys.project_keys``: one resource per project (id ``//apikeys.googleapis.com/projects/<project
    id>/keys``) with ``active_keys``, because CIS 1.12 asks that a project have no key at all.
    """
    keys = [(asset, data_of(asset)) for asset in ctx.list_assets([API_KEY])]
    active = [(asset, data) for asset, data in keys if not data.get("deleteTime")]
    if ctx.wants("gcp.apikeys.key"):
        for asset, data in active:
            targets = sorted(
                str(t.get("service")) for t in (data.get("restrictions") or {}).get("apiTargets") or [] if t
            )
            properties = {
                **data,
                "api_targets": targets,
                "unrestricted_api": not targets or ALL_GOOGLE_CLOUD_APIS in targets,
            }
            name = data.get("displayName") or None
            yield ctx.resource("gcp.apikeys.key", asset, properties, name=name, tags=data.get("annotations"))
    if ctx.wants("gcp.apikeys.project_keys"):
        summary = {
            "name": f"//apikeys.googleapis.com/projects/{ctx.project_id}/keys",
            "resource": {"location": GLOBAL_REGION},
        }
        names = sorted(str(data.get("displayName") or data.get("uid") or asset["name"]) for asset, data in active)
        properties = {"active_keys": names, "active_key_count": len(names)}
        yield ctx.resource("gcp.apikeys.project_keys", summary, properties, name=ctx.project_id)
