"""Project IAM policies (bindings and audit configuration) and service account keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.gcp.assets import IAM_POLICY, GcpContext, ancestor_assets, data_of
from skywarden.scanners.gcp.errors import classify
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

PROJECT = "cloudresourcemanager.googleapis.com/Project"
SA_KEY = "iam.googleapis.com/ServiceAccountKey"
ORGANIZATION = "cloudresourcemanager.googleapis.com/Organization"
FOLDER = "cloudresourcemanager.googleapis.com/Folder"


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

    Bindings inherited from folders and the organization are not part of it, as in ``gcloud projects
    get-iam-policy``. Audit logging is inherited, though (CIS 2.1: "if the parent folder has Cloud Audit
    Logging enabled, the project does as well"), so ``inherited_audit_configs`` lists the ``auditConfigs``
    of the project's folders and organization, each with its ``source``; when they cannot be read,
    ``inherited_audit_configs_error`` says why (and the list is empty).
    """
    for asset in ctx.list_assets([PROJECT], IAM_POLICY):
        policy = asset.get("iamPolicy") or {}
        ancestors = [str(a) for a in asset.get("ancestors") or [] if not str(a).startswith("projects/")]
        inherited, error = inherited_audit_configs(ctx, ancestors)
        properties = {
            "projectId": ctx.project_id,
            "bindings": policy.get("bindings") or [],
            "auditConfigs": policy.get("auditConfigs") or [],
            "inherited_audit_configs": inherited,
            "inherited_audit_configs_error": error,
            "version": policy.get("version"),
            "etag": policy.get("etag"),
        }
        yield ctx.resource("gcp.iam.project_policy", asset, properties, name=ctx.project_id)


def inherited_audit_configs(ctx: GcpContext, ancestors: list[str]) -> tuple[list[dict[str, Any]], str | None]:
    """The audit configs set on ``ancestors`` (folders, organization), or ([], why) when they cannot be read."""
    try:
        assets = ancestor_assets(ctx, ancestors, [ORGANIZATION, FOLDER], IAM_POLICY)
    except Exception as exc:  # recorded on the resource; the rule then reports ERROR rather than guess
        error_class, message = classify(exc)
        return [], f"{error_class} reading the audit configuration of {', '.join(ancestors)}: {message}"
    configs = []
    for asset in assets:
        source = str(asset.get("name", "")).split("/", 3)[-1]
        for config in (asset.get("iamPolicy") or {}).get("auditConfigs") or []:
            configs.append({**config, "source": source})
    return configs, None
