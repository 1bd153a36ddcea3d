"""A GCP scan: the plan from scanners/gcp/plan.py, then the shared run_scan."""

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
from skywarden.scanners.gcp.credentials import GcpSettings
from skywarden.scanners.gcp.errors import RetryPolicy
from skywarden.scanners.gcp.plan import plan_gcp
from skywarden.scanners.gcp.scan import GcpScope
from skywarden.scanners.model import CollectionResult


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
    broker: str | None = None,
) -> ScanOutcome:
    """Run a GCP scan and store it. Raises CollectionError when nothing at all could be collected.

    With a ``broker`` URL and a list of projects (no folder or organization to discover), each project is a
    unit collected and evaluated by a Celery worker (bot/core/distributed.py); otherwise in this process."""
    if broker and scope.projects and not scope.parent:
        from skywarden.bot.core.distributed import plan_distributed

        control, timeout_s, progress = scan_progress(db, control)
        with failed_if_broker_unreachable(db, "gcp", scope.describe(), trigger, requested_by):
            plan = plan_distributed("gcp", {project: project for project in scope.projects}, broker,
                                    scope.describe(), max_workers, timeout_s, on_plan, on_result, progress, rules=rules)
        return run_scan(db, rules, "gcp", plan.description, plan.collect, trigger, requested_by, control)
    plan = plan_gcp(scope, settings, client, max_workers, retry, on_plan, on_result)
    return run_scan(db, rules, "gcp", plan.description, plan.collect, trigger, requested_by, control)
