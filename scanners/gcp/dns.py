"""Cloud DNS managed zones (DNSSEC state and signing algorithms)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.gcp.assets import GcpContext, data_of
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

MANAGED_ZONE = "dns.googleapis.com/ManagedZone"


@collector("gcp.dns.managed_zone", service="dns", regional=False)
def managed_zones(ctx: GcpContext) -> Iterator[Resource]:
    """The Cloud DNS v1 ManagedZone, plus ``is_public``, ``dnssec_on`` and ``key_signing_algorithms`` /
    ``zone_signing_algorithms`` (lower-case, from ``dnssecConfig.defaultKeySpecs``).

    The DNS API spells its enums in lower camel case (``public``, ``on``, ``keySigning``, ``rsasha1``);
    they are compared case-insensitively. A zone without ``visibility`` is public: that is the API's
    default.
    """
    for asset in ctx.list_assets([MANAGED_ZONE]):
        data = data_of(asset)
        dnssec = data.get("dnssecConfig") or {}
        specs = [s for s in dnssec.get("defaultKeySpecs") or [] if isinstance(s, dict)]
        properties: dict[str, Any] = {
            **data,
            "is_public": str(data.get("visibility") or "public").lower() == "public",
            "dnssec_on": str(dnssec.get("state") or "off").lower() == "on",
            "key_signing_algorithms": _algorithms(specs, "keysigning"),
            "zone_signing_algorithms": _algorithms(specs, "zonesigning"),
        }
        yield ctx.resource("gcp.dns.managed_zone", asset, properties, name=data.get("name"), tags=data.get("labels"))


def _algorithms(specs: list[dict[str, Any]], key_type: str) -> list[str]:
    return sorted({str(s.get("algorithm", "")).lower() for s in specs if str(s.get("keyType", "")).lower() == key_type})
