"""IAM: users and their credentials, the root user, password policy, customer policies, support role, certificates.

IAM is global, so every collector here runs once per account (``regional=False``). Two answers are shared
through ``ctx.memo`` so each API is called once per scan:

- ``get_account_authorization_details`` (users, roles and customer managed policies with their documents,
  inline policy names and attachments, in one paginated call instead of several calls per user), and
- the credential report (console password, MFA, access key activity and rotation for every user and for
  the root user), generated and awaited with a bounded wait.

Synthetic ids for account-level facts (ARN-shaped, stable per account):
``arn:<partition>:iam::<account>:root`` (aws.iam.root), ``arn:<partition>:iam::<account>:password-policy``
(aws.iam.password_policy) and ``arn:<partition>:iam::<account>:account`` (aws.iam.account).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.aws.errors import classify, error_code
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

ROOT_ROW = "<root_account>"
SUPPORT_POLICY = "policy/AWSSupportAccess"
# Until 2023 the root user's virtual MFA device always had this serial suffix; since multiple MFA devices
# are allowed it may carry any name, but then its User is the root ARN (``arn:aws:iam::<acct>:root``).
ROOT_VIRTUAL_MFA_SUFFIX = ":mfa/root-account-mfa-device"

# Credential report cells that mean "no value" rather than a time or a flag.
_REPORT_NONE = {"N/A", "not_supported", "no_information", ""}
# User properties filled from the credential report: all of them ERROR together when the report is missing.
REPORT_KEYS = (
    "credential_report",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "mfa_active",
    "access_keys",
)
ROOT_REPORT_KEYS = ("credential_report", "password_last_used", "mfa_active", "access_keys")

# Generating a report usually takes seconds; wait with a growing delay but never more than this in total.
REPORT_MAX_WAIT_S = 60.0
_REPORT_FIRST_DELAY_S = 0.5
_REPORT_MAX_DELAY_S = 4.0


@dataclass
class CredentialReport:
    """The parsed report (one row per user name, the root as ``<root_account>``), or why it is missing."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


# -- shared answers -------------------------------------------------------------------------------------


def authorization_details(ctx: AwsContext) -> dict[str, list[dict[str, Any]]]:
    """Users, roles and customer managed policies in one paginated call, once per account and scan."""

    def fetch() -> dict[str, list[dict[str, Any]]]:
        iam = ctx.client("iam")
        merged: dict[str, list[dict[str, Any]]] = {"UserDetailList": [], "RoleDetailList": [], "Policies": []}
        paginator = iam.get_paginator("get_account_authorization_details")
        for page in paginator.paginate(Filter=["User", "Role", "LocalManagedPolicy"]):
            for key, items in merged.items():
                items.extend(page.get(key, []))
        return merged

    return ctx.memo(("iam", "authorization_details"), fetch)


def credential_report(
    ctx: AwsContext, sleep: Callable[[float], None] = time.sleep, max_wait_s: float = REPORT_MAX_WAIT_S
) -> CredentialReport:
    """The credential report, generated if needed; a failure is returned, not raised.

    Users are listed from the authorization details, so a report that cannot be read (AccessDenied on
    GenerateCredentialReport is common with narrow audit roles) makes only the report-derived properties
    ERROR instead of hiding every user.
    """
    return ctx.memo(("iam", "credential_report"), lambda: _fetch_report(ctx, sleep, max_wait_s))


def _fetch_report(ctx: AwsContext, sleep: Callable[[float], None], max_wait_s: float) -> CredentialReport:
    iam = ctx.client("iam")
    delay, waited = _REPORT_FIRST_DELAY_S, 0.0
    try:
        while iam.generate_credential_report().get("State") != "COMPLETE":
            if waited >= max_wait_s:
                return CredentialReport(error="CredentialReportTimeout")
            sleep(delay)
            waited += delay
            delay = min(delay * 2, _REPORT_MAX_DELAY_S)
        content = iam.get_credential_report()["Content"]
    except ClientError as exc:
        return CredentialReport(error=classify(exc)[0])
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return CredentialReport(rows=parse_credential_report(text))


