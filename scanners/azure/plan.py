"""An Azure scan's plan: the subscriptions to read and how to collect them (the bot stores and evaluates)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from skywarden.scanners.azure.context import AzureClients
from skywarden.scanners.azure.credentials import AzureSettings, build_credential
from skywarden.scanners.azure.scan import (
    AzureAuthError,
    collect_azure,
    failed_units,
    load_collectors,
    resolve_subscriptions,
)
from skywarden.scanners.errors import CollectionError
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult, Inventory
from skywarden.scanners.registry import collectors_for
from skywarden.scanners.scan_plan import ScanPlan, ScanTarget


@dataclass
class AzureScope:
    """What to scan in Azure: subscription ids (empty: every subscription the credentials can see)."""

    subscriptions: Sequence[str] = ()

    def describe(self, settings: AzureSettings) -> dict[str, Any]:
        return {"subscriptions": list(self.subscriptions), **settings.describe()}


def plan_azure(
    scope: AzureScope,
    settings: AzureSettings | None = None,
    credential: Any | None = None,
    authentication_policy: Any | None = None,
    max_workers: int = 16,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> ScanPlan:
    """The credential is built from ``settings.auth`` only when none is passed in."""
    settings = settings or AzureSettings.resolve()
    clients = AzureClients(settings, credential or build_credential(settings), authentication_policy)
    wanted = [s.strip() for s in scope.subscriptions if s.strip()]
    scope_text = ", ".join(wanted) if wanted else "all subscriptions visible to the credentials"

    def collect(resource_types: frozenset[str]) -> Inventory:
        try:
            targets = resolve_subscriptions(clients, wanted)
        except AzureAuthError as exc:
            message = f"Azure credentials (auth mode {settings.auth!r}) failed for {scope_text}: {exc}"
            if not wanted:
                raise CollectionError(message) from exc
            # Record the failure per named subscription so coverage says which scope went unread.
            load_collectors()
            chosen = collectors_for("azure", resource_types)
            inventory = Inventory(provider="azure", regions=[GLOBAL_REGION])
            for sub in wanted:
                inventory.accounts[sub] = sub
                inventory.coverage.extend(failed_units(sub, chosen, exc.error_class, message))
            return inventory
        if not targets:
            raise CollectionError(f"no Azure subscription to scan: the credentials see none ({scope_text})")
        return collect_azure(clients, targets, resource_types, max_workers, on_result, on_plan)

    return ScanPlan(scope.describe(settings), collect)


def plan_scan(target: ScanTarget) -> ScanPlan:
    """The provider seam's entry: ``target.options`` are plan_azure's keyword arguments (settings, credential)."""
    return plan_azure(AzureScope(subscriptions=list(target.accounts)), **dict(target.options))
