"""The scheduler inside `serve`: schedules fire and post, survive a restart, coalesce or skip misfires, share
the orchestrator with on-demand scans (one scan per scope, a global limit, a timeout), stay quiet when
nothing changed, and mark scans a dead process left running as interrupted."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from skywarden.bot.commands.schedules import schedule_lines
from skywarden.bot.core.jobs import job_id
from skywarden.bot.core.settings import parse_config
from skywarden.bot.wiring import scheduler_for
from skywarden.storage import audit, schedules
from skywarden.storage.findings import query_findings
from skywarden.storage.scans import get_scan, recent_scans
from tests.bot.helpers import ACCOUNT, OTHER_ACCOUNT, bucket, make_app, make_services, slash
from tests.bot.scheduling_support import SlowEstate, wait_for

EVERY_SECOND = "* * * * * *"  # 6 fields: seconds first


def config(**scans):
    return parse_config({"accounts": [{"id": ACCOUNT, "name": "prod"}, {"id": OTHER_ACCOUNT, "name": "dev"}],
                         "scans": {"min_interval_minutes": 0, **scans}})  # every-second schedules below


@pytest.fixture
def estate():
    return SlowEstate([bucket("open-bucket", blocked=False)])


def build(tmp_path, slack, estate, **scans):
    return make_services(tmp_path / "bot.db", slack, estate, config(**scans))


@pytest.fixture
def services(tmp_path, slack, estate):
    svc = build(tmp_path, slack, estate)
    yield svc
    svc.close()


def digests(slack, channel=None):
    return [c for c in slack.of("chat.postMessage") if "Skywarden scan #" in c.args.get("text", "")
            and (channel is None or c.args["channel"] == channel)]


def actions(db, name):
    return [e for e in audit.events(db) if e["action"] == name]


def test_a_schedule_fires_and_posts_the_digest(services, slack, estate):
    schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], EVERY_SECOND, "UTC", "C0SCHED", "cli",
                                         "ops")
    scheduler_for(services).start()
    wait_for(lambda: digests(slack, "C0SCHED"))
    services.scheduler.scheduler.pause()
    services.orchestrator.wait_idle()
    request = estate.requests[0]
    assert (request.trigger, request.schedule_id, request.accounts) == ("schedule", schedule_id, (ACCOUNT,))
    scan = recent_scans(services.db, 1)[0]
    assert scan["trigger"] == "schedule" and scan["status"] == "succeeded"
    finding_posts = [c for c in slack.of("chat.postMessage") if c.args["channel"] == "C0SCHED"
                     and "open-bucket" in json.dumps(c.args.get("blocks"))]
    assert finding_posts, "the new finding is posted like an on-demand scan's"
    row = wait_for(lambda: (r := schedules.get_schedule(services.db, schedule_id))["last_scan_id"] and r)
    assert row["last_outcome"].startswith("scan #") and row["last_run_at"]


def test_schedules_survive_a_restart(tmp_path, slack, estate):
    first = build(tmp_path, slack, estate)
    app = make_app(first)
    scheduler_for(first).start()
    reply = slash(app, f'schedule add aws prod "{EVERY_SECOND}" #security')
    assert "Schedule 1 added" in reply.body
    first.scheduler.scheduler.pause()
    first.close()
    assert not digests(slack) or True  # may or may not have fired before the stop; the restart must fire it

    slack.clear()
    second = build(tmp_path, slack, estate)  # a new scheduler on the same database
    try:
        scheduler_for(second).start()
        assert second.scheduler.scheduler.get_job(job_id(1)) is not None
        wait_for(lambda: digests(slack, "#security"))
    finally:
        second.close()


def test_a_paused_schedule_does_not_run_and_resumes(services, slack, estate):
    app = make_app(services)
    scheduler = scheduler_for(services).start()
    assert "added" in slash(app, 'schedule add aws prod "0 6 * * 1-5"').body
    assert "paused" in slash(app, "schedule pause 1").body
    assert scheduler.scheduler.get_job(job_id(1)) is None
    assert "already paused" in slash(app, "schedule pause 1").body
    assert "resumed" in slash(app, "schedule resume 1").body
    job = scheduler.scheduler.get_job(job_id(1))
    assert job is not None and job.next_run_time.astimezone(UTC).weekday() < 5  # Monday to Friday, crontab style
    assert "removed" in slash(app, "schedule remove 1").body
    assert scheduler.scheduler.get_job(job_id(1)) is None
    assert estate.requests == []


def test_a_cli_change_reaches_a_running_scheduler_at_the_next_sync(services, slack):
    scheduler = scheduler_for(services, sync_interval_s=0.2).start()
    schedules.add_schedule(services.db, "aws", [ACCOUNT], [], EVERY_SECOND, "UTC", "C0CLI", "cli", "ops")
    wait_for(lambda: scheduler.scheduler.get_job(job_id(1)))
    wait_for(lambda: digests(slack, "C0CLI"))


def test_missed_runs_within_the_grace_period_run_once(tmp_path, slack, estate):
    services = build(tmp_path, slack, estate, misfire_grace_minutes=10)
    try:
        schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], "* * * * *", "UTC", "C0A", "cli",
                                             "ops")
        five_ago = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
        services.db.execute("UPDATE schedules SET created_at = ?, updated_at = ?, last_run_at = ?",
                            [five_ago, five_ago, five_ago])
        scheduler_for(services).start()
        wait_for(lambda: digests(slack, "C0A"))
        services.orchestrator.wait_idle()
        (note,) = actions(services.db, "schedule_missed_while_stopped")
        assert note["details"]["missed"] >= 4
        assert len(estate.requests) == 1, "the missed runs are coalesced into one"
        assert schedules.get_schedule(services.db, schedule_id)["last_outcome"] != "skipped"
    finally:
        services.close()


def test_missed_runs_older_than_the_grace_period_are_skipped_and_noted(tmp_path, slack, estate):
    services = build(tmp_path, slack, estate, misfire_grace_minutes=1)
    try:
        due = datetime.now(UTC) - timedelta(minutes=10)
        cron = f"{due.minute} {due.hour} * * *"  # daily, last due ten minutes ago
        schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], cron, "UTC", "C0B", "cli", "ops")
        two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
        services.db.execute("UPDATE schedules SET created_at = ?, updated_at = ?", [two_days_ago, two_days_ago])
        scheduler = scheduler_for(services).start()
        row = wait_for(lambda: (r := schedules.get_schedule(services.db, schedule_id))["last_outcome"] and r)
        assert row["last_outcome"].startswith("skipped: the run due at")
        assert actions(services.db, "schedule_missed")
        assert estate.requests == [] and digests(slack) == []
        job = scheduler.scheduler.get_job(job_id(schedule_id))
        assert job.next_run_time > datetime.now(UTC) + timedelta(hours=23)
        assert "skipped" in "\n".join(schedule_lines(services))
        status = json.loads(slash(make_app(services), "status").body)
        assert f"schedule {schedule_id}: skipped: the run due at" in json.dumps(status)
    finally:
        services.close()


def test_overlapping_requests_run_one_scan(services, slack, estate):
    estate.delay_s = 0.6
    app = make_app(services)
    scheduler = scheduler_for(services).start()
    schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], "0 6 * * *", "UTC", "C0X", "cli", "ops")
    first = slash(app, "scan aws prod", channel="C0X")
    assert "started" in first.body
    estate.collecting.wait(5)
    scheduler._fire(schedule_id)  # the schedule comes due while the on-demand scan of the same scope runs
    second = slash(app, "scan aws prod", user="U0BOB")
    assert "already running" in second.body
    services.orchestrator.wait_idle()
    assert len(estate.requests) == 1
    assert schedules.get_schedule(services.db, schedule_id)["last_outcome"].startswith("joined the scan")
    assert len(digests(slack)) == 1


def test_the_global_limit_queues_scans_of_other_scopes(tmp_path, slack, estate):
    estate.delay_s = 0.3
    services = build(tmp_path, slack, estate, max_concurrent=1)
    try:
        app = make_app(services)
        assert "started" in slash(app, "scan aws prod").body
        queued = slash(app, "scan aws dev").body
        assert "queued: 1 scan(s) ahead" in queued and "at most 1 at a time" in queued
        services.orchestrator.wait_idle()
        wait_for(lambda: len(estate.requests) == 2)
        services.orchestrator.wait_idle()
        assert estate.max_concurrent == 1
        assert [s["status"] for s in recent_scans(services.db, 2)] == ["succeeded", "succeeded"]
    finally:
        services.close()


def test_a_scan_past_its_timeout_stores_nothing_and_frees_its_scope(tmp_path, slack, estate):
    estate.delay_s = 1.0
    services = build(tmp_path, slack, estate, timeout_minutes=0.005)  # 0.3 s
    try:
        app = make_app(services)
        slash(app, "scan aws prod", channel="C0T")
        failure = wait_for(lambda: [c for c in slack.of("chat.postMessage") if "timed out" in c.args["text"]])
        assert failure[0].args["channel"] == "C0T"
        scan = recent_scans(services.db, 1)[0]
        assert scan["status"] == "failed" and "timed out" in scan["error"]
        estate.delay_s = 0.0
        assert "started" in slash(app, "scan aws prod", channel="C0T").body, "the scope is free again"
        services.orchestrator.wait_idle()
        wait_for(lambda: all(s["status"] != "running" for s in recent_scans(services.db, 5)))
        time_left = 1.5  # the first scan's collect returns after its 1 s sleep and reaches its checkpoint
        wait_for(lambda: "ScanTimeout" in (get_scan(services.db, scan["id"])["error"] or ""), timeout=time_left)
        first = get_scan(services.db, scan["id"])
        assert first["status"] == "failed"
        timed_out_events = [e for e in audit.events(services.db) if e["scan_id"] == scan["id"]
                            and e["action"] not in ("scan_started", "scan_finished", "scan_timed_out")]
        assert timed_out_events == [], "the timed-out scan opened or resolved nothing"
        assert len(query_findings(services.db)) == 1  # opened once, by the second scan
    finally:
        services.close()


@pytest.mark.parametrize("quiet", ["silent", "line"])
def test_a_scheduled_scan_with_nothing_new_is_quiet(tmp_path, slack, estate, quiet):
    services = build(tmp_path, slack, estate, quiet=quiet)
    try:
        schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], "0 6 * * *", "UTC", "C0Q", "cli",
                                             "ops")
        scheduler = scheduler_for(services).start()
        scheduler._fire(schedule_id)
        services.orchestrator.wait_idle()
        assert len(digests(slack, "C0Q")) == 1, "the first scan has news: a new finding"
        slack.clear()
        scheduler._fire(schedule_id)
        services.orchestrator.wait_idle()
        wait_for(lambda: len(estate.requests) == 2)
        assert digests(slack) == []
        lines = [c for c in slack.of("chat.postMessage") if "nothing new" in c.args["text"]]
        assert len(lines) == (1 if quiet == "line" else 0)
        assert actions(services.db, "digest_skipped")
        # The same scan on demand always answers.
        slash(make_app(services), "scan aws prod", channel="C0Q")
        services.orchestrator.wait_idle()
        assert len(digests(slack, "C0Q")) == 1
    finally:
        services.close()


def test_start_marks_scans_left_running_as_interrupted(services):
    from skywarden.storage.scans import start_scan

    left = start_scan(services.db, "aws", {"accounts": [ACCOUNT]}, "schedule")
    # Left by a process of this host that has exited since (a scan of this live process would be kept).
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    services.db.execute("UPDATE scans SET pid = ? WHERE id = ?", [gone.pid, left])
    scheduler = scheduler_for(services).start()
    assert scheduler.interrupted == [left]
    scan = get_scan(services.db, left)
    assert scan["status"] == "interrupted" and "nothing was resolved" in scan["error"]
    assert actions(services.db, "scan_interrupted")[0]["scan_id"] == left


def test_fires_only_through_one_scheduler_thread_each(services, estate):
    """max_instances=1 and the orchestrator's scope lock: a burst of fires of one schedule runs one scan."""
    estate.delay_s = 0.3
    schedule_id = schedules.add_schedule(services.db, "aws", [ACCOUNT], [], "0 6 * * *", "UTC", None, "cli", "ops")
    scheduler = scheduler_for(services).start()
    threads = [threading.Thread(target=scheduler._fire, args=[schedule_id]) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services.orchestrator.wait_idle()
    assert len(estate.requests) == 1
