"""Project-level settings: the enabled services (Service Usage) and Access Approval enrolment."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

SERVICE = "serviceusage.googleapis.com/Service"
ACCESS_APPROVAL = "accessapproval.googleapis.com/AccessApprovalSettings"


@collector("gcp.serviceusage.project_services", service="serviceusage", regional=False)
def project_services(ctx: GcpContext) -> Iterator[Resource]:
    """One resource per project (id ``//serviceusage.googleapis.com/projects/<project id>/services``) with
    ``enabled_services``: the service names (``cloudasset.googleapis.com``) whose state is ENABLED.

    The name comes from ``config.name``, or the last part of the Service's ``name``
    (``projects/123/services/NAME``) when ``config`` is absent; a service in state DISABLED is not enabled.
    """
    enabled = set()
    for asset in ctx.list_assets([SERVICE]):
        data = data_of(asset)
        name = (data.get("config") or {}).get("name") or str(data.get("name", "")).rsplit("/", 1)[-1]
        if str(data.get("state", "ENABLED")).upper() == "ENABLED" and name:
            enabled.add(str(name))
    summary = {
        "name": f"//serviceusage.googleapis.com/projects/{ctx.project_id}/services",
        "resource": {"location": GLOBAL_REGION},
    }
    properties = {"enabled_services": sorted(enabled)}
    yield ctx.resource("gcp.serviceusage.project_services", summary, properties, name=ctx.project_id)


@collector("gcp.accessapproval.project_settings", service="accessapproval", regional=False)
def access_approval(ctx: GcpContext) -> Iterator[Resource]:
    """One resource per project (id ``//accessapproval.googleapis.com/projects/<project id>/accessApprovalSettings``)
    with the project's AccessApprovalSettings, if any, and ``enrolled``.

    A project is enrolled when its settings list ``enrolledServices`` or say ``enrolledAncestor`` (a folder
    or the organization enrolled it); with no settings at all it is not enrolled.
    """
    found = [data_of(a) for a in ctx.list_assets([ACCESS_APPROVAL]) if "/projects/" in str(a.get("name", ""))]
    settings = found[0] if found else {}
    summary = {
        "name": f"//accessapproval.googleapis.com/projects/{ctx.project_id}/accessApprovalSettings",
        "resource": {"location": GLOBAL_REGION},
    }
    enrolled = bool(settings.get("enrolledServices")) or settings.get("enrolledAncestor") is True
    properties = {"settings": settings, "enrolled": enrolled}
    yield ctx.resource("gcp.accessapproval.project_settings", summary, properties, name=ctx.project_id)