def parse_credential_report(text: str) -> dict[str, dict[str, Any]]:
    """CSV -> {user name: row}, with "true"/"false" as booleans and N/A-like cells as None."""
    rows: dict[str, dict[str, Any]] = {}
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {}
        for column, cell in raw.items():
            if column is None:
                continue
            value = (cell or "").strip()
            if value in _REPORT_NONE:
                row[column] = None
            elif value in ("true", "false"):
                row[column] = value == "true"
            else:
                row[column] = value
        rows[str(raw.get("user"))] = row
    return rows


def report_access_keys(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's two access key slots as a list of the keys that exist (a slot never used is absent)."""
    keys = []
    for slot in (1, 2):
        rotated = row.get(f"access_key_{slot}_last_rotated")
        if rotated is None:
            continue
        keys.append(
            {
                "slot": slot,
                "active": bool(row.get(f"access_key_{slot}_active")),
                "last_rotated": rotated,
                "last_used_date": row.get(f"access_key_{slot}_last_used_date"),
                "last_used_service": row.get(f"access_key_{slot}_last_used_service"),
                "last_used_region": row.get(f"access_key_{slot}_last_used_region"),
            }
        )
    return keys


def _apply_report(
    properties: dict[str, Any], errors: dict[str, str], report: CredentialReport, user: str, keys: tuple[str, ...]
) -> None:
    row = report.rows.get(user)
    if row is None:
        # A user created after the report was generated (AWS reuses a report for up to four hours) has no
        # row: its credential facts are unknown, which must read as ERROR, not as "no password, no keys".
        reason = report.error or "NotInCredentialReport"
        for key in keys:
            errors[key] = reason
            properties[key] = None
        return
    properties["credential_report"] = row
    properties["password_last_used"] = row.get("password_last_used")
    properties["mfa_active"] = bool(row.get("mfa_active"))
    properties["access_keys"] = report_access_keys(row)
    if "password_enabled" in keys:
        properties["password_enabled"] = bool(row.get("password_enabled"))
        properties["password_last_changed"] = row.get("password_last_changed")


def policy_document(document: Any) -> Any:
    """boto3 URL-decodes and parses policy documents; other clients hand over the raw encoded string."""
    if isinstance(document, str):
        return json.loads(unquote(document))
    return document


# -- collectors -----------------------------------------------------------------------------------------


@collector("aws.iam.user", service="iam", regional=False)
def users(ctx: AwsContext) -> Iterator[Resource]:
    details = authorization_details(ctx)["UserDetailList"]
    report = credential_report(ctx) if details else CredentialReport()
    for user in details:
        errors: dict[str, str] = {}
        properties = {k: v for k, v in user.items() if k not in ("Tags", "UserPolicyList")}
        properties["inline_policy_names"] = [p["PolicyName"] for p in user.get("UserPolicyList", [])]
        properties["attached_policy_arns"] = [p["PolicyArn"] for p in user.get("AttachedManagedPolicies", [])]
        properties["groups"] = list(user.get("GroupList", []))
        _apply_report(properties, errors, report, user["UserName"], REPORT_KEYS)
        yield ctx.resource(
            "aws.iam.user", user["Arn"], user["UserName"], with_errors(properties, errors), tags=user.get("Tags")
        )


@collector("aws.iam.root", service="iam", regional=False)
def root(ctx: AwsContext) -> Iterator[Resource]:
    iam = ctx.client("iam")
    errors: dict[str, str] = {}
    summary = try_call(errors, "account_summary", lambda: iam.get_account_summary()["SummaryMap"])
    properties: dict[str, Any] = {"account_summary": summary}
    if summary is None:
        for key in ("mfa_enabled", "access_keys_present", "hardware_mfa_enabled"):
            errors[key] = errors["account_summary"]
            properties[key] = None
    else:
        properties["mfa_enabled"] = summary.get("AccountMFAEnabled", 0) >= 1
        properties["access_keys_present"] = summary.get("AccountAccessKeysPresent", 0) >= 1

    devices = try_call(
        errors,
        "virtual_mfa",
        lambda: ctx.paginate(iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned"),
    )
    root_arn = ctx.arn("iam", "root")
    if devices is None:
        properties["virtual_mfa"] = None
        errors["hardware_mfa_enabled"] = errors["virtual_mfa"]
    else:
        properties["virtual_mfa"] = any(_is_root_device(d, root_arn) for d in devices)
    if "hardware_mfa_enabled" not in errors:
        # The account summary counts any root MFA; a root device among the virtual ones means it is not
        # hardware (a FIDO key or hardware TOTP token never appears in ListVirtualMFADevices).
        properties["hardware_mfa_enabled"] = bool(properties["mfa_enabled"]) and not properties["virtual_mfa"]

    _apply_report(properties, errors, credential_report(ctx), ROOT_ROW, ROOT_REPORT_KEYS)
    access_keys = properties.get("access_keys") or []
    for slot in (1, 2):
        found = [k for k in access_keys if k["slot"] == slot]
        properties[f"access_key_{slot}_last_used_date"] = found[0]["last_used_date"] if found else None
        if "access_keys" in errors:
            errors[f"access_key_{slot}_last_used_date"] = errors["access_keys"]
    yield ctx.resource("aws.iam.root", root_arn, "root", with_errors(properties, errors))


def _is_root_device(device: dict[str, Any], root_arn: str) -> bool:
    serial = str(device.get("SerialNumber", ""))
    return serial.endswith(ROOT_VIRTUAL_MFA_SUFFIX) or device.get("User", {}).get("Arn") == root_arn


@collector("aws.iam.password_policy", service="iam", regional=False)
def password_policy(ctx: AwsContext) -> Iterator[Resource]:
    iam = ctx.client("iam")
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        exists = True
    except ClientError as exc:
        # NoSuchEntity is an answer, not a failure: the account has no policy, so AWS defaults apply
        # (8 characters, no reuse prevention) and the rules fail on the missing fields.
        if error_code(exc) != "NoSuchEntity":
            raise
        policy, exists = {}, False
    properties = {**policy, "exists": exists}
    yield ctx.resource("aws.iam.password_policy", ctx.arn("iam", "password-policy"), "password policy", properties)


@collector("aws.iam.policy", service="iam", regional=False)
def policies(ctx: AwsContext) -> Iterator[Resource]:
    for policy in authorization_details(ctx)["Policies"]:
        properties = {k: v for k, v in policy.items() if k != "PolicyVersionList"}
        default = [v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")]
        properties["document"] = policy_document(default[0].get("Document")) if default else None
        # AWS always returns PolicyName; moto 5.2 omits it (and PolicyId), so fall back on the ARN's last part.
        name = policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1]
        yield ctx.resource("aws.iam.policy", policy["Arn"], name, properties)


@collector("aws.iam.account", service="iam", regional=False)
def account(ctx: AwsContext) -> Iterator[Resource]:
    # The roles' attached policies are already in the authorization details, so the support role needs no
    # ListEntitiesForPolicy call; that call also answers NoSuchEntity when the AWS managed policy is not
    # visible (other partitions, moto without managed policies), which would be ambiguous between "no
    # such policy" and "nothing attached". Matching the exact ARN keeps a customer policy that merely
    # copies the name from counting.
    roles = authorization_details(ctx)["RoleDetailList"]
    properties = {"support_roles": support_roles(roles, ctx.partition), "role_count": len(roles)}
    yield ctx.resource("aws.iam.account", ctx.arn("iam", "account"), ctx.account_id, properties)


def support_roles(roles: list[dict[str, Any]], partition: str) -> list[str]:
    """ARNs of the roles people can assume to work with AWS Support (CIS 1.17 / 5.0 1.16).

    Service-linked roles (path /aws-service-role/) are AWS's own: AWSServiceRoleForSupport exists in every
    account with AWSSupportServiceRolePolicy, and no one can assume a service-linked role, so none counts.
    """
    support_arn = f"arn:{partition}:iam::aws:{SUPPORT_POLICY}"
    return sorted(
        role["Arn"]
        for role in roles
        if not str(role.get("Path", "/")).startswith("/aws-service-role/")
        and any(p.get("PolicyArn") == support_arn for p in role.get("AttachedManagedPolicies", []))
    )


@collector("aws.iam.server_certificate", service="iam", regional=False)
def server_certificates(ctx: AwsContext) -> Iterator[Resource]:
    iam = ctx.client("iam")
    for cert in ctx.paginate(iam, "list_server_certificates", "ServerCertificateMetadataList"):
        yield ctx.resource("aws.iam.server_certificate", cert["Arn"], cert["ServerCertificateName"], dict(cert))
