"""Which 'running' scans belong to a dead process: pid on this host, heartbeat everywhere."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from skywarden.storage import liveness, scans
from skywarden.storage.db import open_db
from skywarden.storage.housekeeping import mark_interrupted
from tests.bot.scheduling_support import wait_for


def running(db, host=None, pid=None, heartbeat_age_s=0.0, heartbeat=True):
    scan_id = scans.start_scan(db, "aws", {})
    beat = liveness.stamp(datetime.now(UTC) - timedelta(seconds=heartbeat_age_s)) if heartbeat else None
    db.execute("UPDATE scans SET host = COALESCE(?, host), pid = COALESCE(?, pid), heartbeat_at = ? WHERE id = ?",
               [host, pid, beat, scan_id])
    return scan_id


def exited_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_scans_of_dead_processes_are_interrupted(fresh_db):
    this_process = running(fresh_db)
    dead_here = running(fresh_db, pid=exited_pid())
    elsewhere_alive = running(fresh_db, host="other-host.example", pid=1, heartbeat_age_s=60)
    elsewhere_stale = running(fresh_db, host="other-host.example", pid=1, heartbeat_age_s=3600)
    pid_reused = running(fresh_db, heartbeat_age_s=3600)  # a live pid (ours) but no heartbeat for an hour
    legacy = running(fresh_db, heartbeat=False)  # written before heartbeats were recorded
    assert mark_interrupted(fresh_db, stale_after_s=300) == [dead_here, elsewhere_stale, pid_reused, legacy]
    still = {row["id"] for row in fresh_db.query("SELECT id FROM scans WHERE status = 'running'")}
    assert still == {this_process, elsewhere_alive}


def test_opening_the_database_marks_a_dead_process_scan(tmp_path):
    path = tmp_path / "scans.db"
    db = open_db(path)
    dead = running(db, pid=exited_pid())
    alive = running(db)
    db.close()
    reopened = open_db(path)
    try:
        statuses = dict(reopened.execute("SELECT id, status FROM scans").fetchall())
        assert statuses == {dead: "interrupted", alive: "running"}
    finally:
        reopened.close()


def test_heartbeat_refreshes_a_running_scan_from_its_own_connection(tmp_path):
    db = open_db(tmp_path / "scans.db")
    try:
        scan_id = scans.start_scan(db, "aws", {})
        first = scans.get_scan(db, scan_id)["heartbeat_at"]
        with liveness.Heartbeat(liveness.database_file(db.conn), scan_id, interval_s=0.05):
            wait_for(lambda: scans.get_scan(db, scan_id)["heartbeat_at"] > first, timeout=5)
        scans.finish_scan(db, scan_id, "succeeded")
        done = scans.get_scan(db, scan_id)["heartbeat_at"]
        with liveness.Heartbeat(liveness.database_file(db.conn), scan_id, interval_s=0.05):
            time.sleep(0.3)  # several beats
        assert scans.get_scan(db, scan_id)["heartbeat_at"] == done, "a finished scan is not touched"
    finally:
        db.close()
