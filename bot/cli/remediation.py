"""``skywarden remediate`` and ``skywarden audit``: the operators' break-glass remediation path (two OS users,
four-eyes, audited as such) and the audit export."""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from skywarden.bot.core.settings import ANYONE, BotConfig, load_config
from skywarden.rules.loader import load_rules
from skywarden.rules.remediation.base import Plan
from skywarden.scanners.errors import RemediationError
from skywarden.storage import remediations
from skywarden.storage.db import open_db
from skywarden.storage.findings import get_finding


def describe_plan(plan: Plan) -> str:
    lines = [plan.summary, f"  resource: {plan.resource_id} ({plan.account_id}, {plan.region})"]
    if plan.noop:
        lines.append("  nothing to change: the resource is already compliant")
    for call in plan.calls:
        lines.append(f"  call: {call.describe()}" + (f" in {call.region}" if call.region else ""))
    lines.append(f"  before: {json.dumps(plan.before, sort_keys=True, default=str)}")
    lines.append(f"  after:  {json.dumps(plan.after, sort_keys=True, default=str)}")
    return "\n".join(lines)


CLI_CHANNEL = "cli-break-glass"


def os_user() -> str:
    """The login of the account running this process, from the password database: unlike getpass.getuser(),
    not taken from $USER/$LOGNAME, which anyone can set to someone else's name."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        raise click.ClickException(f"cannot tell who you are: uid {os.geteuid()} has no login name") from None


def _service(obj: dict[str, Any], accounts_file: str | None, profile: str | None, policy: Any = None,
             audit_context: dict[str, Any] | None = None) -> Any:
    from skywarden.bot.core.remediation import ApprovalPolicy, RemediationService
    from skywarden.rules.remediation.environments import RemediationOptions, cloud_remediation_environment

    environment = cloud_remediation_environment(
        RemediationOptions(Path(accounts_file) if accounts_file else None, profile))
    return RemediationService(open_db(obj["db"]), load_rules(), environment, policy or ApprovalPolicy(),
                              audit_context=audit_context)


@dataclass(frozen=True)
class Operator:
    """Who runs this CLI: the OS login, and who that is in Slack (remediation.cli_operators)."""

    login: str
    user_id: str


def _operator(config: BotConfig) -> Operator:
    login = os_user()
    where = config.source or "skywarden.yml"
    if not config.remediation_approvers:
        raise click.ClickException(f"remediation is off: no permissions.remediation_approvers in {where}")
    user_id = config.cli_operators.get(login)
    if user_id is None:
        raise click.ClickException(f"OS user {login!r} is not listed under remediation.cli_operators in {where}: "
                                   "the CLI applies fixes only for operators it can tell apart")
    return Operator(login, user_id)


def _policy(config: BotConfig) -> Any:
    from skywarden.bot.core.remediation import ApprovalPolicy

    # Only user ids count from the CLI: resolving a user group needs Slack, which this path must not depend on.
    approvers = None if ANYONE in config.remediation_approvers else frozenset(
        p for p in config.remediation_approvers if not p.startswith("S"))
    return ApprovalPolicy(approvers, frozenset(config.self_approval_accounts),
                          timedelta(hours=config.request_expiry_hours))


def _requester_login(db: Any, request: dict[str, Any]) -> str | None:
    from skywarden.storage import audit as audit_log

    for event in audit_log.events(db, finding_id=request["finding_id"]):
        details = event["details"] or {}
        if event["action"] in ("remediation_requested", "undo_requested") and details.get("request_id") == \
                request["id"]:
            return details.get("os_user")
    return None


def _refuse_legacy(value: str | None, name: str) -> None:
    if value is not None:
        raise click.UsageError(
            f"{name} is gone: one operator could name two people. Run `remediate FINDING --apply` yourself; "
            "another operator listed in remediation.cli_operators approves with `remediate FINDING --approve N`")


@click.command()
@click.argument("finding")
@click.option("--plan", "mode", flag_value="plan", default=True, help="Print the dry-run plan (default).")
@click.option("--apply", "mode", flag_value="apply",
              help="Record a request to apply the plan; another operator approves it with --approve.")
@click.option("--undo", "mode", flag_value="undo",
              help="Record a request to restore the state recorded before the last fix (approved the same way).")
@click.option("--approve", "approve_id", type=int, metavar="REQUEST",
              help="Approve request REQUEST of FINDING and apply it (not as the operator who requested it).")
@click.option("--reject", "reject_id", type=int, metavar="REQUEST", help="Reject request REQUEST of FINDING.")
@click.option("--config", "config_path", envvar="SKYWARDEN_CONFIG",
              help="Bot configuration (default ./skywarden.yml): approvers and remediation.cli_operators.")
@click.option("--approved-by", hidden=True)
@click.option("--requested-by", hidden=True)
@click.option("--accounts-file", type=click.Path(dir_okay=False), help="Accounts file with remediation_role_arn.")
@click.option("--profile", help="AWS profile (default: boto3's standard credential chain).")
@click.pass_obj
def remediate(obj: dict[str, Any], finding: str, mode: str, approve_id: int | None, reject_id: int | None,
              config_path: str | None, approved_by: str | None, requested_by: str | None,
              accounts_file: str | None, profile: str | None) -> None:
    """Plan, request or approve the automated fix of FINDING (id or number): the operators' break-glass path.

    Four-eyes holds here too, between OS users: `--apply` (or `--undo`) records a request as you; a different
    OS user, listed under remediation.cli_operators as one of permissions.remediation_approvers, applies it
    with `--approve N` (verified by a rescan). Every step is audited with channel cli-break-glass and the OS user.
    """
    _refuse_legacy(approved_by, "--approved-by")
    _refuse_legacy(requested_by, "--requested-by")
    if approve_id is not None and reject_id is not None:
        raise click.UsageError("--approve and --reject exclude each other")
    if mode != "plan" and (approve_id is not None or reject_id is not None):
        raise click.UsageError("--apply/--undo record a request; --approve/--reject decide one: one at a time")
    if mode == "plan" and approve_id is None and reject_id is None:
        _, plan = _service(obj, accounts_file, profile).plan(finding)
        click.echo(describe_plan(plan))
        return
    config = load_config(config_path)
    operator = _operator(config)
    context = {"channel": CLI_CHANNEL, "os_user": operator.login}
    service = _service(obj, accounts_file, profile, _policy(config), context)
    target = get_finding(service.db, finding)
    if target is None:
        raise RemediationError(f"no finding {finding!r}")
    decided = approve_id if approve_id is not None else reject_id
    if decided is None:
        request_id, plan = (service.request if mode == "apply" else service.request_undo)(target["id"],
                                                                                          operator.user_id)
        click.echo(describe_plan(plan))
        click.echo(f"request {request_id} recorded for finding #{target['number']} as {operator.login} "
                   f"({operator.user_id}); nothing changes until another approver runs:\n"
                   f"  skywarden remediate {target['number']} --approve {request_id}")
        return
    request = remediations.get(service.db, decided)
    if request is None or request["finding_id"] != target["id"]:
        raise RemediationError(f"finding #{target['number']} has no remediation request {decided}")
    account = request["plan"]["account_id"]
    same_login = _requester_login(service.db, request) == operator.login
    if approve_id is not None and same_login and account not in config.self_approval_accounts:
        # The Slack identities may differ if cli_operators changed in between; the OS user did not.
        decision = service.refuse(decided, operator.user_id,
                                  f"four-eyes: OS user {operator.login} requested it and cannot decide it")
    elif approve_id is not None:
        decision = service.approve(decided, operator.user_id)
    else:
        decision = service.reject(decided, operator.user_id, f"rejected from the CLI by {operator.login}")
    click.echo(f"request {decided}: {decision.state}: {decision.message}")
    if not decision.ok:
        raise RemediationError(f"request {decided} of {finding} did not complete: {decision.message}")


@click.command()
@click.option("--finding", help="Only this finding (id or number).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.pass_obj
def audit(obj: dict[str, Any], finding: str | None, fmt: str, output: str | None) -> None:
    """Export the audit log: every scan, decision, approval, refusal, apply, verification and undo."""
    from skywarden.storage import audit as audit_log
    from skywarden.storage.findings import get_finding

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
