"""An Azure scan: resolve the subscriptions, collect through Resource Graph/ARM, then the shared run_scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from skywarden.bot.core.scanning import ScanControl, ScanOutcome, run_scan
from skywarden.rules.model import Rule
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


@dataclass
class AzureScope:
    """What to scan in Azure: subscription ids (empty: every subscription the credentials can see)."""

    subscriptions: Sequence[str] = ()

    def describe(self, settings: AzureSettings) -> dict[str, Any]:
        return {"subscriptions": list(self.subscriptions), **settings.describe()}


def scan_azure(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    scope: AzureScope,
    settings: AzureSettings | None = None,
    credential: Any | None = None,
    authentication_policy: Any | None = None,
    max_workers: int = 16,
    trigger: str = "cli",
    requested_by: str | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    control: ScanControl | None = None,
) -> ScanOutcome:
    """Run an Azure scan and store it. Raises CollectionError naming the scope when nothing could be read.

    The credential is built from ``settings.auth`` only when none is passed in.
    """
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

    return run_scan(db, rules, "azure", scope.describe(settings), collect, trigger, requested_by, control)
