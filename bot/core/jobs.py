"""APScheduler wiring for `skywarden serve`: scan schedules, the daily housekeeping job, crash recovery.

APScheduler 3.x ``BackgroundScheduler`` with its default in-memory job store: the schedules table is the source
of truth (storage/schedules.py; a pickled SQLAlchemy job store deletes jobs whose function moved, see
design/TESTING.md section 5). At start the rows are loaded; afterwards ``sync`` re-reads them every
``sync_interval_s`` (the CLI edits the table from another process) and at once after a change made here.

Misfires: a job's first run time is computed from the schedule's last handled fire time, so runs missed while
the process was down are seen at the next start. APScheduler then applies the policy to them and to misfires
in a running process alike: ``coalesce`` folds every missed run into one, which runs if it is at most
``scans.misfire_grace_minutes`` late, and is otherwise skipped; a skip is recorded on the schedule and in the
audit log (EVENT_JOB_MISSED).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.core.schedules import InvalidSchedule, make_trigger, sync_config
from skywarden.storage import audit, schedules
from skywarden.storage.db import now
from skywarden.storage.housekeeping import mark_interrupted

if TYPE_CHECKING:
    from collections.abc import Callable

    from skywarden.bot.core.orchestrator import Orchestrator
    from skywarden.bot.core.settings import BotConfig
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)

HOUSEKEEPING_JOB = "housekeeping"
WEEKLY_DIGEST_JOB = "weekly-digest"
SYNC_JOB = "schedule-sync"
_MAX_COUNTED = 1000  # missed runs counted while down (an every-second schedule down for a week stops here)


def job_id(schedule_id: int) -> str:
    return f"schedule-{schedule_id}"


def _parse(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ScanScheduler:
    def __init__(self, ledger: Ledger, config: BotConfig, orchestrator: Orchestrator,
                 housekeeping: Callable[[], Any], weekly_digest: Callable[[], Any] | None = None,
                 sync_interval_s: float = 30.0) -> None:
        self.ledger = ledger
        self.config = config
        self.orchestrator = orchestrator
        self._housekeeping = housekeeping
        self._weekly_digest = weekly_digest  # None: this publisher has no digest (the console)
        self.policy = config.scans
        self.sync_interval_s = sync_interval_s
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": max(1, int(self.policy.misfire_grace_s))})
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self._loaded: dict[int, tuple[Any, ...]] = {}  # schedule id -> what the job was built from
        self._lock = threading.Lock()
        self.interrupted: list[int] = []

    # ------------------------------------------------------------ lifecycle
    def start(self) -> ScanScheduler:
        db = self.ledger.db
        # Opening the database marked the scans of processes already gone; look again for any that died since.
        # A scan whose process is alive (a CLI scan running now) keeps running: its heartbeat vouches for it.
        self.interrupted = mark_interrupted(db)
        if self.interrupted:
            log.warning("scans %s were interrupted by the previous stop; they resolved nothing", self.interrupted)
        sync_config(self.ledger.db, self.config.schedules)
        self.sync()
        self.scheduler.add_job(self.housekeeping, make_trigger(self.policy.housekeeping_cron, self.policy.timezone),
                               id=HOUSEKEEPING_JOB, replace_existing=True)
        if self.policy.weekly_digest_cron and self._weekly_digest is not None:
            self.scheduler.add_job(self.weekly_digest, make_trigger(self.policy.weekly_digest_cron,
                                                                    self.policy.timezone),
                                   id=WEEKLY_DIGEST_JOB, replace_existing=True)
        self.scheduler.add_job(self.sync, "interval", seconds=self.sync_interval_s, id=SYNC_JOB,
                               replace_existing=True)
        self.scheduler.start()
        return self

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.pause()  # no new fire while shutting down (avoids "cannot schedule new futures")
            self.scheduler.shutdown(wait=False)

    # ------------------------------------------------------------ schedules -> jobs
    def sync(self) -> None:
        """Make the jobs equal to the active schedule rows."""
        with self._lock:
            rows = {row["id"]: row for row in schedules.list_schedules(self.ledger.db) if not row["paused"]}
            for schedule_id, built in list(self._loaded.items()):
                row = rows.get(schedule_id)
                if row is None or self._signature(row) != built:
                    if self.scheduler.get_job(job_id(schedule_id)):
                        self.scheduler.remove_job(job_id(schedule_id))
                    del self._loaded[schedule_id]
            for schedule_id, row in rows.items():
                if schedule_id not in self._loaded:
                    self._load(row)

    @staticmethod
    def _signature(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["cron"], row["timezone"], row["updated_at"])

    def _load(self, row: dict[str, Any]) -> None:
        try:
            trigger = make_trigger(row["cron"], row["timezone"])
        except InvalidSchedule as exc:  # validated when added; a tzdata change could still break one
            log.error("schedule %s cannot be loaded: %s", row["id"], exc)
            return
        # Runs are counted from the last fire time handled, or from when the schedule was (re)activated.
        base = max(_parse(row["updated_at"]), _parse(row["last_run_at"])) if row["last_run_at"] else \
            _parse(row["updated_at"])
        first = trigger.get_next_fire_time(None, base + timedelta(seconds=1))
        if first is None:
            return
        current = datetime.now(UTC)
        if first <= current:
            missed, moment = 0, first
            while moment is not None and moment <= current and missed < _MAX_COUNTED:
                missed += 1
                moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
            audit.record(self.ledger.db, "schedule_missed_while_stopped", "scheduler",
                         details={"schedule_id": row["id"], "missed": missed, "first": first.isoformat(),
                                  "grace_s": self.policy.misfire_grace_s})
        self.scheduler.add_job(self._fire, trigger, args=[row["id"]], id=job_id(row["id"]), name=f"scan schedule "
                               f"{row['id']}", next_run_time=first, replace_existing=True)
        self._loaded[row["id"]] = self._signature(row)

    # ------------------------------------------------------------ jobs
    def _fire(self, schedule_id: int) -> None:
        db = self.ledger.db
        row = schedules.get_schedule(db, schedule_id)
        if row is None or row["removed_at"] or row["paused"]:
            return  # changed since the last sync
        request = ScanRequest(row["provider"], tuple(row["accounts"]), tuple(row["regions"]),
                              f"schedule:{schedule_id}", row["channel"], trigger="schedule", schedule_id=schedule_id)
        submission = self.orchestrator.submit(request)
        at = now()
        if not submission.started:
            running = submission.running
            by = running.requested_by if running else "someone"
            schedules.record_run(db, schedule_id, at, f"joined the scan of the same scope already running "
                                                      f"(requested by {by} at {submission.started_at})")
            return
        queued = f", queued behind {submission.waiting}" if submission.waiting else ""
        schedules.record_run(db, schedule_id, at, f"scan started{queued}")
        assert submission.future is not None
        submission.future.add_done_callback(lambda future: self._finished(schedule_id, future))

    def _finished(self, schedule_id: int, future: Future[Any]) -> None:
        try:
            outcome = future.result()
        except Exception as exc:
            schedules.record_result(self.ledger.db, schedule_id, f"scan failed: {exc}", None)
            return
        schedules.record_result(self.ledger.db, schedule_id, f"scan #{outcome.scan_id} {outcome.status}",
                                outcome.scan_id)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        if not event.job_id.startswith("schedule-") or event.job_id == SYNC_JOB:
            if event.job_id == HOUSEKEEPING_JOB:
                audit.record(self.ledger.db, "housekeeping_missed", "scheduler",
                             details={"fire_time": event.scheduled_run_time.isoformat()})
            return
        schedule_id = int(event.job_id.removeprefix("schedule-"))
        fire_time = event.scheduled_run_time.astimezone(UTC).isoformat(timespec="seconds")
        outcome = (f"skipped: the run due at {fire_time} was missed by more than the "
                   f"{self.policy.misfire_grace_s:g} s grace period")
        log.warning("schedule %s %s", schedule_id, outcome)
        schedules.record_run(self.ledger.db, schedule_id, fire_time, outcome, action="schedule_missed")

    def weekly_digest(self) -> Any:
        """The publisher's weekly posture digest (Slack: charts per routed channel; the console has none)."""
        try:
            assert self._weekly_digest is not None
            return self._weekly_digest()
        except Exception:
            log.exception("weekly digest failed")
            raise

    def housekeeping(self) -> Any:
        try:
            return self._housekeeping()
        except Exception:
            log.exception("housekeeping failed")
            raise
