"""The console adapter runs the same handlers: typed commands, numbered actions, decisions in SQLite."""

from __future__ import annotations

import io

from skywarden.bot.console import run_chat
from skywarden.bot.core.settings import BotConfig
from skywarden.bot.wiring import assemble
from skywarden.storage import audit
from skywarden.storage.findings import get_finding
from tests.bot.helpers import FRAMEWORK, RULES, FakeEstate, bucket


def test_console_session(tmp_path):
    estate = FakeEstate(resources=[bucket("open", blocked=False), bucket("old", versioned=False)])
    services = assemble(str(tmp_path / "c.db"), BotConfig(), RULES, estate.runner, None, {"test-fw": FRAMEWORK})
    script = "\n".join([
        "findings", "scan aws", "findings", "ack 1", "ack 1",
        'suppress 2 --reason "test bucket" --days 30', "suppress 2 --days 400 --reason x", "suppressions",
        "revoke 1", "remediate 1", "posture", "frobnicate", "quit", "status",
    ]) + "\n"
    out = io.StringIO()
    try:
        run_chat(services, user="U0ALICE", stdin=io.StringIO(script), out=out)
    finally:
        services.close()
    text = out.getvalue()
    assert "0 finding(s)" in text
    assert "scan 1 succeeded" in text and "2 new" in text
    assert "arn:aws:s3:::open" in text  # emoji stripped, ARNs intact
    assert "-> ack 1  |  suppress 1" in text and "remediate 1" in text  # buttons become typed commands
    assert "finding #1 acknowledged" in text and "already acknowledged by U0ALICE" in text
    assert "finding #2 suppressed" in text and "At most 90 days" in text
    assert "-> revoke 1" in text and "suppression 1 revoked" in text
    assert "Nothing was changed" in text and "0 of 2 checked controls passing" in text
    assert "unknown command 'frobnicate'" in text
    assert "scan 1 succeeded" in text and text.count("== scan") == 1  # 'status' after quit never ran
    db = services.db
    assert get_finding(db, "1")["state"] == "acknowledged" and get_finding(db, "2")["state"] == "open"
    actors = {e["actor"] for e in audit.events(db) if e["action"] in ("acknowledged", "suppressed")}
    assert actors == {"U0ALICE"}
