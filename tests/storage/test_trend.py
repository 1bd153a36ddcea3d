"""Daily open/new/resolved counts by severity, replayed from the event log."""

from __future__ import annotations

from datetime import date

import pytest

from skywarden.storage import audit
from skywarden.storage.trend import daily_finding_counts


def _finding(db, fid: str, number: int, severity: str, provider: str = "aws") -> None:
    db["findings"].insert({
        "id": fid, "number": number, "rule_id": f"rule-{fid}", "resource_id": f"res-{fid}", "resource_type": "t",
        "provider": provider, "account_id": "123456789012", "region": "us-east-1", "severity": severity,
        "title": "t", "frameworks": "{}", "state": "open", "state_changed_at": "2026-11-01T00:00:00+00:00",
        "first_seen": "2026-11-01T00:00:00+00:00", "last_seen": "2026-11-01T00:00:00+00:00",
    })


def test_replay_counts_open_new_and_resolved_per_day(fresh_db):
    db = fresh_db
    _finding(db, "a", 1, "high")
    _finding(db, "b", 2, "critical")
    _finding(db, "c", 3, "low", provider="gcp")
    _finding(db, "old", 4, "medium")
    audit.record(db, "opened", finding_id="old", at="2026-10-20T09:00:00+00:00")  # before the window: open
    audit.record(db, "opened", finding_id="a", at="2026-11-02T10:00:00+00:00")
    audit.record(db, "opened", finding_id="b", at="2026-11-03T08:00:00+00:00")
    audit.record(db, "remediation_verified", finding_id="b", at="2026-11-03T09:30:00+00:00")
    audit.record(db, "opened", finding_id="c", at="2026-11-03T11:00:00+00:00")
    audit.record(db, "acknowledged", finding_id="a", at="2026-11-03T12:00:00+00:00")  # not a lifecycle change
    audit.record(db, "resolved", finding_id="a", at="2026-11-04T07:00:00+00:00")
    audit.record(db, "reopened", finding_id="a", at="2026-11-05T23:59:00+00:00")
    # Written with another offset: still 2026-11-05 in UTC.
    audit.record(db, "resolved", finding_id="old", at="2026-11-06T01:00:00+02:00")
    audit.record(db, "opened", finding_id="c", at="2026-11-05T23:30:00+00:00")  # already open: no news

    days = daily_finding_counts(db, days=5, until=date(2026, 11, 5))
    assert [d.day for d in days] == [date(2026, 11, d) for d in range(1, 6)]
    as_rows = [(d.day.day, d.open, {k: v for k, v in d.new.items() if v}, {k: v for k, v in d.resolved.items() if v})
               for d in days]
    zero = dict.fromkeys(("critical", "high", "medium", "low", "info"), 0)
    assert as_rows == [
        (1, {**zero, "medium": 1}, {}, {}),
        (2, {**zero, "medium": 1, "high": 1}, {"high": 1}, {}),
        (3, {**zero, "medium": 1, "high": 1, "low": 1}, {"critical": 1, "low": 1}, {"critical": 1}),
        (4, {**zero, "medium": 1, "low": 1}, {}, {"high": 1}),
        (5, {**zero, "high": 1, "low": 1}, {"high": 1}, {"medium": 1}),
    ]
    gcp = daily_finding_counts(db, days=1, until=date(2026, 11, 5), provider="gcp")
    assert gcp[0].open["low"] == 1 and sum(gcp[0].open.values()) == 1


def test_days_without_events_and_bad_window(fresh_db):
    days = daily_finding_counts(fresh_db, days=3, until=date(2026, 1, 2))
    assert [d.day for d in days] == [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)]
    assert all(sum(d.open.values()) == sum(d.new.values()) == 0 for d in days)
    with pytest.raises(ValueError, match="days must be at least 1"):
        daily_finding_counts(fresh_db, days=0)
