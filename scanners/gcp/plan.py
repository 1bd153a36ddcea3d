"""A GCP scan's plan: credentials, the scope's projects and how to collect them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skywarden.scanners.errors import CollectionError
from skywarden.scanners.gcp.credentials import GcpSettings, asset_client, load_credentials
from skywarden.scanners.gcp.errors import RetryPolicy
from skywarden.scanners.gcp.scan import GcpScope, collect_gcp, load_collectors, unreachable
from skywarden.scanners.model import CollectionResult, Inventory
from skywarden.scanners.registry import collectors_for
from skywarden.scanners.scan_plan import ScanPlan, ScanTarget


def plan_gcp(
    scope: GcpScope,
    settings: GcpSettings | None = None,
    client: Any | None = None,
    max_workers: int = 16,
    retry: RetryPolicy | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> ScanPlan:
    """Without usable credentials the plan still collects: every unit of the scope fails as NoCredentials, so
    ``skywarden status`` shows why nothing was read."""
    settings = settings or GcpSettings.resolve()
    credential_error: CollectionError | None = None
    if client is None:
        try:
            client = asset_client(load_credentials(settings, scope.label), settings.asset_endpoint)
        except CollectionError as exc:
            credential_error = exc

    def collect(resource_types: frozenset[str]) -> Inventory:
        if credential_error is not None:
            load_collectors()
            inventory = Inventory(provider="gcp")
            chosen = collectors_for("gcp", resource_types)
            for account in [scope.parent] if scope.parent else list(scope.projects):
                inventory.accounts[account] = account
                inventory.coverage.extend(unreachable(account, chosen, ("NoCredentials", str(credential_error))))
            return inventory
        return collect_gcp(
            client,
            scope,
            resource_types=resource_types,
            max_workers=max_workers,
            retry=retry,
            on_result=on_result,
            on_plan=on_plan,
        )

    return ScanPlan({**scope.describe(), "asset_endpoint": settings.asset_endpoint}, collect)


def plan_scan(target: ScanTarget) -> ScanPlan:
    """The provider seam's entry: ``target.options`` are plan_gcp's keyword arguments (settings, client)."""
    return plan_gcp(GcpScope(projects=list(target.accounts)), **dict(target.options))
