"""One scan, end to end: resolve the scope, collect, evaluate, reconcile, record coverage.

Shared by the CLI, the demo and (later) the Slack bot and the scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from skywarden.bot.core.gathered import GatheredInventory
from skywarden.rules.engine import Engine, EvaluationReport
from skywarden.rules.model import Evaluation, Rule
from skywarden.rules.passes import all_evaluations
from skywarden.scanners.aws.plan import AwsScope, plan_aws  # noqa: F401 - AwsScope: the scope type scan_aws takes
from skywarden.scanners.errors import CollectionError, SkywardenError
from skywarden.scanners.model import CollectionResult, Inventory
from skywarden.storage import scans
from skywarden.storage.check_results import record_check_results
from skywarden.storage.db import now
from skywarden.storage.findings import ReconcileResult, reconcile
from skywarden.storage.liveness import Heartbeat, database_file

log = logging.getLogger(__name__)


class ScanTimeout(SkywardenError):
    pass


class ScanControl:
    """Cooperative timeout between the orchestrator and a running scan. A thread cannot be killed, so the
    scan checks in: after collection (``checkpoint``) and right before its final transaction (``commit``).
    Once committing, the watchdog lets it finish; once expired, the scan stores nothing."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.timeout_s = timeout_s
        self.scan_id: int | None = None
        self.state = "running"  # running -> committing | expired
        self._lock = threading.Lock()
        # (units done, units total) as collection advances; set by whoever shows it (the orchestrator).
        self.on_progress: Callable[[int, int], None] | None = None

    def started(self, scan_id: int) -> None:
        self.scan_id = scan_id

    def _check(self) -> None:
        if self.state == "expired" or (self.deadline is not None and time.monotonic() >= self.deadline):
            self.state = "expired"
            raise ScanTimeout(f"timed out after {self.timeout_s:g} s; nothing was stored or resolved")

    def progress(self, done: int, total: int) -> None:
        """Report collection progress; showing it is a courtesy, so a failure here never fails the scan."""
        if self.on_progress is None:
            return
        try:
            self.on_progress(done, total)
        except Exception:
            log.warning("scan progress %d/%d could not be shown", done, total, exc_info=True)

    def checkpoint(self) -> None:
        with self._lock:
            self._check()

    def commit(self) -> None:
        with self._lock:
            self._check()
            self.state = "committing"

    def expire(self) -> bool:
        """The watchdog's side: True when the scan had not started committing (it will now store nothing)."""
        with self._lock:
            if self.state != "running":
                return False
            self.state = "expired"
            return True

    @property
    def expired(self) -> bool:
        return self.state == "expired"


@dataclass
class ScanOutcome:
    scan_id: int
    status: str
    inventory: Inventory
    report: EvaluationReport
    reconcile: ReconcileResult
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def gaps(self) -> list[CollectionResult]:
        return self.inventory.gaps


def scan_aws(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    scope: AwsScope,
    session: Any | None = None,
    max_workers: int = 16,
    trigger: str = "cli",
    requested_by: str | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    control: ScanControl | None = None,
    broker: str | None = None,
    regions_per_unit: int | None = None,
) -> ScanOutcome:
    """Run an AWS scan and store it. Raises CollectionError when nothing at all could be collected.

    With a ``broker`` URL the accounts are collected and evaluated by Celery workers, in units of
    ``regions_per_unit`` regions (bot/core/distributed.py); without one, in this process as always."""
    if broker:
        from skywarden.bot.core.distributed import plan_distributed_aws

        control, timeout_s, progress = scan_progress(db, control)
        with failed_if_broker_unreachable(db, "aws", scope.describe(), trigger, requested_by):
            plan = plan_distributed_aws(scope, broker, session, max_workers, timeout_s, on_plan, on_result,
                                        progress, rules=rules, unit_regions=regions_per_unit)
    else:
        plan = plan_aws(scope, session, max_workers, on_plan, on_result)
    return run_scan(db, rules, "aws", plan.description, plan.collect, trigger, requested_by, control)


