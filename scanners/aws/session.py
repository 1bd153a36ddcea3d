"""AWS credentials and scope: the standard boto3 chain, accounts files, role assumption, Organizations."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader

from skywarden.scanners import safe_yaml
from skywarden.scanners.aws.context import CLIENT_CONFIG, AwsAccountClients
from skywarden.scanners.aws.errors import classify
from skywarden.scanners.errors import CollectionError, ConfigError

_ACCOUNT_ID = re.compile(r"^\d{12}$")
SESSION_NAME = "skywarden-scan"


@dataclass(frozen=True)
class AccountSpec:
    """One account to scan, as written in an accounts file or found through Organizations."""

    id: str | None
    name: str
    role_arn: str | None = None
    external_id: str | None = None
    regions: tuple[str, ...] = ()
    # A separate, write-capable role used only to apply approved remediations; scanning never uses it.
    remediation_role_arn: str | None = None


@dataclass
class AccountsFile:
    accounts: list[AccountSpec] = field(default_factory=list)
    organization_role: str | None = None
    organization_exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def load_accounts_file(path: Path) -> AccountsFile:
    """Read an accounts file; any problem is a ConfigError naming the file and the key."""
    try:
        data = safe_yaml.load_file(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read accounts file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an accounts file must be a mapping with 'accounts' and/or 'organization'")
    unknown = sorted(set(data) - {"accounts", "organization", "regions"})
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}")
    result = AccountsFile(regions=_regions(path, "regions", data.get("regions")))
    entries = data.get("accounts") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'accounts' must be a list")
    for index, entry in enumerate(entries):
        where = f"accounts[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where} must be a mapping")
        bad = sorted(set(entry) - {"id", "name", "role_arn", "external_id", "regions", "remediation_role_arn"})
        if bad:
            raise ConfigError(f"{path}: {where}.{bad[0]} is not a known key")
        account_id = str(entry["id"]) if entry.get("id") is not None else None
        if account_id is not None and not _ACCOUNT_ID.match(account_id):
            raise ConfigError(f"{path}: {where}.id {account_id!r} is not a 12-digit AWS account id")
        role_arn = entry.get("role_arn")
        for key in ("role_arn", "remediation_role_arn"):
            if entry.get(key) is not None and not str(entry[key]).startswith("arn:"):
                raise ConfigError(f"{path}: {where}.{key} {entry[key]!r} is not an ARN")
        if account_id is None and role_arn is None:
            raise ConfigError(f"{path}: {where} needs an id or a role_arn")
        if account_id is None:
            account_id = str(role_arn).split(":")[4] or None
        result.accounts.append(
            AccountSpec(
                id=account_id,
                name=str(entry.get("name") or account_id),
                role_arn=role_arn,
                external_id=entry.get("external_id"),
                regions=_regions(path, f"{where}.regions", entry.get("regions")),
                remediation_role_arn=entry.get("remediation_role_arn"),
            )
        )
    org = data.get("organization")
    if org is not None:
        if not isinstance(org, dict) or not org.get("role_name"):
            raise ConfigError(f"{path}: organization.role_name is required for Organizations discovery")
        result.organization_role = str(org["role_name"])
        result.organization_exclude = tuple(str(a) for a in org.get("exclude") or ())
    if not result.accounts and result.organization_role is None:
        raise ConfigError(f"{path}: lists no accounts and no organization")
    return result


def _regions(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ConfigError(f"{path}: {where} must be a list of region names")
    return tuple(value)


class _SharedModels(Loader):
    """One loader, so one parsed copy of each service model, for every session this process creates.

    A plain ``boto3.Session()`` gets its own loader and parses the service models again (EC2's alone is several
    MB of JSON): about 0.25 s of CPU and 25 MB of memory per assumed-role account, which made a scan of a few
    hundred accounts CPU-bound and gigabytes large (bench/README.md, scale_bench.py)."""

    @property
    def search_paths(self) -> list[str]:
        # boto3.Session appends its data directory to the loader's list on every construction: hand it a copy,
        # so the shared list does not grow by one entry per session for the life of the process.
        return list(self._search_paths)


@functools.cache
def _shared_loader() -> Loader:
    # The search path botocore itself would build (AWS_DATA_PATH first), plus boto3's resource data.
    extra = [os.path.expanduser(p) for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep) if p]
    return _SharedModels(extra_search_paths=[*extra, os.path.join(os.path.dirname(boto3.__file__), "data")])


def new_session(profile_name: str | None = None, **kwargs: Any) -> boto3.Session:
    """``boto3.Session(profile_name, **kwargs)`` whose service models come from the process-wide shared loader."""
    core = botocore.session.Session(profile=profile_name)
    # boto3.Session reads the profile's config while building its own loader, so an unknown profile (argument or
    # AWS_PROFILE) fails there with ProfileNotFound; with the shared loader, read it here to fail the same way.
    core.get_scoped_config()
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, **kwargs)


def base_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A session from boto3's standard chain (env, profile, SSO, container, instance role)."""
    try:
        return new_session(profile_name=profile, region_name=region)
    except BotoCoreError as exc:
        raise CollectionError(f"cannot create AWS session: {exc}") from exc


