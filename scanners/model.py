"""The normalised inventory shared by every cloud: one Resource shape and one coverage record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GLOBAL_REGION = "global"
SKIPPED = "skipped"  # CollectionResult.status of a unit not run because its region is not enabled

# A collector that could not read one part of a resource records it here, keyed by the top-level
# property it would have filled; rules reading that property then evaluate to ERROR, never PASS.
ERRORS_KEY = "_errors"


@dataclass(frozen=True, slots=True)
class Resource:
    provider: str
    account_id: str
    region: str
    type: str
    id: str
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account_id": self.account_id,
            "region": self.region,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "tags": dict(self.tags),
            "properties": dict(self.properties),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resource:
        return cls(
            provider=data["provider"],
            account_id=data["account_id"],
            region=data["region"],
            type=data["type"],
            id=data["id"],
            name=data.get("name", ""),
            tags=dict(data.get("tags") or {}),
            properties=dict(data.get("properties") or {}),
        )


@dataclass(frozen=True, slots=True)
class CollectionResult:
    """How one (account, service, region) unit of collection ended: the scan's coverage."""

    provider: str
    account_id: str
    service: str
    region: str
    resource_types: tuple[str, ...]
    status: str  # "ok", "failed", or SKIPPED (a region the account has not enabled: nothing to collect)
    error_class: str | None = None  # AccessDenied, Throttling, EndpointUnavailable, ...
    message: str | None = None
    resource_count: int = 0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account_id": self.account_id,
            "service": self.service,
            "region": self.region,
            "resource_types": list(self.resource_types),
            "status": self.status,
            "error_class": self.error_class,
            "message": self.message,
            "resource_count": self.resource_count,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class Inventory:
    """What one scan collected: the resources, and per unit whether collection succeeded."""

    provider: str
    resources: list[Resource] = field(default_factory=list)
    coverage: list[CollectionResult] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> display name
    regions: list[str] = field(default_factory=list)

    @property
    def gaps(self) -> list[CollectionResult]:
        # A skipped unit is not a gap: nothing there could be collected, and it resolves nothing either.
        return [unit for unit in self.coverage if not unit.ok and unit.status != SKIPPED]

    @property
    def skipped(self) -> list[CollectionResult]:
        return [unit for unit in self.coverage if unit.status == SKIPPED]


class Coverage:
    """Which (account, resource type, region) a scan's successful units read: a resource there that was not
    collected is gone; one outside them is merely unseen. A global unit covers every region."""

    def __init__(self, coverage: Iterable[CollectionResult]) -> None:
        self._regional: set[tuple[str, str, str]] = set()
        self._global: set[tuple[str, str]] = set()
        for unit in coverage:
            if not unit.ok:
                continue
            for resource_type in unit.resource_types:
                if unit.region == GLOBAL_REGION:
                    self._global.add((unit.account_id, resource_type))
                else:
                    self._regional.add((unit.account_id, resource_type, unit.region))

    def covers(self, account_id: str, resource_type: str, region: str) -> bool:
        """True when a successful unit would have seen such a resource."""
        return (account_id, resource_type) in self._global or (account_id, resource_type, region) in self._regional
