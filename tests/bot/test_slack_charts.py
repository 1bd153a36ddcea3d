"""Charts reach Slack as real PNGs through files_upload_v2 (the stand-in records the bytes POSTed to the
upload URL and what files.completeUploadExternal attached them to), covering only what the channel may see."""

from __future__ import annotations

from skywarden.bot.core.settings import BotConfig, Route
from tests.bot.helpers import ACCOUNT, OTHER_ACCOUNT, bucket, slash

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def scan(app, services, channel="C0TEAM"):
    assert slash(app, "scan aws", channel=channel).status == 200
    services.orchestrator.wait_idle()


def test_warden_posture_uploads_a_png_to_the_channel(app, services, estate, slack):
    estate.resources = [bucket("open", blocked=False), bucket("fine")]
    scan(app, services)
    slack.clear()
    response = slash(app, "posture", channel="C0TEAM")
    assert response.status == 200
    (upload,) = slack.completed_uploads()
    assert upload.channel == "C0TEAM" and upload.title == "Compliance posture"
    assert upload.data is not None and upload.data.startswith(PNG_MAGIC) and len(upload.data) > 1000
    assert upload.initial_comment == "Posture requested by <@U0ALICE>"
    methods = [c.method for c in slack.calls]
    assert methods.index("files.getUploadURLExternal") < methods.index("upload") < methods.index(
        "files.completeUploadExternal")


def test_no_chart_when_there_is_nothing_scanned(app, services, slack):
    assert slash(app, "posture").status == 200
    assert not slack.completed_uploads() and not slack.of("files.getUploadURLExternal")


def test_a_channel_chart_covers_only_the_accounts_routed_there(rebuild, estate, slack):
    app, services = rebuild(BotConfig(routes=[Route("C0PROD", accounts=[ACCOUNT]),
                                              Route("C0OTHER", accounts=[OTHER_ACCOUNT])]))
    estate.resources = [bucket("open", blocked=False), bucket("other", account=OTHER_ACCOUNT)]
    scan(app, services)
    assert services.charts.channel_accounts("C0PROD", {ACCOUNT, OTHER_ACCOUNT}) == {ACCOUNT}
    assert services.charts.channel_accounts("C0PROD", {ACCOUNT, OTHER_ACCOUNT}, readable={OTHER_ACCOUNT}) == set()
    assert services.charts.channel_accounts("C0NOWHERE", {ACCOUNT, OTHER_ACCOUNT}) == set()
    # Each channel's bars count only its own account's verdicts.
    (prod,) = services.charts.channel_postures("C0PROD")
    (other,) = services.charts.channel_postures("C0OTHER")
    assert (prod.passed, prod.failed) == (1, 1) and (other.passed, other.failed) == (2, 0)
    assert services.charts.channel_postures("C0PROD", readable={OTHER_ACCOUNT}) == []
    assert services.charts.posture_png("C0NOWHERE") is None


def test_weekly_digest_uploads_posture_and_trend(rebuild, estate, slack):
    app, services = rebuild(BotConfig(default_channel="C0SEC"))
    estate.resources = [bucket("open", blocked=False)]
    scan(app, services)
    slack.clear()
    assert services.charts.post_weekly_digest("C0SEC") == {"posture": True, "trend": True}
    uploads = {u.filename: u for u in slack.completed_uploads()}
    assert set(uploads) == {"posture.png", "trend.png"}
    assert all(u.channel == "C0SEC" and u.data.startswith(PNG_MAGIC) for u in uploads.values())
    assert uploads["trend.png"].title == "Findings over the last 28 days"


def test_a_refused_upload_is_logged_not_raised(app, services, estate, slack, caplog):
    estate.resources = [bucket("open", blocked=False)]
    scan(app, services)
    slack.fail("files.completeUploadExternal", 200, body={"ok": False, "error": "not_in_channel"})
    assert slash(app, "posture").status == 200
    assert not slack.completed_uploads() and "not_in_channel" in caplog.text


# ---------------------------------------------------------------- the weekly digest schedule
def test_weekly_digest_setting_defaults_on_and_can_be_turned_off_or_rejected():
    import pytest

    from skywarden.bot.core.settings import ConfigError, parse_config

    assert parse_config({}).scans.weekly_digest_cron == "0 9 * * 1"
    assert parse_config({"scans": {"weekly_digest": "30 8 * * 5"}}).scans.weekly_digest_cron == "30 8 * * 5"
    assert parse_config({"scans": {"weekly_digest": "off"}}).scans.weekly_digest_cron is None
    assert parse_config({"scans": {"weekly_digest": False}}).scans.weekly_digest_cron is None
    with pytest.raises(ConfigError, match=r"scans\.weekly_digest"):
        parse_config({"scans": {"weekly_digest": "every monday"}}, "skywarden.yml")


def test_the_scheduler_runs_the_weekly_digest_to_each_routed_channel(app, services, rebuild, estate, slack):
    from skywarden.bot.core.jobs import WEEKLY_DIGEST_JOB
    from skywarden.bot.wiring import scheduler_for

    estate.resources = [bucket("open", blocked=False), bucket("other", account=OTHER_ACCOUNT)]
    scan(app, services)
    _, services = rebuild(BotConfig(routes=[Route("C0PROD", accounts=[ACCOUNT])], default_channel="C0SEC"))
    scheduler = scheduler_for(services).start()
    try:
        job = scheduler.scheduler.get_job(WEEKLY_DIGEST_JOB)
        assert job is not None and job.next_run_time.weekday() == 0 and job.next_run_time.hour == 9
        slack.clear()
        sent = scheduler.weekly_digest()
    finally:
        scheduler.shutdown()
    # C0PROD sees its routed account; C0SEC (the default) sees the unrouted one.
    assert sent == {"C0PROD": {"posture": True, "trend": True}, "C0SEC": {"posture": True, "trend": True}}
    assert sorted(u.channel for u in slack.completed_uploads()) == ["C0PROD", "C0PROD", "C0SEC", "C0SEC"]
    assert services.charts.channel_accounts("C0SEC", {ACCOUNT, OTHER_ACCOUNT}) == {OTHER_ACCOUNT}
