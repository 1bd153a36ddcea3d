"""The ``skywarden`` command line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from skywarden.bot.cli import formats
from skywarden.bot.core.logs import configure_logging
from skywarden.rules.frameworks import framework_coverage, load_catalogues
from skywarden.rules.loader import load_rules, rule_files
from skywarden.rules.model import SEVERITIES, Rule
from skywarden.scanners.errors import SkywardenError
from skywarden.scanners.providers import PROVIDERS
from skywarden.scanners.redact import redact, secrets_from_env
from skywarden.storage.db import DEFAULT_DB, db_path, open_db
from skywarden.storage.dbfile import describe_error
from skywarden.storage.findings import ACTIVE_STATES, STATES, query_findings


class _Group(click.Group):
    """Turn domain errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkywardenError as exc:
            # Errors quote URLs and SDK messages: mask credentials as the log filter does.
            raise click.ClickException(redact(str(exc), secrets_from_env())) from exc
        except sqlite3.Error as exc:  # the database failed mid-command (lock held too long, a damaged page)
            raise click.ClickException(describe_error((ctx.obj or {}).get("db", "the database"), exc)) from exc


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _load(paths: tuple[str, ...]) -> list[Rule]:
    return load_rules([Path(p) for p in paths] if paths else None)


def _render(rows: Any, fmt: str, rules: Any, output: str | None) -> str:
    # A file gets the piped style (ASCII, no colour); stdout is measured as it is.
    style = formats.TableStyle() if output else formats.TableStyle.for_stream()
    return formats.render(rows, fmt, rules, style)


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group(cls=_Group)
@click.version_option(package_name="skywarden", prog_name="skywarden")
@click.option("--db", "db", envvar="SKYWARDEN_DB", help="SQLite database (default ./skywarden.db).")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, db: str | None, verbose: int) -> None:
    """Skywarden: cloud security posture, scanned, remembered and decided on."""
    configure_logging(verbose)
    ctx.obj = {"db": str(db_path(db))}


def _scan_output_options(command: Any) -> Any:
    """The options every `scan <cloud>` command shares, and the context object."""
    for decorator in reversed((
        click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="table", show_default=True),
        click.option("--output", type=click.Path(dir_okay=False), help="Write the findings here instead of stdout."),
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True),
                     help="Rule files/directories."),
        click.option("--workers", default=16, show_default=True, help="Concurrent collection units."),
        click.option("--include-passed", is_flag=True, help="Also print the checks that passed (status PASS)."),
        click.option("--config", "config_path", envvar="SKYWARDEN_CONFIG",
                     help="Read broker_url from this configuration (default ./skywarden.yml if present)."),
        click.pass_obj,
    )):
        command = decorator(command)
    return command


def _report_scan(db: Any, rules: list[Rule], provider: str, outcome: Any, fmt: str, output: str | None,
                 include_passed: bool = False) -> None:
    """Print the checks that failed in this scan (findings in any active state), with --include-passed the
    checks that passed after them, then the summary on stderr."""
    scanned = query_findings(db, states=ACTIVE_STATES, provider=provider, accounts=list(outcome.inventory.accounts))
    rows = [row for row in scanned if row["last_scan_id"] == outcome.scan_id]
    if include_passed:
        from skywarden.bot.core.pass_records import pass_rows
        from skywarden.rules.passes import passes
        from skywarden.storage.db import now

        rows += pass_rows(passes(outcome.report, outcome.inventory.resources), now(), outcome.scan_id)
    _write(_render(rows, fmt, {rule.id: rule for rule in rules}, output), output)
    print_scan_summary(outcome)


# ---------------------------------------------------------------- scan
@main.group()
def scan() -> None:
    """Scan a cloud and store the results."""


