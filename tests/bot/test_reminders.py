"""The daily housekeeping job: suppressions expiring within 7 days are announced once in their channel with
Extend and Let expire (signed block_actions through the app); expired ones are ended, and the next scan
re-checks and reopens their findings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from skywarden.bot import commands
from skywarden.bot.core.settings import parse_config
from skywarden.bot.slack import ids
from skywarden.bot.slack.reminders import run_housekeeping
from skywarden.storage import audit
from skywarden.storage.findings import finding_id
from skywarden.storage.housekeeping import reminders_for
from skywarden.storage.suppressions import find_finding, get_exception
from tests.bot.helpers import bucket, click, make_app, make_services, slash

PUBLIC = "aws-s3-bucket-block-public-access"


def fid(name: str) -> str:
    return finding_id(PUBLIC, f"arn:aws:s3:::{name}")


def scan(app, services):
    slash(app, "scan aws", channel="C0TEAM")
    services.orchestrator.wait_idle()


def suppress(services, name: str, days: int, user: str = "U0ALICE") -> int:
    until = datetime.now(UTC).date() + timedelta(days=days)
    reply = commands.suppress(services, commands.Who(user, "C0TEAM"), fid(name), "accepted for now", until,
                              "resource")
    assert reply.ok, reply.message.text
    (row,) = [e for e in audit.events(services.db, fid(name)) if e["action"] == "suppressed"]
    return int(row["details"]["exception_id"])


def reminders(slack):
    return [c for c in slack.of("chat.postMessage") if "expires on" in c.args.get("text", "")]


def buttons(call) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_expiring_suppression_is_announced_once_with_extend_and_let_expire(app, services, estate, slack):
    estate.resources = [bucket("open", blocked=False), bucket("later", blocked=False)]
    scan(app, services)
    soon = suppress(services, "open", 3)
    suppress(services, "later", 20)  # outside the 7-day window
    slack.clear()

    result = run_housekeeping(services)
    assert result.announced == [(soon, "C0TEAM")]  # where the finding was posted
    (reminder,) = reminders(slack)
    assert reminder.args["channel"] == "C0TEAM" and "accepted for now" in str(reminder.args["blocks"])
    assert set(buttons(reminder)) == {ids.EXTEND_SUPPRESSION, ids.LET_EXPIRE}
    run_housekeeping(services)
    assert len(reminders(slack)) == 1, "announced once, not every day"

    value = buttons(reminder)[ids.EXTEND_SUPPRESSION]
    before = get_exception(services.db, soon)["expires_at"]
    assert click(app, ids.EXTEND_SUPPRESSION, value, user="U0BOB", response_url=slack.response_url("x")).status == 200
    after = get_exception(services.db, soon)["expires_at"]
    assert datetime.fromisoformat(after) - datetime.fromisoformat(before) == timedelta(days=30)
    (update,) = [c for c in slack.of("chat.update") if c.args["ts"] == reminder_ts(services, soon)]
    assert "Extended by <@U0BOB>" in str(update.args["blocks"]) and not buttons(update)
    assert "extended until" in slack.of("respond")[-1].args["text"]
    assert [e["actor"] for e in audit.events(services.db) if e["action"] == "suppression_extended"] == ["U0BOB"]

    # A second decision on the same reminder changes nothing.
    click(app, ids.LET_EXPIRE, value, user="U0CAROL", response_url=slack.response_url("y"))
    assert "already extended by U0BOB" in slack.of("respond")[-1].args["text"]
    assert get_exception(services.db, soon)["expires_at"] == after
    assert reminders_for(services.db, soon)[0]["decision"] == "extended"


def reminder_ts(services, exception_id: int) -> str:
    from skywarden.storage import outbox

    return outbox.get(services.db, reminders_for(services.db, exception_id)[0]["outbox_id"])["ts"]


def test_let_expire_records_the_decision_and_the_expiry_stays(app, services, estate, slack):
    estate.resources = [bucket("open", blocked=False)]
    scan(app, services)
    exception_id = suppress(services, "open", 2)
    run_housekeeping(services)
    (reminder,) = reminders(slack)
    expires = get_exception(services.db, exception_id)["expires_at"]
    click(app, ids.LET_EXPIRE, buttons(reminder)[ids.LET_EXPIRE], response_url=slack.response_url())
    assert get_exception(services.db, exception_id)["expires_at"] == expires
    assert "will expire on" in slack.of("respond")[-1].args["text"]
    assert any("let it expire" in str(c.args["blocks"]) for c in slack.of("chat.update"))


def test_only_people_who_may_suppress_can_extend(tmp_path, slack, estate):
    config = parse_config({"permissions": {"suppress": ["U0ALICE"]}})
    services = make_services(tmp_path / "bot.db", slack, estate, config)
    try:
        app = make_app(services)
        estate.resources = [bucket("open", blocked=False)]
        scan(app, services)
        exception_id = suppress(services, "open", 2)
        run_housekeeping(services)
        (reminder,) = reminders(slack)
        expires = get_exception(services.db, exception_id)["expires_at"]
        click(app, ids.EXTEND_SUPPRESSION, buttons(reminder)[ids.EXTEND_SUPPRESSION], user="U0MALLORY",
              response_url=slack.response_url())
        assert "Not allowed" in slack.of("respond")[-1].args["text"]
        assert get_exception(services.db, exception_id)["expires_at"] == expires
    finally:
        services.close()


def test_expired_suppressions_end_and_their_findings_reopen_at_the_next_scan(app, services, estate, slack):
    estate.resources = [bucket("open", blocked=False)]
    scan(app, services)
    exception_id = suppress(services, "open", 1)
    services.clock = lambda: datetime.now(UTC) + timedelta(days=2)  # the daily job runs after the expiry

    result = run_housekeeping(services)
    assert result.ended == [exception_id]
    assert get_exception(services.db, exception_id)["end_reason"] == "expired"
    assert find_finding(services.db, fid("open"))["state"] == "suppressed", "until a scan re-checks it"
    slack.clear()
    scan(app, services)
    assert find_finding(services.db, fid("open"))["state"] == "open"
    assert any("open" in str(c.args.get("blocks")) and c.args["channel"] == "C0TEAM"
               for c in slack.of("chat.postMessage")), "posted again for a decision"


def test_code_suppressions_are_announced_without_buttons(app, services, rebuild, estate, slack):
    from skywarden.storage.db import now
    from skywarden.storage.suppressions import CodeSuppression, sync_code_suppressions

    estate.resources = [bucket("open", blocked=False)]
    scan(app, services)
    until = (date.today() + timedelta(days=3)).isoformat() + "T00:00:00+00:00"
    sync_code_suppressions(services.db, [CodeSuppression(PUBLIC, "in code", "alice", until,
                                                         resource_id="arn:aws:s3:::open")], now())
    _, services = rebuild(parse_config({"default_channel": "C0SEC"}))
    slack.clear()
    run_housekeeping(services)
    (reminder,) = reminders(slack)
    assert reminder.args["channel"] == "C0SEC" and not buttons(reminder)
    assert "suppressions.yml" in str(reminder.args["blocks"])
