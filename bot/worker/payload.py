"""What travels between the scanning process and a worker: one AWS account as a collection unit, and its
result, compressed. Only identifiers go out (no credentials: workers use their own chain); a result names
the scan nonce and unit it answers, so one meant for another scan is refused."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

from skywarden.scanners.aws.session import AccountSpec
from skywarden.scanners.model import CollectionResult, Inventory, Resource


class ResultMismatch(ValueError):
    pass


@dataclass(frozen=True)
class UnitRequest:
    nonce: str  # random per scan: results are keyed and checked by it
    unit: str  # the account's key inside the scan (its id, else its name)
    spec: AccountSpec
    regions: tuple[str, ...]
    resource_types: tuple[str, ...]
    max_workers: int

    @property
    def task_id(self) -> str:
        # A redelivered task writes the same result key: idempotent by scan and unit.
        return f"skywarden:{self.nonce}:{self.unit}"

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "nonce": self.nonce,
            "unit": self.unit,
            "account": {"id": spec.id, "name": spec.name, "role_arn": spec.role_arn,
                        "external_id": spec.external_id, "regions": list(spec.regions)},
            "regions": list(self.regions),
            "resource_types": list(self.resource_types),
            "max_workers": self.max_workers,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitRequest:
        account = data["account"]
        spec = AccountSpec(id=account["id"], name=account["name"], role_arn=account["role_arn"],
                           external_id=account["external_id"], regions=tuple(account["regions"]))
        return cls(data["nonce"], data["unit"], spec, tuple(data["regions"]), tuple(data["resource_types"]),
                   int(data["max_workers"]))


def encode_result(request: UnitRequest, inventory: Inventory, worker: str = "") -> str:
    body = {
        "nonce": request.nonce,
        "unit": request.unit,
        "worker": worker,
        "resources": [resource.to_dict() for resource in inventory.resources],
        "coverage": [unit.to_dict() for unit in inventory.coverage],
        "accounts": inventory.accounts,
        "regions": inventory.regions,
    }
    return base64.b64encode(zlib.compress(json.dumps(body, default=str).encode(), 6)).decode("ascii")


def decode_result(request: UnitRequest, blob: str) -> tuple[Inventory, str]:
    """The unit's inventory and the worker that collected it; raises ResultMismatch for another scan or unit."""
    body = json.loads(zlib.decompress(base64.b64decode(blob)))
    if body.get("nonce") != request.nonce or body.get("unit") != request.unit:
        raise ResultMismatch(f"result for scan {body.get('nonce')!r} unit {body.get('unit')!r} refused: "
                             f"expected scan {request.nonce!r} unit {request.unit!r}")
    inventory = Inventory(provider="aws", accounts=dict(body["accounts"]), regions=list(body["regions"]))
    inventory.resources = [Resource.from_dict(item) for item in body["resources"]]
    inventory.coverage = [_coverage(item) for item in body["coverage"]]
    return inventory, str(body.get("worker", ""))


def _coverage(item: dict[str, Any]) -> CollectionResult:
    return CollectionResult(item["provider"], item["account_id"], item["service"], item["region"],
                            tuple(item["resource_types"]), item["status"], item["error_class"], item["message"],
                            int(item["resource_count"]), float(item["duration_s"]))
