"""KMS: customer managed keys and their rotation (CIS 3.6)."""

from __future__ import annotations

from collections.abc import Iterator

from scanners.aws.context import AwsContext, try_call, with_errors
from scanners.model import Resource
from scanners.registry import collector


@collector("aws.kms.key", service="kms")
def keys(ctx: AwsContext) -> Iterator[Resource]:
    kms = ctx.client("kms")
    for entry in ctx.paginate(kms, "list_keys", "Keys"):
        key_id = entry["KeyId"]
        errors: dict[str, str] = {}
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        properties = dict(meta)
        customer_managed = meta.get("KeyManager") == "CUSTOMER"
        rotation = None
        if customer_managed and meta.get("KeyState") == "Enabled" and meta.get("KeySpec", "SYMMETRIC_DEFAULT") == (
            "SYMMETRIC_DEFAULT"
        ):
            status = try_call(errors, "rotation_enabled", lambda k=key_id: kms.get_key_rotation_status(KeyId=k))
            rotation = None if status is None else bool(status.get("KeyRotationEnabled"))
        properties["customer_managed"] = customer_managed
        properties["symmetric"] = meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        properties["rotation_enabled"] = rotation
        aliases = try_call(errors, "aliases", lambda k=key_id: kms.list_aliases(KeyId=k).get("Aliases", []))
        properties["aliases"] = [a["AliasName"] for a in aliases or []]
        tags = try_call(errors, "tags", lambda k=key_id: kms.list_resource_tags(KeyId=k).get("Tags", []))
        yield ctx.resource(
            "aws.kms.key",
            meta["Arn"],
            properties["aliases"][0] if properties["aliases"] else key_id,
            with_errors(properties, errors),
            tags=tags,
        )