@scan.command("aws")
@click.option("--account", "accounts", multiple=True, help="Account id or name (repeatable; default: all).")
@click.option("--regions", multiple=True, help="Comma-separated regions (default: the account's enabled regions).")
@click.option("--accounts-file", type=click.Path(dir_okay=False), help="YAML file listing accounts and roles.")
@click.option("--org-role", help="Discover accounts with AWS Organizations and assume this role name in each.")
@click.option("--profile", help="AWS profile (default: boto3's standard credential chain).")
@click.option("--regions-per-unit", type=click.IntRange(0), default=None,
              help="With a broker: regions per distributed unit (0: one unit per account; default "
                   "SKYWARDEN_REGIONS_PER_UNIT or 4).")
@_scan_output_options
def scan_aws_command(
    obj: dict[str, Any],
    accounts: tuple[str, ...],
    regions: tuple[str, ...],
    accounts_file: str | None,
    org_role: str | None,
    profile: str | None,
    regions_per_unit: int | None,
    fmt: str,
    output: str | None,
    rule_paths: tuple[str, ...],
    workers: int,
    include_passed: bool,
    config_path: str | None,
) -> None:
    """Scan AWS accounts, store the results and print the failed checks.

    With SKYWARDEN_BROKER_URL, or broker_url: in the configuration, the accounts are collected by
    `skywarden worker` processes (docs/scale-out.md)."""
    from skywarden.bot.core.progress import ScanProgress
    from skywarden.bot.core.scanning import AwsScope, scan_aws
    from skywarden.bot.core.settings import load_config, scan_broker

    broker = scan_broker(load_config(config_path))
    rules = _load(rule_paths)
    scope = AwsScope(
        accounts=_split(accounts),
        regions=_split(regions),
        accounts_file=Path(accounts_file) if accounts_file else None,
        organization_role=org_role,
        profile=profile,
    )
    db = open_db(obj["db"])
    with ScanProgress() as progress:
        outcome = scan_aws(
            db, rules, scope, max_workers=workers, on_plan=progress.plan, on_result=progress.advance,
            broker=broker, regions_per_unit=regions_per_unit,
        )
    _report_scan(db, rules, "aws", outcome, fmt, output, include_passed)


@scan.command("gcp")
@click.option("--project", "projects", multiple=True, help="Project id (repeatable, or comma-separated).")
@click.option("--folder", help="Scan every active project under this folder (id or folders/ID).")
@click.option("--organization", help="Scan every active project in this organization (id or organizations/ID).")
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False),
    help="Service account key or other credentials file (default: GOOGLE_APPLICATION_CREDENTIALS, then ADC).",
)
@_scan_output_options
def scan_gcp_command(
    obj: dict[str, Any],
    projects: tuple[str, ...],
    folder: str | None,
    organization: str | None,
    credentials_file: str | None,
    fmt: str,
    output: str | None,
    rule_paths: tuple[str, ...],
    workers: int,
    include_passed: bool,
    config_path: str | None,
) -> None:
    """Scan Google Cloud projects, store the results and print the failed checks.

    The Cloud Asset endpoint is Google's unless SKYWARDEN_GCP_ASSET_ENDPOINT names another (Private
    Service Connect).
    """
    from skywarden.bot.core.progress import ScanProgress
    from skywarden.bot.core.scanning_gcp import scan_gcp
    from skywarden.bot.core.settings import load_config, scan_broker
    from skywarden.scanners.gcp.credentials import GcpSettings
    from skywarden.scanners.gcp.scan import GcpScope

    broker = scan_broker(load_config(config_path))
    rules = _load(rule_paths)
    scope = GcpScope(projects=_split(projects), folder=folder, organization=organization)
    db = open_db(obj["db"])
    with ScanProgress() as progress:
        outcome = scan_gcp(
            db,
            rules,
            scope,
            settings=GcpSettings.resolve(credentials_file=credentials_file),
            max_workers=workers,
            on_plan=progress.plan,
            on_result=progress.advance,
            broker=broker,
        )
    _report_scan(db, rules, "gcp", outcome, fmt, output, include_passed)