@contextlib.contextmanager
def failed_if_broker_unreachable(db: sqlite_utils.Database, provider: str, scope: dict[str, Any], trigger: str,
                                 requested_by: str | None) -> Iterator[None]:
    """Around planning a distributed scan: a broker that cannot be reached means the scan was asked for and did
    not run, so it is on record as failed (status, Slack), resolving nothing, before the error goes on."""
    from skywarden.bot.core.distributed import BrokerUnavailable

    try:
        yield
    except BrokerUnavailable as exc:
        scan_id = scans.start_scan(db, provider, {**scope, "distributed": True}, trigger, requested_by)
        scans.finish_scan(db, scan_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise


def scan_progress(db: sqlite_utils.Database, control: ScanControl | None
                  ) -> tuple[ScanControl, float, Callable[[int, int], None]]:
    """For a distributed scan: its control (which carries the scan id to the progress rows), the units' time
    budget, and the callback that records units done / total."""
    # Units give up a little before the scan's own timeout, so a lost unit is recorded as a failed unit.
    timeout_s = 0.9 * control.timeout_s if control is not None and control.timeout_s else 3600
    known = control or ScanControl()

    def progress(done: int, total: int) -> None:
        if known.scan_id is not None:
            scans.record_progress(db, known.scan_id, done, total)
        known.progress(done, total)

    return known, timeout_s, progress


def run_scan(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    provider: str,
    scope: dict[str, Any],
    collect: Callable[[frozenset[str]], Inventory],
    trigger: str = "cli",
    requested_by: str | None = None,
    control: ScanControl | None = None,
) -> ScanOutcome:
    """The provider-independent part of a scan: record it, collect what the rules need, evaluate, reconcile.

    ``collect`` receives the resource types the provider's rules read and returns the inventory with its
    coverage. Raises CollectionError when no collection unit succeeded.

    Crash safety: reconcile (inventory, findings, their events) and finish_scan commit in ONE transaction at
    the very end. A process killed before that commit leaves a 'running' scan that changed no finding
    (marked 'interrupted' at the next start); killed after it, the scan is complete.
    """
    engine = Engine([rule for rule in rules if rule.provider == provider])
    scan_id = scans.start_scan(db, provider, scope, trigger, requested_by)
    if control is not None:
        control.started(scan_id)
    # The heartbeat tells other processes (serve starting, the next CLI command) that this scan is alive.
    with Heartbeat(database_file(db.conn), scan_id):
        return _run_started(db, engine, scan_id, collect, control)


def _run_started(db: sqlite_utils.Database, engine: Engine, scan_id: int,
                 collect: Callable[[frozenset[str]], Inventory], control: ScanControl | None) -> ScanOutcome:
    try:
        inventory = collect(engine.resource_types)
        if control is not None:
            control.checkpoint()
        scans.record_coverage(db, scan_id, inventory.coverage)
        if isinstance(inventory, GatheredInventory):  # workers evaluated it, with the same rules (checked)
            report = inventory.report
            evaluations: Iterable[Evaluation] = inventory.evaluations()
        else:
            report = engine.evaluate(inventory.resources)
            evaluations = all_evaluations(report, inventory.resources)
        succeeded = sum(1 for unit in inventory.coverage if unit.ok)
        status = "succeeded" if not inventory.gaps else ("partial" if succeeded else "failed")
        if control is not None:
            control.commit()
        with db.atomic():
            at = now()
            result = reconcile(db, scan_id, inventory, report, at)
            record_check_results(db, scan_id, evaluations, at)
            summary = {
                "accounts": inventory.accounts,
                "regions": inventory.regions,
                "resources": len(inventory.resources),
                "evaluations": report.evaluated,
                "outcomes": {outcome.value: count for outcome, count in report.counts.items()},
                "coverage": {"units": len(inventory.coverage), "failed": len(inventory.gaps)},
                **result.summary(),
            }
            scans.finish_scan(db, scan_id, status, summary)
    except BaseException as exc:
        scans.finish_scan(db, scan_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    if status == "failed":
        first = inventory.gaps[0] if inventory.gaps else None
        reason = f"{first.error_class}: {first.message}" if first else "no collection unit ran"
        raise CollectionError(f"scan {scan_id} collected nothing ({reason})")
    return ScanOutcome(scan_id, status, inventory, report, result, summary)
