"""A GCP scan end to end: credentials, the scope's projects, collection, then the shared run_scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

from skywarden.bot.core.scanning import ScanControl, ScanOutcome, run_scan
from skywarden.rules.model import Rule
from skywarden.scanners.errors import CollectionError
from skywarden.scanners.gcp.credentials import GcpSettings, asset_client, load_credentials
from skywarden.scanners.gcp.errors import RetryPolicy
from skywarden.scanners.gcp.scan import GcpScope, collect_gcp, load_collectors, unreachable
from skywarden.scanners.model import CollectionResult, Inventory
from skywarden.scanners.registry import collectors_for


def scan_gcp(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    scope: GcpScope,
    settings: GcpSettings | None = None,
    client: Any | None = None,
    max_workers: int = 16,
    retry: RetryPolicy | None = None,
    trigger: str = "cli",
    requested_by: str | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    control: ScanControl | None = None,
) -> ScanOutcome:
    """Run a GCP scan and store it. Raises CollectionError when nothing at all could be collected.

    Without usable credentials the scan is still recorded, with every unit of the scope failed as
    NoCredentials, so ``skywarden status`` shows why nothing was read.
    """
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

    description = {**scope.describe(), "asset_endpoint": settings.asset_endpoint}
    return run_scan(db, rules, "gcp", description, collect, trigger, requested_by, control)
