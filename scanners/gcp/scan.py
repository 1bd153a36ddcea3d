"""Collect a GCP inventory: the projects of a scope, each needed asset-type group, on a bounded pool.

Coverage is per (project, asset-type group): a project the credentials cannot read, or a group the API
throttles, is a failed unit of its own and never hides what the other units read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from skywarden.scanners.errors import ConfigError
from skywarden.scanners.fanout import Unit, run_units
from skywarden.scanners.gcp.assets import RESOURCE, GcpContext, SharedListings, data_of, list_assets
from skywarden.scanners.gcp.errors import RetryPolicy, classify
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult, Inventory
from skywarden.scanners.registry import Collector, collectors_for

COLLECTOR_MODULES = (
    "storage",
    "compute",
    "sql",
    "kms",
    "iam",
    "cloudlogging",
    "dns",
    "dataproc",
    "bigquery",
    "monitoring",
    "apikeys",
    "projectsettings",
    "contacts",
)
PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"


def load_collectors() -> None:
    """Import every GCP service module so its collectors register."""
    for name in COLLECTOR_MODULES:
        importlib.import_module(f"skywarden.scanners.gcp.{name}")


@dataclass
class GcpScope:
    """What to scan: projects (ids), or every active project under one folder or organization."""

    projects: Sequence[str] = ()
    folder: str | None = None
    organization: str | None = None

    def __post_init__(self) -> None:
        kinds = [bool(self.projects), bool(self.folder), bool(self.organization)]
        if sum(kinds) != 1:
            raise ConfigError("choose one GCP scope: --project (repeatable), --folder or --organization")

    @property
    def parent(self) -> str | None:
        """The folder or organization to discover projects under (None for a project list)."""
        if self.folder:
            return self.folder if self.folder.startswith("folders/") else f"folders/{self.folder}"
        if self.organization:
            org = self.organization
            return org if org.startswith("organizations/") else f"organizations/{org}"
        return None

    @property
    def label(self) -> str:
        """The scope as users name it in messages: ``projects/a, projects/b`` or ``folders/123``."""
        return self.parent or ", ".join(f"projects/{p}" for p in self.projects)

    def describe(self) -> dict[str, Any]:
        return {
            "projects": list(self.projects),
            "folder": self.folder,
            "organization": self.organization,
        }


def discover_projects(client: Any, parent: str, retry: RetryPolicy | None = None) -> dict[str, str]:
    """Active projects under a folder or organization (id -> display name), through Cloud Asset too."""
    found = {}
    for asset in list_assets(client, parent, [PROJECT_ASSET], RESOURCE, retry):
        data = data_of(asset)
        if data.get("lifecycleState", "ACTIVE") == "ACTIVE" and data.get("projectId"):
            found[str(data["projectId"])] = str(data.get("name") or data["projectId"])
    return dict(sorted(found.items()))


def collect_gcp(
    client: Any,
    scope: GcpScope,
    resource_types: Iterable[str] | None = None,
    max_workers: int = 16,
    retry: RetryPolicy | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> Inventory:
    """Collect what the rules need from every project of ``scope`` with an AssetServiceClient."""
    load_collectors()
    retry = retry or RetryPolicy()
    wanted = None if resource_types is None else frozenset(resource_types)
    chosen = collectors_for("gcp", wanted)
    inventory = Inventory(provider="gcp", regions=[GLOBAL_REGION])
    if scope.parent:
        try:
            inventory.accounts.update(discover_projects(client, scope.parent, retry))
        except Exception as exc:  # recorded as the scope's coverage gap, never swallowed
            inventory.coverage.extend(unreachable(scope.parent, chosen, classify(exc)))
            return inventory
    else:
        inventory.accounts.update({project: project for project in scope.projects})
    shared = SharedListings()  # organization-level listings, read once for all the scope's projects
    units = [
        Unit("gcp", project, item.service, GLOBAL_REGION, item.resource_types, _bind(item, context))
        for project in inventory.accounts
        for item in chosen
        for context in [GcpContext(client, project, wanted, retry, shared=shared)]
    ]
    if on_plan is not None:
        on_plan(len(units))
    resources, coverage = run_units(units, classify, max_workers=max_workers, on_result=on_result)
    inventory.resources = resources
    inventory.coverage.extend(coverage)
    return inventory


def unreachable(account: str, chosen: Sequence[Collector], error: tuple[str, str]) -> list[CollectionResult]:
    """One failed coverage row per collector for a scope or project nothing could be read from."""
    error_class, message = error
    return [
        CollectionResult(
            "gcp", account, item.service, GLOBAL_REGION, item.resource_types, "failed", error_class, message
        )
        for item in chosen
    ]


def _bind(item: Collector, context: GcpContext) -> Callable[[], Iterable]:  # type: ignore[type-arg]
    return lambda: item.fn(context)
