"""``skywarden demo``: a full scan of an embedded, deliberately misconfigured AWS estate.

The estate lives in moto, in this process: no credentials, no network, and dummy credentials in the
environment so no SDK ever looks for an instance metadata endpoint.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from skywarden.bot.slack.blocks import failure_headline
from skywarden.rules.frameworks import load_catalogues, posture, posture_summary
from skywarden.rules.loader import load_rules
from skywarden.rules.model import SEVERITIES
from skywarden.scanners.errors import SkywardenError
from skywarden.storage import finding_views, schema
from skywarden.storage.db import open_db
from skywarden.storage.dbfile import check_file
from skywarden.storage.findings import ACTIVE_STATES, query_findings

DEMO_REGIONS = ("us-east-1", "eu-west-1")
DEMO_DB = "skywarden-demo.db"
DEMO_PURPOSE = "demo"
_DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def demo_environment() -> None:
    os.environ.update(_DEMO_ENV)
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        os.environ.pop(var, None)
    amis = Path(__file__).resolve().parent / "aws_amis.json"
    if amis.exists():
        os.environ.setdefault("MOTO_AMIS_PATH", str(amis))


def skywarden_command() -> str:
    """How to type `skywarden` from here: the bare name if the shell finds this install, else its path
    (`make demo` installs into .venv/bin, which is not on PATH until `. .venv/bin/activate`)."""
    installed = Path(sys.executable).parent / "skywarden"
    found = shutil.which("skywarden")
    if found and (not installed.exists() or Path(found).resolve() == installed.resolve()):
        return "skywarden"
    if not installed.exists():
        return f"{Path(sys.executable).name} -m skywarden.bot.cli"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def claim_demo_database(path: Path, fresh: bool) -> None:
    """The demo writes (and with ``fresh`` deletes) only databases it created itself, marked as such.

    Anything else at that path, a production ledger with its audit log and suppressions above all, is refused
    before it is touched: not deleted, not written, not even migrated."""
    check_file(path, must_exist=False)  # a directory is refused here
    if not path.exists():
        return
    purpose, why = schema.read_purpose(path)
    if purpose != DEMO_PURPOSE:
        raise SkywardenError(
            f"{path} is not a demo database ({why}); the demo never writes to or deletes a database it did not "
            "create. Run it without --db / SKYWARDEN_DB (it uses ./skywarden-demo.db) or name a new file"
        )
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# What moto does not implement, as it shows in a gap or a rule error: the demo's gaps, not a real account's.
_EMULATOR_MARKS = ("not yet implemented", "notincredentialreport")
EMULATOR_NOTE = " (not implemented by the demo's AWS emulator)"


def emulator_note(line: str) -> str:
    """The label for a demo gap or rule error that comes from the emulator (moto), not from the estate."""
    return EMULATOR_NOTE if any(mark in line.lower() for mark in _EMULATOR_MARKS) else ""


def run_demo(db_file: str, print_summary: Callable[..., None], fresh: bool = True) -> dict[str, Any]:
    """Seed, scan and report the demo estates; ``print_summary`` is the CLI's scan summary (passed in, so the
    demo never imports the CLI that starts it), called with ``note=emulator_note``."""
    claim_demo_database(Path(db_file), fresh)  # before anything else: a refused database is left as it was
    demo_environment()
    try:
        import boto3
        from moto import mock_aws
    except ImportError as exc:
        raise SkywardenError("the demo needs moto: pip install 'skywarden[demo]' (make demo does this)") from exc
    from skywarden.bot.core.scanning import AwsScope, scan_aws
    from skywarden.bot.demo.aws_estate import seed_demo_estate

    rules = load_rules()
    db = open_db(db_file)
    schema.set_meta(db, schema.PURPOSE, DEMO_PURPOSE)
    # Started by hand, not `with`: the estate stays up for the chat console offered at the end.
    mock = mock_aws()
    mock.start()
    try:
        session = boto3.Session(region_name=DEMO_REGIONS[0])
        click.echo(f"Seeding a demo AWS estate in an embedded emulator ({', '.join(DEMO_REGIONS)})...")
        seeded = seed_demo_estate(session, DEMO_REGIONS)
        click.echo(f"Scanning it with {len(rules)} rules...")
        outcome = scan_aws(db, rules, AwsScope(regions=DEMO_REGIONS), session=session)
    except BaseException:
        mock.stop()
        raise
    print_summary(outcome, note=emulator_note)
    click.echo(f"AWS: {len(outcome.inventory.resources)} resources in {len(DEMO_REGIONS)} regions")
    resources = {"aws": len(outcome.inventory.resources)}
    for provider, scan_other in _other_clouds():
        click.echo(f"Scanning the demo {provider.upper()} estate (a loopback stand-in of its API)...")
        other = scan_other(db, rules)
        print_summary(other, note=emulator_note)
        resources[provider] = len(other.inventory.resources)
    rows = query_findings(db, states=ACTIVE_STATES)
    click.echo("")
    click.echo(f"{sum(resources.values())} resources in {len(resources)} clouds; {len(rows)} findings")
    by_provider = Counter(row["provider"] for row in rows)
    click.echo("By cloud: " + ", ".join(
        f"{p} {by_provider.get(p, 0)} findings on {n} resources" for p, n in resources.items()))
    click.echo(_severity_line(rows))
    click.echo("")
    click.echo("By framework (automated controls a rule checks; passing = no open finding):")
    failing = Counter(row["rule_id"] for row in rows)
    collected = finding_views.collected_types(db, None)
    for framework in load_catalogues().values():
        view = posture(framework, rules, failing, collected)
        if view["controls_checked"]:
            click.echo(f"  {framework.key:<16} {posture_summary(view)}")
    click.echo("")
    click.echo("Top findings (each a check that FAILED on a resource):")
    for row in rows[:12]:
        click.echo(f"  #{row['number']:<4} {row['severity']:<8} {failure_headline(row)}  [{row['provider']}]")
    click.echo("")
    click.echo(f"Stored in {db_file}. Try: {skywarden_command()} --db {db_file} findings --severity critical")
    try:
        _offer_chat(db_file, rules, session)
    finally:
        mock.stop()
    return {"seeded": seeded, "scan_id": outcome.scan_id, "findings": len(rows)}


def _other_clouds() -> list[tuple[str, Any]]:
    """The Azure and GCP demo scans, each against its in-process loopback stand-in."""
    from skywarden.bot.demo.azure_scan import scan_azure_demo
    from skywarden.bot.demo.gcp_scan import run_gcp_demo_scan

    return [("azure", scan_azure_demo), ("gcp", run_gcp_demo_scan)]


def _severity_line(rows: list[dict[str, Any]]) -> str:
    counts = Counter(row["severity"] for row in rows)
    return "By severity: " + ", ".join(f"{sev} {counts.get(sev, 0)}" for sev in SEVERITIES)


# Two demo people with Slack-style ids: remediation needs an approver other than the requester.
DEMO_USERS = {"alice": "U0ALICE", "bob": "U0BOB"}


def demo_config() -> Any:
    """The bot configuration the demo console runs with: both demo users may approve remediation."""
    from skywarden.bot.core.settings import BotConfig

    return BotConfig(remediation_approvers=tuple(DEMO_USERS.values()))


def demo_console(db_file: str, rules: list[Any], session: Any) -> Any:
    """Console services against the embedded estate: scans and remediation both reach the demo's moto."""
    from skywarden.bot.core.scanning import AwsScope, scan_aws
    from skywarden.bot.wiring import console_services

    def demo_runner(db: Any, request: Any) -> Any:
        # `scan aws demo` names the embedded estate; it is the only account there is.
        return scan_aws(db, rules, AwsScope(regions=request.regions or DEMO_REGIONS), session=session,
                        trigger="console", requested_by=request.requested_by)

    return console_services(db_file, demo_config(), demo_runner)


def _offer_chat(db_file: str, rules: list[Any], session: Any) -> None:
    """On a terminal, continue in `skywarden chat` against the same embedded estate: the whole loop, no Slack."""

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    click.echo("")
    if not click.confirm("Decide on these findings in the chat console (what the Slack bot does)?", default=True):
        return
    from skywarden.bot.console import run_chat

    services = demo_console(db_file, rules, session)
    click.echo("You are alice (U0ALICE); bob (U0BOB) approves: `as bob approve R`.")
    click.echo("Try: findings critical · ack 3 · suppress 4 --reason \"test bucket\" --days 30 · remediate 5 · "
               "as bob approve R · scan aws demo · undo 5")
    try:
        run_chat(services, user="alice", users=DEMO_USERS, note=emulator_note)
    finally:
        services.close()
