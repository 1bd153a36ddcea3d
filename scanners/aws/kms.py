"""KMS: customer managed keys and their rotation (CIS 3.6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

# What a rule about a key may read to decide whether it applies; if describe_key fails, all are unknown.
_METADATA_FACTS = ("KeyManager", "KeyState", "KeySpec", "Origin", "customer_managed", "symmetric", "rotation_enabled")


@collector("aws.kms.key", service="kms")
def keys(ctx: AwsContext) -> Iterator[Resource]:
    kms = ctx.client("kms")
    aliases, alias_error = region_aliases(ctx, kms)
    for entry in ctx.paginate(kms, "list_keys", "Keys"):
        yield _key(ctx, kms, entry, aliases, alias_error)


def region_aliases(ctx: AwsContext, kms: Any) -> tuple[dict[str, list[str]], str | None]:
    """Every alias of the region in one paginated listing, by target key id: (aliases, error class).

    One ListAliases per region instead of one per key; aliases of AWS managed keys (aws/s3, ...) are in
    the same listing, and aliases with no target key are left out.
    """
    errors: dict[str, str] = {}
    entries = try_call(errors, "aliases", lambda: ctx.paginate(kms, "list_aliases", "Aliases"))
    by_key: dict[str, list[str]] = {}
    for alias in entries or []:
        if alias.get("TargetKeyId") and alias.get("AliasName"):
            by_key.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    return by_key, errors.get("aliases")


def _key(
    ctx: AwsContext, kms: Any, entry: dict[str, Any], aliases: dict[str, list[str]], alias_error: str | None
) -> Resource:
    key_id = entry["KeyId"]
    errors: dict[str, str] = {}
    # A key policy can lock the scanner out of one key; that key is unknown, the region's others are not.
    meta = try_call(errors, "KeyMetadata", lambda: kms.describe_key(KeyId=key_id)["KeyMetadata"])
    if meta is None:
        for fact in _METADATA_FACTS:
            errors[fact] = errors["KeyMetadata"]
        arn = entry.get("KeyArn") or ctx.arn("kms", f"key/{key_id}", region=ctx.region)
        return ctx.resource("aws.kms.key", arn, key_id, with_errors({"KeyId": key_id}, errors))
    properties = dict(meta)
    customer_managed = meta.get("KeyManager") == "CUSTOMER"
    symmetric = meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    rotation = None
    # AWS only rotates enabled symmetric keys whose material it generated: asking about imported
    # (EXTERNAL) or custom key store keys is an UnsupportedOperationException, not a finding.
    if customer_managed and symmetric and meta.get("KeyState") == "Enabled" and meta.get("Origin") == "AWS_KMS":
        status = try_call(errors, "rotation_enabled", lambda: kms.get_key_rotation_status(KeyId=key_id))
        rotation = None if status is None else bool(status.get("KeyRotationEnabled"))
    properties["customer_managed"] = customer_managed
    properties["symmetric"] = symmetric
    properties["rotation_enabled"] = rotation
    if alias_error is not None:
        errors["aliases"] = alias_error
    properties["aliases"] = sorted(aliases.get(key_id, []))
    tags = None
    # AWS managed keys cannot carry tags (TagResource refuses them): asking would only cost a call.
    if customer_managed:
        tags = try_call(errors, "tags", lambda: ctx.paginate(kms, "list_resource_tags", "Tags", KeyId=key_id))
    return ctx.resource(
        "aws.kms.key",
        meta["Arn"],
        properties["aliases"][0] if properties["aliases"] else key_id,
        with_errors(properties, errors),
        tags=tags,
    )
