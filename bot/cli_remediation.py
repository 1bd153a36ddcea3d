"""``skywarden remediate`` and ``skywarden audit``: remediation for automation and break-glass, audit export."""

from __future__ import annotations

import csv
import getpass
import io
import json
from pathlib import Path
from typing import Any

import click

from rules.errors import RemediationError
from rules.loader import load_rules
from rules.remediation.base import Plan
from storage.db import open_db


def describe_plan(plan: Plan) -> str:
    lines = [plan.summary, f"  resource: {plan.resource_id} ({plan.account_id}, {plan.region})"]
    if plan.noop:
        lines.append("  nothing to change: the resource is already compliant")
    for call in plan.calls:
        lines.append(f"  call: {call.describe()}" + (f" in {call.region}" if call.region else ""))
    lines.append(f"  before: {json.dumps(plan.before, sort_keys=True, default=str)}")
    lines.append(f"  after:  {json.dumps(plan.after, sort_keys=True, default=str)}")
    return "\n".join(lines)


def _service(obj: dict[str, Any], accounts_file: str | None, profile: str | None) -> Any:
    from bot.remediation import ApprovalPolicy, MultiCloudEnvironment, RemediationService
    from bot.remediation_aws import AwsRemediationEnvironment
    from bot.remediation_azure import AzureRemediationEnvironment
    from bot.remediation_gcp import GcpRemediationEnvironment
    from scanners.aws.session import base_session, load_accounts_file

    specs = load_accounts_file(Path(accounts_file)).accounts if accounts_file else []
    # Azure and GCP use the scans' connection settings from the environment; nothing is built until needed.
    environment = MultiCloudEnvironment({
        "aws": AwsRemediationEnvironment(base_session(profile), specs),
        "azure": AzureRemediationEnvironment(),
        "gcp": GcpRemediationEnvironment(),
    })
    return RemediationService(open_db(obj["db"]), load_rules(), environment, ApprovalPolicy())


@click.command()
@click.argument("finding")
@click.option("--plan", "mode", flag_value="plan", default=True, help="Print the dry-run plan (default).")
@click.option("--apply", "mode", flag_value="apply", help="Apply the plan (needs --approved-by).")
@click.option("--undo", "mode", flag_value="undo", help="Restore the state recorded before the last fix.")
@click.option("--approved-by", help="Who approved the change (not the requester: four-eyes).")
@click.option("--requested-by", default=None, help="Who asks for it (default: the OS user).")
@click.option("--accounts-file", type=click.Path(dir_okay=False), help="Accounts file with remediation_role_arn.")
@click.option("--profile", help="AWS profile (default: boto3's standard credential chain).")
@click.pass_obj
def remediate(obj: dict[str, Any], finding: str, mode: str, approved_by: str | None, requested_by: str | None,
              accounts_file: str | None, profile: str | None) -> None:
    """Plan, apply (with verification by rescan) or undo the automated fix of FINDING (id or number)."""
    service = _service(obj, accounts_file, profile)
    requester = requested_by or getpass.getuser()
    if mode == "plan":
        _, plan = service.plan(finding)
        click.echo(describe_plan(plan))
        return
    if not approved_by:
        raise click.UsageError("--apply and --undo need --approved-by NAME")
    request_id, plan = (service.request if mode == "apply" else service.request_undo)(finding, requester)
    click.echo(describe_plan(plan))
    decision = service.approve(request_id, approved_by)
    click.echo(f"request {request_id}: {decision.state}: {decision.message}")
    if not decision.ok:
        raise RemediationError(f"remediation of {finding} did not complete: {decision.message}")


@click.command()
@click.option("--finding", help="Only this finding (id or number).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.pass_obj
def audit(obj: dict[str, Any], finding: str | None, fmt: str, output: str | None) -> None:
    """Export the audit log: every scan, decision, approval, refusal, apply, verification and undo."""
    from storage import audit as audit_log
    from storage.findings import get_finding

    db = open_db(obj["db"], readonly=True)
    finding_id = None
    if finding:
        row = get_finding(db, finding)
        if row is None:
            raise click.ClickException(f"no finding {finding!r}")
        finding_id = row["id"]
    events = audit_log.events(db, finding_id=finding_id)
    if fmt == "json":
        text = json.dumps(events, indent=2, default=str) + "\n"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, ["id", "at", "actor", "action", "finding_id", "scan_id", "details"],
                                lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow({**event, "details": json.dumps(event["details"], sort_keys=True, default=str)})
        text = out.getvalue()
    if output:
        Path(output).write_text(text)
    else:
        click.echo(text, nl=False)