def caller_account(session: boto3.Session) -> tuple[str, str]:
    """Return (account id, partition) for the session's credentials, or a clear CollectionError."""
    try:
        ident = session.client("sts", config=CLIENT_CONFIG).get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        error_class, message = classify(exc)
        raise CollectionError(_caller_error(session, error_class, message)) from exc
    return str(ident["Account"]), str(ident["Arn"]).split(":")[1]


def assume_role(
    session: boto3.Session, role_arn: str, external_id: str | None = None, session_name: str = SESSION_NAME
) -> boto3.Session:
    """A session in another account via STS AssumeRole; raises ClientError/BotoCoreError to the caller."""
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    creds = session.client("sts", config=CLIENT_CONFIG).assume_role(**params)["Credentials"]
    return new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name,
    )


def discover_organization(session: boto3.Session, role_name: str, exclude: Sequence[str] = ()) -> list[AccountSpec]:
    """Every ACTIVE account of the organization, each reached through ``role_name``."""
    client = session.client("organizations", config=CLIENT_CONFIG)
    _, partition = caller_account(session)
    specs = []
    try:
        for page in client.get_paginator("list_accounts").paginate():
            for account in page["Accounts"]:
                if account.get("Status") != "ACTIVE" or account["Id"] in exclude:
                    continue
                specs.append(
                    AccountSpec(
                        id=account["Id"],
                        name=account.get("Name") or account["Id"],
                        role_arn=f"arn:{partition}:iam::{account['Id']}:role/{role_name}",
                    )
                )
    except (ClientError, BotoCoreError) as exc:
        error_class, message = classify(exc)
        raise CollectionError(f"AWS Organizations discovery failed ({error_class}): {message}") from exc
    return specs


@dataclass
class Target:
    """An account ready to scan, or the reason it could not be reached."""

    spec: AccountSpec
    clients: AwsAccountClients | None = None
    error: tuple[str, str] | None = None


def resolve_targets(session: boto3.Session, specs: Sequence[AccountSpec]) -> list[Target]:
    """Assume each account's role; an account that cannot be reached is a target with an error, not a crash."""
    caller_id, partition = caller_account(session)
    targets = []
    for spec in specs:
        if spec.role_arn is None:
            if spec.id not in (None, caller_id):
                reason = f"no role_arn for {spec.id} and the credentials are for {caller_id}"
                targets.append(Target(spec, error=("AccessDenied", reason)))
            else:
                targets.append(Target(spec, AwsAccountClients(session, caller_id, spec.name, partition)))
            continue
        try:
            assumed = assume_role(session, spec.role_arn, spec.external_id)
        except (ClientError, BotoCoreError) as exc:
            targets.append(Target(spec, error=classify(exc)))
            continue
        account_id = spec.id or spec.role_arn.split(":")[4]
        targets.append(Target(spec, AwsAccountClients(assumed, account_id, spec.name, partition)))
    return targets


def _caller_error(session: boto3.Session, error_class: str, message: str) -> str:
    """What went wrong asking AWS who we are, and what to do about it: a bad region is not a credentials problem."""
    if error_class == "NoCredentials":
        return (
            "AWS credentials are not usable (NoCredentials): none were found; run `aws configure` or `aws sso login` "
            "and pass --profile (or set AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if error_class == "NoRegion":
        return "no AWS region configured: set AWS_DEFAULT_REGION (or region in your profile), or pass --regions"
    if error_class == "EndpointUnavailable":
        return (
            f"cannot reach AWS STS for region {session.region_name!r} ({message}): check that it is a valid AWS "
            "region (AWS_DEFAULT_REGION, the profile's region or --regions, e.g. --regions us-east-1) and that "
            "this machine can reach AWS"
        )
    return f"AWS credentials are not usable ({error_class}): {message}"


def listed_regions(clients: AwsAccountClients) -> dict[str, str]:
    """Every region AWS knows for the account, enabled or not, with its opt-in status."""
    answer = clients.client("ec2").describe_regions(AllRegions=True)
    return {r["RegionName"]: r.get("OptInStatus", "") for r in answer["Regions"]}


def enabled_regions(clients: AwsAccountClients) -> list[str]:
    """The regions enabled for the account (opted-in or not requiring opt-in).

    Every region is listed (AllRegions) and the opt-in status read from each entry, rather than trusting
    the endpoint to apply an opt-in-status filter: the answer is the same, and a stand-in that ignores the
    filter cannot make a disabled region look enabled.
    """
    answer = clients.client("ec2").describe_regions(AllRegions=True)
    return sorted(r["RegionName"] for r in answer["Regions"] if r.get("OptInStatus") in ENABLED_OPT_IN)


ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")