@scan.command("azure")
@click.option(
    "--subscription", "subscriptions", multiple=True, help="Subscription id (repeatable; default: all visible)."
)
@click.option(
    "--auth",
    type=click.Choice(["default", "cli", "environment", "managed-identity"]),
    help="Credential source (default: SKYWARDEN_AZURE_AUTH or DefaultAzureCredential).",
)
@click.option("--cloud", type=click.Choice(["public", "china", "usgov"]), help="Azure cloud (default: public).")
@_scan_output_options
def scan_azure_command(
    obj: dict[str, Any],
    subscriptions: tuple[str, ...],
    auth: str | None,
    cloud: str | None,
    fmt: str,
    output: str | None,
    rule_paths: tuple[str, ...],
    workers: int,
    include_passed: bool,
    config_path: str | None,
) -> None:
    """Scan Azure subscriptions, store the results and print the failed checks.

    The Resource Manager endpoint follows --cloud, or SKYWARDEN_AZURE_ARM_URL; TLS trust follows REQUESTS_CA_BUNDLE.
    """
    from skywarden.bot.core.progress import ScanProgress
    from skywarden.bot.core.scanning_azure import AzureScope, scan_azure
    from skywarden.bot.core.settings import load_config, scan_broker
    from skywarden.scanners.azure.credentials import AzureSettings

    broker = scan_broker(load_config(config_path))
    rules = _load(rule_paths)
    settings = AzureSettings.resolve(auth=auth, cloud=cloud)
    db = open_db(obj["db"])
    with ScanProgress() as progress:
        outcome = scan_azure(
            db, rules, AzureScope(subscriptions=_split(subscriptions)), settings=settings, max_workers=workers,
            on_plan=progress.plan, on_result=progress.advance, broker=broker,
        )
    _report_scan(db, rules, "azure", outcome, fmt, output, include_passed)


def print_scan_summary(outcome: Any, note: Callable[[str], str] = lambda line: "") -> None:
    """The scan's totals, gaps and rule errors on stderr; ``note`` may append a word to a gap or error line (the
    demo uses it to say which gaps are its emulator's, not Skywarden's)."""
    summary = outcome.summary
    click.echo(
        f"scan {outcome.scan_id} {outcome.status}: {summary['resources']} resources, "
        f"{summary['evaluations']} checks; {summary['new']} new, {summary['reopened']} reopened, "
        f"{summary['resolved']} resolved, {summary['still_failing']} still failing",
        err=True,
    )
    for gap in outcome.gaps:
        line = (f"coverage gap: account {gap.account_id} {gap.service} {gap.region}: {gap.error_class}: "
                f"{redact(gap.message, secrets_from_env())}")
        click.echo(line + note(line), err=True)
    for account_id, region in sorted({(unit.account_id, unit.region) for unit in outcome.inventory.skipped}):
        click.echo(f"skipped region: account {account_id} {region}: not enabled for the account (opt-in)", err=True)
    if outcome.report.errors:
        click.echo(f"{len(outcome.report.errors)} check(s) could not be evaluated (ERROR); first ones:", err=True)
        for evaluation in outcome.report.errors[:5]:
            line = f"  {evaluation.rule.id} on {evaluation.resource.id}: {evaluation.detail}"
            click.echo(line + note(line), err=True)


# ---------------------------------------------------------------- findings
@main.command()
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Default: open.")
@click.option("--severity", "severities", multiple=True, type=click.Choice(SEVERITIES))
@click.option("--provider", type=click.Choice(list(PROVIDERS)))
@click.option("--account", "accounts", multiple=True)
@click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.pass_obj
def findings(
    obj: dict[str, Any],
    states: tuple[str, ...],
    severities: tuple[str, ...],
    provider: str | None,
    accounts: tuple[str, ...],
    fmt: str,
    output: str | None,
) -> None:
    """List stored findings."""
    db = open_db(obj["db"], readonly=True)
    rows = query_findings(
        db,
        states=states or ("open",),
        severities=severities or None,
        provider=provider,
        accounts=_split(accounts) or None,
    )
    try:
        rules = {rule.id: rule for rule in load_rules()}
    except SkywardenError:
        rules = {}  # listing stored findings must not depend on the rule packs being valid
    _write(_render(rows, fmt, rules, output), output)


