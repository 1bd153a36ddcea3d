"""S3: buckets with their ACL, policy, Block Public Access, encryption, versioning and logging (CIS 2.1).

Properties keep the API's own shapes (``acl``, ``policy``, ``policy_status``, ``public_access_block``,
``encryption``, ``versioning``, ``logging``) plus derived facts: ``acl_public``,
``account_public_access_block``, ``effective_public_access_block``, ``is_public`` and ``tls_only``.
A configuration that is not set (no policy, no block, no default encryption) is recorded as None; an
error reading one goes to ``_errors`` so the rules reading it ERROR rather than pass. ``policy_status``
(AWS's own public/non-public verdict) is read only for a policy that could be public
(``scanners.aws.policies.policy_may_be_public``), and is None otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.aws.policies import policy_may_be_public
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.registry import collector

PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


# S3 is one global unit, but each bucket costs several calls: read a few buckets at a time so a large
# account's S3 does not serialise the whole scan (at 5,000 resources it was most of the wall time).
BUCKET_WORKERS = 8


@collector("aws.s3.bucket", service="s3", regional=False)
def buckets(ctx: AwsContext) -> Iterator[Resource]:
    s3 = ctx.client("s3")
    account_block, account_error = account_public_access_block(ctx)
    entries = ctx.paginate(s3, "list_buckets", "Buckets")
    with ThreadPoolExecutor(max_workers=BUCKET_WORKERS, thread_name_prefix="s3-bucket") as pool:
        yield from pool.map(lambda entry: _bucket(ctx, s3, entry, account_block, account_error), entries)


@collector("aws.s3.account_public_access_block", service="s3control", regional=False)
def account_block(ctx: AwsContext) -> Iterator[Resource]:
    """The account-wide Block Public Access setting as its own resource (CIS 2.1.4, account settings).

    It is the one setting that covers every bucket, present and future, so it gets its own finding and
    remediation besides the per-bucket effective check. Not configured means every flag is off.
    """
    block, error = account_public_access_block(ctx)
    errors: dict[str, str] = {}
    if error is not None:
        errors["public_access_block"] = error
    properties: dict[str, Any] = {"public_access_block": block}
    yield ctx.resource(
        "aws.s3.account_public_access_block",
        ctx.arn("s3", "account-public-access-block"),
        f"S3 Block Public Access (account {ctx.account_id})",
        with_errors(properties, errors),
        region=GLOBAL_REGION,
    )


def account_public_access_block(ctx: AwsContext) -> tuple[dict[str, Any] | None, str | None]:
    """The account's S3 Block Public Access (S3 Control), read once per account: (configuration, error)."""

    def read() -> tuple[dict[str, Any] | None, str | None]:
        errors: dict[str, str] = {}
        answer = try_call(
            errors,
            "account_public_access_block",
            lambda: ctx.client("s3control").get_public_access_block(AccountId=ctx.account_id),
            missing=("NoSuchPublicAccessBlockConfiguration",),
        )
        config = None if answer is None else dict(answer.get("PublicAccessBlockConfiguration") or {})
        return config, errors.get("account_public_access_block")

    return ctx.memo(("s3control", "get_public_access_block"), read)


