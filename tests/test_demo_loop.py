"""The demo's whole loop in the console, as two users against the embedded moto estate: scan, evidence,
suppress, remediate with a plan, approval by the second user, apply, verification rescan, undo."""

from __future__ import annotations

import io
import re

import boto3
import pytest
from moto import mock_aws

from skywarden.bot.console import run_chat
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.demo.aws_estate import seed_demo_estate
from skywarden.bot.demo.runner import DEMO_REGIONS, DEMO_USERS, demo_console, emulator_note
from skywarden.rules.loader import load_rules
from skywarden.storage import audit
from skywarden.storage.db import open_db
from skywarden.storage.findings import ACTIVE_STATES, get_finding, query_findings

_GENERATED = re.compile(r"^[a-z]+-[0-9a-f]{8,}$")
BUCKET = "acme-data-exports"  # public in the demo estate


@pytest.fixture
def estate(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        session = boto3.Session(region_name=DEMO_REGIONS[0])
        seed_demo_estate(session, DEMO_REGIONS)
        rules = load_rules()
        db_file = str(tmp_path / "demo.db")
        outcome = scan_aws(open_db(db_file), rules, AwsScope(regions=DEMO_REGIONS), session=session)
        yield db_file, rules, session, outcome


def _stable_name(row: dict) -> str:
    name = row["resource_name"] or ""
    return "generated" if _GENERATED.match(name) else name


def _versioning(session: boto3.Session, bucket: str) -> str:
    return session.client("s3").get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")


def _number(db, rule_id: str, name: str) -> int:
    rows = query_findings(db, states=ACTIVE_STATES)
    return next(r["number"] for r in rows if r["rule_id"] == rule_id and r["resource_name"] == name)


def _chat(services, lines: list[str]) -> str:
    out = io.StringIO()
    run_chat(services, user="alice", users=DEMO_USERS, stdin=io.StringIO("\n".join(lines) + "\n"), out=out,
             note=emulator_note)
    return out.getvalue()


def test_the_whole_loop_as_two_users(estate):
    db_file, rules, session, _ = estate
    db = open_db(db_file)
    fix = _number(db, "aws-s3-bucket-versioning", BUCKET)
    other = _number(db, "aws-s3-bucket-access-logging", BUCKET)
    assert _versioning(session, BUCKET) == "never enabled"
    services = demo_console(db_file, rules, session)
    try:
        text = _chat(services, ["findings critical", f'suppress {other} --reason "demo bucket" --days 30',
                                f"remediate {fix}"])
        request = re.search(r"Remediation request (\d+)", text).group(1)
        assert f"finding #{other} suppressed" in text and "logging.TargetBucket is (not set)" in text  # evidence
        assert "Plan: Enable versioning on acme-data-exports" in text and "put_bucket_versioning" in text
        assert _versioning(session, BUCKET) == "never enabled"  # a plan changes nothing
        text = _chat(services, [f"approve {request}", f"as bob approve {request}"])
        assert "the requester cannot approve their own remediation" in text
        # the approver is a mention (the console shows it as @U0BOB), not escaped text reading "<@U0BOB>"
        assert f"Request {request}: Remediated and verified by a rescan (approved by @U0BOB)" in text
        assert _versioning(session, BUCKET) == "Enabled"  # the real (emulated) bucket changed
        assert get_finding(db, str(fix))["state"] == "remediated"
        text = _chat(services, [f"undo {fix}"])
        undo = re.search(r"Undo request (\d+)", text).group(1)
        text = _chat(services, [f"as bob approve {undo}"])
        assert f"Request {undo}:" in text
        assert _versioning(session, BUCKET) == "Suspended"  # as before: versioning off
        text = _chat(services, ["scan aws demo"])
        assert "accessanalyzer us-east-1: 404 (not implemented by the demo's AWS emulator)" in text
        assert get_finding(db, str(fix))["state"] == "open"  # the rescan sees the restored misconfiguration
    finally:
        services.close()
    actors = {(e["action"], e["actor"]) for e in audit.events(db) if e["action"].startswith("remediation")}
    assert any(actor == "U0BOB" for _, actor in actors), actors


def test_two_fresh_demo_runs_number_findings_the_same(tmp_path, monkeypatch):
    """Numbers follow rule and resource name, not collector thread timing nor the ids moto makes up."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    rules = load_rules()
    numbered = []
    for run in range(2):
        with mock_aws():  # a new emulator: new random ids (sg-..., vol-...) for the same named resources
            session = boto3.Session(region_name=DEMO_REGIONS[0])
            seed_demo_estate(session, DEMO_REGIONS)
            db = open_db(tmp_path / f"run{run}.db")
            scan_aws(db, rules, AwsScope(regions=DEMO_REGIONS), session=session, max_workers=8)
            # Resources without a name (default NACLs) are known only by the id moto made up this time.
            numbered.append({r["number"]: (r["rule_id"], r["region"], _stable_name(r))
                             for r in query_findings(db, states=ACTIVE_STATES)})
    assert len(numbered[0]) > 50
    assert numbered[0] == numbered[1]


def test_demo_only_gaps_are_labelled_in_the_demo_output_only(estate, capsys):
    from skywarden.bot.cli import print_scan_summary
    from skywarden.bot.demo.runner import EMULATOR_NOTE, emulator_note

    _, _, _, outcome = estate
    print_scan_summary(outcome, note=emulator_note)
    labelled = capsys.readouterr().err.splitlines()
    gaps = [line for line in labelled if "accessanalyzer" in line]
    assert gaps and all(line.endswith(EMULATOR_NOTE) for line in gaps)
    assert any("NotInCredentialReport" in line and line.endswith(EMULATOR_NOTE) for line in labelled)
    assert not any(line.endswith(EMULATOR_NOTE) for line in labelled if line.startswith("scan "))
    print_scan_summary(outcome)  # the CLI outside the demo: a gap is a gap
    assert EMULATOR_NOTE not in capsys.readouterr().err
    assert emulator_note("coverage gap: account 1 s3 us-east-1: AccessDenied: AccessDenied: no") == ""


def test_the_demo_names_a_skywarden_the_shell_can_run(monkeypatch, tmp_path):
    import sys
    from pathlib import Path

    from skywarden.bot.demo.runner import skywarden_command

    installed = Path(sys.executable).parent / "skywarden"
    assert installed.exists()  # the test venv has the entry point
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # .venv/bin not activated
    assert skywarden_command() == str(installed)
    monkeypatch.setenv("PATH", str(installed.parent))  # `. .venv/bin/activate`
    assert skywarden_command() == "skywarden"
