"""Cloud KMS crypto keys with their IAM policies."""

from __future__ import annotations

import re
from collections.abc import Iterator

from skywarden.scanners.gcp.assets import GcpContext, data_of, public_members
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

CRYPTO_KEY = "cloudkms.googleapis.com/CryptoKey"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


@collector("gcp.kms.crypto_key", service="kms", regional=False)
def crypto_keys(ctx: GcpContext) -> Iterator[Resource]:
    """The KMS CryptoKey plus ``iamPolicy``, ``public_members``, ``is_public`` and ``rotation_period_days``."""
    policies = ctx.iam_policies([CRYPTO_KEY])
    for asset in ctx.list_assets([CRYPTO_KEY]):
        data = data_of(asset)
        policy = policies.get(asset["name"], {})
        public = public_members(policy)
        properties = {
            **data,
            "iamPolicy": policy,
            "public_members": public,
            "is_public": bool(public),
            "rotation_period_days": rotation_days(data.get("rotationPeriod")),
        }
        yield ctx.resource("gcp.kms.crypto_key", asset, properties, tags=data.get("labels"))


def rotation_days(period: object) -> float | None:
    """``"7776000s"`` (protobuf Duration in JSON) -> 90.0; None when the key has no rotation schedule."""
    match = _DURATION.match(str(period)) if period else None
    return round(float(match.group(1)) / 86400, 3) if match else None