def _bucket(
    ctx: AwsContext,
    default_client: Any,
    entry: Mapping[str, Any],
    account_block: dict[str, Any] | None,
    account_error: str | None,
) -> Resource:
    name = entry["Name"]
    errors: dict[str, str] = {}
    region = entry.get("BucketRegion")  # newer ListBuckets answers carry it, saving one call per bucket
    if region is None:
        region, location_error = bucket_region(ctx, name)
        if location_error is not None:
            errors["location"] = location_error
    # Per-bucket calls go to the bucket's own region: other regions answer with redirects or errors.
    s3 = ctx.client("s3", region) if region else default_client

    acl = try_call(errors, "acl", lambda: _strip(s3.get_bucket_acl(Bucket=name)))
    policy_answer = try_call(
        errors, "policy", lambda: s3.get_bucket_policy(Bucket=name), missing=("NoSuchBucketPolicy",)
    )
    policy = json.loads(policy_answer["Policy"]) if policy_answer else None
    policy_status: dict[str, Any] | None = None
    if "policy" in errors:
        # Without the document nothing can be said about it; AWS's own verdict may still be readable.
        policy_status = _read_policy_status(errors, s3, name)
    elif policy is not None and policy_may_be_public(policy):
        # AWS's evaluation is authoritative; it is only asked for when the document could grant public
        # access. No policy, or one that only denies or grants to fixed principals, cannot be public, and
        # then policy_status stays None (one call per bucket saved; most buckets have no public policy).
        policy_status = _read_policy_status(errors, s3, name)
    block = try_call(
        errors,
        "public_access_block",
        lambda: s3.get_public_access_block(Bucket=name).get("PublicAccessBlockConfiguration"),
        missing=("NoSuchPublicAccessBlockConfiguration",),
    )
    encryption = try_call(
        errors,
        "encryption",
        lambda: s3.get_bucket_encryption(Bucket=name).get("ServerSideEncryptionConfiguration"),
        missing=("ServerSideEncryptionConfigurationNotFoundError",),
    )
    versioning = try_call(errors, "versioning", lambda: _strip(s3.get_bucket_versioning(Bucket=name)))
    logging, logging_error = bucket_logging(ctx, name, region)
    if logging_error is not None:
        errors["logging"] = logging_error
    tags = try_call(
        errors, "tags", lambda: s3.get_bucket_tagging(Bucket=name).get("TagSet", []), missing=("NoSuchTagSet",)
    )

    properties: dict[str, Any] = {
        "Name": name,
        "CreationDate": entry.get("CreationDate"),
        "acl": acl,
        "acl_public": None if acl is None else acl_is_public(acl),
        "policy": policy,
        "policy_status": policy_status,
        "tls_only": None if "policy" in errors else denies_insecure_transport(policy),
        "public_access_block": block,
        "account_public_access_block": account_block,
        "encryption": encryption,
        "versioning": versioning,
        # MFADelete only appears once versioning was configured with it; absent means Disabled.
        "mfa_delete": None if versioning is None else versioning.get("MFADelete", "Disabled"),
        "logging": logging,
    }
    if account_error is not None:
        errors["account_public_access_block"] = account_error
    effective = effective_block(block, account_block, "public_access_block" in errors, account_error is not None)
    properties["effective_public_access_block"] = effective
    if any(value is None for value in effective.values()):
        errors["effective_public_access_block"] = "derived from a Block Public Access setting that could not be read"
    public = bucket_is_public(properties["acl_public"], policy_status, effective, "policy_status" in errors)
    properties["is_public"] = public
    if public is None:
        errors["is_public"] = "derived from an ACL, policy status or Block Public Access setting that could not be read"
    for derived, source in (("acl_public", "acl"), ("tls_only", "policy"), ("mfa_delete", "versioning")):
        if source in errors:
            errors[derived] = errors[source]
    return ctx.resource(
        "aws.s3.bucket",
        ctx.arn("s3", name, account=False),
        name,
        with_errors(properties, errors),
        tags=tags,
        region=region or GLOBAL_REGION,
    )


def _read_policy_status(errors: dict[str, str], s3: Any, name: str) -> dict[str, Any] | None:
    status: dict[str, Any] | None = try_call(
        errors,
        "policy_status",
        lambda: s3.get_bucket_policy_status(Bucket=name).get("PolicyStatus"),
        missing=("NoSuchBucketPolicy",),
    )
    return status


def bucket_region(ctx: AwsContext, name: str) -> tuple[str | None, str | None]:
    """The bucket's region from get_bucket_location, read once per scan: (region, error class)."""

    def read() -> tuple[str | None, str | None]:
        errors: dict[str, str] = {}
        answer = try_call(errors, "location", lambda: ctx.client("s3").get_bucket_location(Bucket=name))
        region = None if answer is None else _location_region(answer.get("LocationConstraint"))
        return region, errors.get("location")

    return ctx.memo(("s3", "get_bucket_location", name), read)


