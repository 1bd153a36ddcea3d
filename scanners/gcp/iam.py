"""Project IAM policies (bindings and audit configuration) and service account keys."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.gcp.assets import IAM_POLICY, GcpContext, data_of
from scanners.model import Resource
from scanners.registry import collector

PROJECT = "cloudresourcemanager.googleapis.com/Project"
SA_KEY = "iam.googleapis.com/ServiceAccountKey"


@collector("gcp.iam.project_policy", "gcp.iam.service_account_key", service="iam", regional=False)
def iam(ctx: GcpContext) -> Iterator[Resource]:
    if ctx.wants("gcp.iam.project_policy"):
        yield from project_policy(ctx)
    if ctx.wants("gcp.iam.service_account_key"):
        for asset in ctx.list_assets([SA_KEY]):
            data = data_of(asset)
            # projects/P/serviceAccounts/EMAIL/keys/ID: the email says whose key it is.
            parts = str(data.get("name", "")).split("/")
            account = parts[3] if len(parts) > 3 else ""
            properties = {**data, "service_account": account}
            yield ctx.resource("gcp.iam.service_account_key", asset, properties, name=f"{account}/{parts[-1]}")


def project_policy(ctx: GcpContext) -> Iterator[Resource]:
    """The project's own IAM policy (``bindings``, ``auditConfigs``): what is granted and audited here.

    Policies inherited from folders and the organization are not part of it, as in
    ``gcloud projects get-iam-policy``; scan those scopes to see theirs.
    """
    for asset in ctx.list_assets([PROJECT], IAM_POLICY):
        policy = asset.get("iamPolicy") or {}
        properties = {
            "projectId": ctx.project_id,
            "bindings": policy.get("bindings") or [],
            "auditConfigs": policy.get("auditConfigs") or [],
            "version": policy.get("version"),
            "etag": policy.get("etag"),
        }
        yield ctx.resource("gcp.iam.project_policy", asset, properties, name=ctx.project_id)
