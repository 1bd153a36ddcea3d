"""Crash safety with a real process killed by SIGKILL: the database stays consistent, a scan caught before
its final transaction is 'running' until the next process opens the database and marks it 'interrupted', and
it resolved nothing. A scan whose process is alive is never relabelled."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.core.settings import parse_config
from skywarden.bot.wiring import scheduler_for
from skywarden.storage import audit
from skywarden.storage.findings import query_findings
from skywarden.storage.scans import get_scan, recent_scans
from tests.bot.helpers import ACCOUNT, bucket, make_services
from tests.bot.scheduling_support import SlowEstate, wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"accounts": [{"id": ACCOUNT, "name": "prod"}]}


def spawn(mode: str, db: Path, marker: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(f"{marker}.stderr", "wb") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "tests.bot.crash_child", mode, str(db), str(marker)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def died(marker: Path) -> str:
    return Path(f"{marker}.stderr").read_text()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL


def assert_consistent(db: Path) -> list[int]:
    """Integrity, and no trace of an unfinished scan in findings, inventory or the finding events."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        unfinished = [row[0] for row in conn.execute(
            "SELECT id FROM scans WHERE status IN ('running', 'interrupted')")]
        for scan_id in unfinished:
            assert conn.execute("SELECT COUNT(*) FROM events WHERE scan_id = ? AND action IN "
                                "('opened', 'reopened', 'resolved')", [scan_id]).fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM findings WHERE last_scan_id = ? OR first_scan_id = ?",
                                [scan_id, scan_id]).fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM resources WHERE last_scan_id = ?",
                                [scan_id]).fetchone()[0] == 0
        for scan_id, summary in conn.execute("SELECT id, summary FROM scans WHERE status = 'succeeded'"):
            assert summary and '"resources"' in summary, f"scan {scan_id} finished without its summary"
        return unfinished
    finally:
        conn.close()


def test_sigkill_mid_scan_leaves_an_interrupted_scan_that_resolved_nothing(tmp_path, slack):
    db = tmp_path / "bot.db"
    marker = tmp_path / "collecting"
    # Before: one open finding, from a completed scan.
    seed = SlowEstate([bucket("open-bucket", blocked=False)])
    services = make_services(db, slack, seed, parse_config(CONFIG))
    services.orchestrator.submit(ScanRequest("aws", (ACCOUNT,), (), "U0OPS", None)).future.result()
    (finding,) = query_findings(services.db)
    assert finding["state"] == "open"
    services.close()

    child = spawn("slow", db, marker)
    try:
        wait_for(lambda: marker.exists() or child.poll() is not None, timeout=20)
        assert child.poll() is None, died(marker)
    finally:
        kill(child)

    (killed,) = assert_consistent(db)
    slack.clear()
    fixed = SlowEstate([bucket("open-bucket")])  # the bucket was fixed meanwhile: the next scan resolves it
    restarted = make_services(db, slack, fixed, parse_config(CONFIG))
    try:
        # Opening the database is enough: the killed process's pid is gone, so its scan is interrupted.
        assert get_scan(restarted.db, killed)["status"] == "interrupted"
        assert query_findings(restarted.db)[0]["state"] == "open", "the killed scan resolved nothing"
        scheduler = scheduler_for(restarted).start()
        assert scheduler.interrupted == []
        # The schedule the killed process created is back, and fires in this one.
        wait_for(lambda: [c for c in slack.of("chat.postMessage") if c.args["channel"] == "#security"], 10)
        restarted.scheduler.scheduler.pause()
        restarted.orchestrator.wait_idle()
        assert query_findings(restarted.db)[0]["state"] == "resolved"
        resolved_by = [e["scan_id"] for e in audit.events(restarted.db) if e["action"] == "resolved"]
        assert killed not in resolved_by and resolved_by
    finally:
        restarted.close()
    assert_consistent(db)


def test_sigkill_at_random_moments_never_leaves_a_half_written_scan(tmp_path):
    db = tmp_path / "bot.db"
    rng = random.Random(5)
    completed = 0
    for attempt in range(3):
        marker = tmp_path / f"progress-{attempt}"
        child = spawn("loop", db, marker)
        try:
            wait_for(lambda m=marker, c=child: m.exists() or c.poll() is not None, timeout=20)
            assert child.poll() is None, died(marker)
            time.sleep(rng.uniform(0.05, 0.6))  # somewhere in a scan: collect, evaluate, or reconcile
        finally:
            kill(child)
        assert_consistent(db)
        completed += len(marker.read_text().split())
    assert completed >= 3
    conn = sqlite3.connect(db)
    statuses = {row[0] for row in conn.execute("SELECT status FROM scans")}
    conn.close()
    assert "succeeded" in statuses


def test_a_live_cli_scan_is_left_running_and_marked_interrupted_once_its_process_is_killed(tmp_path, slack):
    db = tmp_path / "bot.db"
    marker = tmp_path / "cli-scan"
    child = spawn("cli", db, marker)
    try:
        wait_for(lambda: marker.exists() or child.poll() is not None, timeout=20)
        assert child.poll() is None, died(marker)
        # `serve` starts while the CLI scan runs: opening the database and starting the scheduler leave it alone.
        services = make_services(db, slack, SlowEstate(), parse_config(CONFIG))
        try:
            (live,) = [scan["id"] for scan in recent_scans(services.db) if scan["status"] == "running"]
            scheduler = scheduler_for(services).start()
            assert scheduler.interrupted == []
            first = get_scan(services.db, live)
            assert first["status"] == "running" and first["pid"] == child.pid
            # Its heartbeat keeps going (every 0.2 s in the child).
            wait_for(lambda: get_scan(services.db, live)["heartbeat_at"] > first["heartbeat_at"], timeout=10)
        finally:
            services.close()
        assert cli_status(db).count(" running ") == 1, "a CLI command leaves the live scan alone too"
    finally:
        kill(child)
    # The next process that opens the database, here a CLI command, sees the pid gone.
    shown = cli_status(db)
    assert f"scan {live} aws interrupted" in shown
    assert assert_consistent(db) == [live]


def cli_status(db: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "skywarden.bot.cli", "--db", str(db), "status"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
