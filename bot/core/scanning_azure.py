"""An Azure scan: the plan from scanners/azure/plan.py, then the shared run_scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

from skywarden.bot.core.scanning import (
    ScanControl,
    ScanOutcome,
    failed_if_broker_unreachable,
    run_scan,
    scan_progress,
)
from skywarden.rules.model import Rule
from skywarden.scanners.azure.credentials import AzureSettings
from skywarden.scanners.azure.plan import AzureScope, plan_azure
from skywarden.scanners.model import CollectionResult

__all__ = ["AzureScope", "scan_azure"]


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
    broker: str | None = None,
) -> ScanOutcome:
    """Run an Azure scan and store it. Raises CollectionError naming the scope when nothing could be read.

    With a ``broker`` URL and named subscriptions, each subscription is a unit collected and evaluated by a
    Celery worker with its own credentials and endpoints (bot/core/distributed.py); otherwise in this process."""
    wanted = sorted({s.strip() for s in scope.subscriptions if s.strip()})
    if broker and wanted:
        from skywarden.bot.core.distributed import plan_distributed

        control, timeout_s, progress = scan_progress(db, control)
        with failed_if_broker_unreachable(db, "azure", {"subscriptions": wanted}, trigger, requested_by):
            plan = plan_distributed("azure", {sub: sub for sub in wanted}, broker, {"subscriptions": wanted},
                                    max_workers, timeout_s, on_plan, on_result, progress, rules=rules,
                                    shared={"scanned": wanted})
        return run_scan(db, rules, "azure", plan.description, plan.collect, trigger, requested_by, control)
    plan = plan_azure(scope, settings, credential, authentication_policy, max_workers, on_plan, on_result)
    return run_scan(db, rules, "azure", plan.description, plan.collect, trigger, requested_by, control)
