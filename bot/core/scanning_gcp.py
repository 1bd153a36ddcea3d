"""A GCP scan: the plan from scanners/gcp/plan.py, then the shared run_scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

from skywarden.bot.core.scanning import ScanControl, ScanOutcome, run_scan
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
) -> ScanOutcome:
    """Run a GCP scan and store it. Raises CollectionError when nothing at all could be collected."""
    plan = plan_gcp(scope, settings, client, max_workers, retry, on_plan, on_result)
    return run_scan(db, rules, "gcp", plan.description, plan.collect, trigger, requested_by, control)