# ---------------------------------------------------------------- status
@main.command()
@click.option("--limit", default=5, show_default=True)
@click.pass_obj
def status(obj: dict[str, Any], limit: int) -> None:
    """Recent scans with their coverage gaps."""
    from skywarden.storage.scans import coverage_for, recent_scans

    db = open_db(obj["db"], readonly=True)
    scans = recent_scans(db, limit)
    if not scans:
        click.echo("no scans yet")
        return
    for scan_row in scans:
        summary = scan_row["summary"] or {}
        click.echo(
            f"scan {scan_row['id']} {scan_row['provider']} {scan_row['status']} started {scan_row['started_at']}"
            f" finished {scan_row['finished_at'] or '-'}: {summary.get('resources', 0)} resources,"
            f" {summary.get('new', 0)} new, {summary.get('resolved', 0)} resolved"
        )
        if scan_row.get("units_total") is not None:
            click.echo(f"  distributed: {scan_row['units_done'] or 0}/{scan_row['units_total']} units done")
        for gap in coverage_for(db, scan_row["id"], failed_only=True):
            click.echo(
                f"  gap: {gap['account_id']} {gap['service']} {gap['region']}: {gap['error_class']}: {gap['message']}"
            )


# ---------------------------------------------------------------- rules
@main.group("rules")
def rules_group() -> None:
    """List, show and validate rule packs."""


@rules_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True))
def rules_list(fmt: str, rule_paths: tuple[str, ...]) -> None:
    """Every rule with its severity, frameworks and remediation action."""
    rules = sorted(_load(rule_paths), key=lambda r: r.id)
    if fmt == "json":
        click.echo(json.dumps([rule.summary() for rule in rules], indent=2))
        return
    for rule in rules:
        cis = " ".join(f"{key}:{','.join(ids)}" for key, ids in rule.frameworks.items() if key.startswith("cis-"))
        click.echo(f"{rule.id:<55} {rule.severity:<8} {rule.resource_type:<32} {cis or '-'}")
    click.echo(f"{len(rules)} rules", err=True)


@rules_group.command("show")
@click.argument("rule_id")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True))
def rules_show(rule_id: str, rule_paths: tuple[str, ...]) -> None:
    """One rule in full."""
    import yaml

    for rule in _load(rule_paths):
        if rule.id == rule_id:
            click.echo(yaml.safe_dump(dict(rule.raw), sort_keys=False).rstrip())
            click.echo(f"# from {rule.source_file}")
            return
    raise click.ClickException(f"no rule {rule_id!r}")


