"""Essential Contacts of the organization a project belongs to (CIS 1.16)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.gcp.assets import GcpContext, ancestor_assets, data_of, project_ancestors
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

CONTACT = "essentialcontacts.googleapis.com/Contact"
CIS_CATEGORIES = ("LEGAL", "SECURITY", "SUSPENSION", "TECHNICAL")


@collector("gcp.essentialcontacts.organization_contacts", service="essentialcontacts", regional=False)
def organization_contacts(ctx: GcpContext) -> Iterator[Resource]:
    """One resource per project (id ``//essentialcontacts.googleapis.com/projects/<project id>/organizationContacts``)
    describing the contacts of its organization.

    The organization comes from the project asset's ``ancestors``; its contacts are listed with the
    organization as the ListAssets parent (that needs cloudasset.assets.listResource on the organization)
    and only those named ``organizations/<id>/contacts/...`` are kept, since such a listing also returns
    the contacts of every folder and project below it. Properties: ``organization`` (None for a project
    outside any organization), ``contacts`` and ``missing_categories`` (the CIS categories no contact
    subscribes to; ``ALL`` covers every one; contacts whose ``validationState`` is INVALID do not count).
    """
    organization = next((a for a in project_ancestors(ctx) if a.startswith("organizations/")), None)
    contacts: list[dict[str, Any]] = []
    if organization:
        contacts = [data_of(a) for a in ancestor_assets(ctx, [organization], [CONTACT])]
    covered: set[str] = set()
    for contact in contacts:
        if str(contact.get("validationState", "")).upper() != "INVALID":
            covered.update(str(c).upper() for c in contact.get("notificationCategorySubscriptions") or [])
    missing = [] if "ALL" in covered else [c for c in CIS_CATEGORIES if c not in covered]
    summary = {
        "name": f"//essentialcontacts.googleapis.com/projects/{ctx.project_id}/organizationContacts",
        "resource": {"location": GLOBAL_REGION},
    }
    properties = {"organization": organization, "contacts": contacts, "missing_categories": missing}
    yield ctx.resource("gcp.essentialcontacts.organization_contacts", summary, properties, name=ctx.project_id)