def bucket_logging(ctx: AwsContext, name: str, region: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The bucket's server access logging target (LoggingEnabled, None when off), read once per scan.

    Shared with the CloudTrail collector, which needs it for the trail bucket (CIS 3.4).
    """

    def read() -> tuple[dict[str, Any] | None, str | None]:
        errors: dict[str, str] = {}
        answer = try_call(errors, "logging", lambda: ctx.client("s3", region).get_bucket_logging(Bucket=name))
        return (None if answer is None else answer.get("LoggingEnabled")), errors.get("logging")

    return ctx.memo(("s3", "get_bucket_logging", name), read)


def _location_region(constraint: str | None) -> str:
    # us-east-1 answers with no constraint; very old eu-west-1 buckets with the legacy name "EU".
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def _strip(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def acl_is_public(acl: Mapping[str, Any]) -> bool:
    """True when the ACL grants anything to everyone or to any authenticated AWS user."""
    return any(grant.get("Grantee", {}).get("URI") in PUBLIC_GRANTEES for grant in acl.get("Grants", []))


def effective_block(
    bucket: Mapping[str, Any] | None,
    account: Mapping[str, Any] | None,
    bucket_unknown: bool,
    account_unknown: bool,
) -> dict[str, bool | None]:
    """Per flag, AWS applies the most restrictive of the bucket and account settings.

    A flag is None when it cannot be decided: neither side is known to be on and one could not be read.
    """
    result: dict[str, bool | None] = {}
    for flag in BLOCK_FLAGS:
        sides = [
            None if bucket_unknown else bool((bucket or {}).get(flag)),
            None if account_unknown else bool((account or {}).get(flag)),
        ]
        result[flag] = True if True in sides else (None if None in sides else False)
    return result


def bucket_is_public(
    acl_public: bool | None,
    policy_status: Mapping[str, Any] | None,
    effective: Mapping[str, bool | None],
    policy_status_unknown: bool,
) -> bool | None:
    """Whether anyone outside the account can reach the bucket, as AWS evaluates it; None when undecidable.

    IgnorePublicAcls neutralises public ACL grants and RestrictPublicBuckets neutralises a public policy;
    BlockPublicAcls/BlockPublicPolicy only stop new public grants, so existing ones still count.
    """
    policy_public = None if policy_status_unknown else bool((policy_status or {}).get("IsPublic"))
    parts = [
        _unless(acl_public, effective.get("IgnorePublicAcls")),
        _unless(policy_public, effective.get("RestrictPublicBuckets")),
    ]
    return True if True in parts else (None if None in parts else False)


def _unless(exposed: bool | None, neutralised: bool | None) -> bool | None:
    if neutralised is True or exposed is False:
        return False
    if exposed is None or neutralised is None:
        return None
    return True


def denies_insecure_transport(policy: Mapping[str, Any] | None) -> bool:
    """True when the policy denies every principal all S3 actions over plain HTTP (CIS 2.1.1)."""
    if not policy:
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return any(_is_tls_deny(statement) for statement in statements if isinstance(statement, dict))


def _is_tls_deny(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    if not {"*", "s3:*"}.intersection(_lower_list(statement.get("Action"))):
        return False
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = principal.get("AWS")
    if "*" not in _lower_list(principal):
        return False
    for operator, conditions in (statement.get("Condition") or {}).items():
        if operator.lower() not in ("bool", "boolifexists") or not isinstance(conditions, dict):
            continue
        for key, value in conditions.items():
            if key.lower() == "aws:securetransport" and "false" in _lower_list(value):
                return True
    return False


def _lower_list(value: Any) -> list[str]:
    """Policy fields may be a string, a boolean or a list of them; condition keys and values ignore case."""
    items = value if isinstance(value, list) else [value]
    return [str(item).lower() for item in items if item is not None]