@rules_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def rules_validate(paths: tuple[str, ...]) -> None:
    """Validate rule files (default: the built-in packs); every problem names the file, rule and field."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise click.ClickException(f"{missing[0]}: no such file or directory")
    rules = _load(paths)
    files = rule_files([Path(p) for p in paths]) if paths else None
    count = len(files) if files is not None else len({r.source_file for r in rules})
    click.echo(f"{len(rules)} rules in {count} file(s) are valid")


# ---------------------------------------------------------------- frameworks
@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def frameworks(fmt: str) -> None:
    """Which framework controls the rule packs check."""
    rules = load_rules()
    reports = [framework_coverage(fw, rules) for fw in load_catalogues().values()]
    if fmt == "json":
        click.echo(json.dumps(reports, indent=2))
        return
    for report in reports:
        # The numbers add up: controls = automated + manual, automated = checked + without a rule.
        uncovered = ", ".join(report["automated_uncovered"]) or "none"
        click.echo(
            f"{report['framework']}: {report['controls']} controls = {report['automated']} automated"
            f" (checkable by a cloud API) + {report['manual']} manual; {len(report['checked'])} automated checked"
            f" by a rule, {len(report['automated_uncovered'])} without a rule ({uncovered});"
            f" rules also cite {len(report['manual_cited'])} manual controls as supporting evidence"
        )


# ---------------------------------------------------------------- demo
@main.command()
@click.option("--keep-db", is_flag=True, help="Keep the previous demo database instead of starting fresh.")
@click.pass_obj
def demo(obj: dict[str, Any], keep_db: bool) -> None:
    """Scan an embedded, deliberately misconfigured AWS estate (no credentials, no network).

    It uses ./skywarden-demo.db, or the --db / SKYWARDEN_DB file if that is new or an earlier demo's: it
    refuses any other database rather than overwrite it."""
    from skywarden.bot.demo.runner import DEMO_DB, run_demo

    run_demo(obj["db"] if obj["db"] != DEFAULT_DB else DEMO_DB, print_scan_summary, fresh=not keep_db)



# ---------------------------------------------------------------- Slack bot (serve, chat, suppressions)
@main.command()
@click.option("--http", "http", is_flag=True, help="HTTP mode at /slack/events (default: Socket Mode).")
@click.option("--port", default=3000, show_default=True, help="HTTP mode: port to listen on.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP mode: address to bind.")
@click.option("--config", "config_path", envvar="SKYWARDEN_CONFIG", help="Bot configuration (default ./skywarden.yml).")
@click.pass_obj
def serve(obj: dict[str, Any], http: bool, port: int, host: str, config_path: str | None) -> None:
    """Run the Slack bot: Socket Mode with SLACK_APP_TOKEN, or --http with SLACK_SIGNING_SECRET."""
    from skywarden.bot.core.settings import Settings, load_config
    from skywarden.bot.slack.serve import serve as serve_bot

    settings = Settings.from_env(config=load_config(config_path))
    serve_bot(settings, obj["db"], http=http, host=host, port=port)


@main.command()
@click.option("--user", default="console", show_default=True, help="Who you are for permissions and the audit log.")
@click.option("--config", "config_path", envvar="SKYWARDEN_CONFIG", help="Bot configuration (default ./skywarden.yml).")
@click.pass_obj
def chat(obj: dict[str, Any], user: str, config_path: str | None) -> None:
    """The bot's commands and buttons in this terminal (no Slack workspace needed)."""
    from skywarden.bot.console import run_chat
    from skywarden.bot.core.settings import load_config
    from skywarden.bot.wiring import console_services

    services = console_services(obj["db"], load_config(config_path))
    try:
        run_chat(services, user=user)
    finally:
        services.close()


@main.group("suppressions")
def suppressions_group() -> None:
    """Suppressions kept as code (suppressions.yml)."""


@suppressions_group.command("validate")
@click.argument("path", default="suppressions.yml", type=click.Path(exists=True, dir_okay=False))
def suppressions_validate(path: str) -> None:
    """Check a suppressions file; every problem names the entry and the key."""
    from skywarden.bot.core.settings import load_suppressions

    entries = load_suppressions(path)
    click.echo(f"{len(entries)} suppression(s) in {path} are valid")


def _register_remediation() -> None:
    from skywarden.bot.cli.remediation import audit, remediate

    main.add_command(remediate)
    main.add_command(audit)


_register_remediation()


def _register_schedule() -> None:
    from skywarden.bot.cli.schedule import schedule

    main.add_command(schedule)


_register_schedule()


def _register_report() -> None:
    from skywarden.bot.cli.report import chart, report

    main.add_command(report)
    main.add_command(chart)


_register_report()


if __name__ == "__main__":
    main()


def _register_worker() -> None:
    from skywarden.bot.cli.worker import worker

    main.add_command(worker)


_register_worker()
