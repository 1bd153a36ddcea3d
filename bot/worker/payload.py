"""What travels between the scanning process and a worker: one collection unit (a cloud account, or one part
of an AWS account: its global services or a batch of its regions) and its evaluated result, compressed.

Only identifiers go out (no credentials: workers use their own chain, and their own settings for endpoints);
a result names the scan nonce and unit it answers, so one meant for another scan is refused."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skywarden.scanners.aws.session import AccountSpec

VERSION = 2
ALL, GLOBAL, REGIONAL = "all", "global", "regional"  # which collectors a unit runs
SERVICES = (ALL, GLOBAL, REGIONAL)


class ResultMismatch(ValueError):
    pass


@dataclass(frozen=True)
class UnitRequest:
    nonce: str  # random per scan: results are keyed and checked by it
    unit: str  # the unit's key inside the scan: the account (its id, else its name), plus its part
    provider: str
    account: Mapping[str, Any] = field(hash=False)  # the target: ids, names, role to assume; never a secret
    regions: tuple[str, ...]
    resource_types: tuple[str, ...]
    max_workers: int
    rule_ids: tuple[str, ...]
    rules_digest: str
    services: str = ALL

    @property
    def task_id(self) -> str:
        # A redelivered task writes the same result key: idempotent by scan and unit.
        return f"skywarden:{self.nonce}:{self.unit}"

    @property
    def account_id(self) -> str:
        return str(self.account.get("id") or self.account.get("name") or self.unit)

    def aws_spec(self) -> AccountSpec:
        account = self.account
        return AccountSpec(id=account.get("id"), name=str(account.get("name") or account.get("id")),
                           role_arn=account.get("role_arn"), external_id=account.get("external_id"),
                           regions=tuple(account.get("regions") or ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "nonce": self.nonce,
            "unit": self.unit,
            "provider": self.provider,
            "account": dict(self.account),
            "regions": list(self.regions),
            "resource_types": list(self.resource_types),
            "max_workers": self.max_workers,
            "rules": {"ids": list(self.rule_ids), "digest": self.rules_digest},
            "services": self.services,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnitRequest:
        if data.get("v") != VERSION:
            raise ResultMismatch(f"unit payload version {data.get('v')!r}, this worker speaks {VERSION}: "
                                 "run the same Skywarden version on workers and the scanning process")
        services = str(data.get("services", ALL))
        if services not in SERVICES:
            raise ResultMismatch(f"unit payload services {services!r} is not one of {', '.join(SERVICES)}")
        rules = data["rules"]
        return cls(str(data["nonce"]), str(data["unit"]), str(data["provider"]), dict(data["account"]),
                   tuple(data["regions"]), tuple(data["resource_types"]), int(data["max_workers"]),
                   tuple(rules["ids"]), str(rules["digest"]), services)


def aws_account(spec: AccountSpec) -> dict[str, Any]:
    return {"id": spec.id, "name": spec.name, "role_arn": spec.role_arn, "external_id": spec.external_id,
            "regions": list(spec.regions)}


def encode_result(request: UnitRequest, body: dict[str, Any], worker: str = "") -> str:
    """``body`` is the unit's evaluated result (bot/worker/evaluate.py) or ``{"refused": reason}``."""
    envelope = {"nonce": request.nonce, "unit": request.unit, "worker": worker, **body}
    return base64.b64encode(zlib.compress(json.dumps(envelope, default=str).encode(), 6)).decode("ascii")


def decode_result(request: UnitRequest, blob: str) -> dict[str, Any]:
    """The unit's result body; raises ResultMismatch for another scan or unit, or a malformed blob."""
    try:
        body = json.loads(zlib.decompress(base64.b64decode(blob)))
    except (ValueError, TypeError, zlib.error) as exc:
        raise ResultMismatch(f"unit {request.unit!r}: result is not a Skywarden result ({exc})") from None
    if not isinstance(body, dict) or body.get("nonce") != request.nonce or body.get("unit") != request.unit:
        got = body if isinstance(body, dict) else {}
        raise ResultMismatch(f"result for scan {got.get('nonce')!r} unit {got.get('unit')!r} refused: "
                             f"expected scan {request.nonce!r} unit {request.unit!r}")
    return body
