"""The unit payload and its result, without a broker: no secret travels, and a stray result is refused."""

from __future__ import annotations

import pytest

from skywarden.bot.worker.payload import ResultMismatch, UnitRequest, decode_result, encode_result
from skywarden.scanners.aws.session import AccountSpec
from skywarden.scanners.model import CollectionResult, Inventory, Resource

SPEC = AccountSpec("210000000001", "member", "arn:aws:iam::210000000001:role/R", "ext-1", ("us-east-1",))


def request(nonce: str = "n1") -> UnitRequest:
    return UnitRequest(nonce, SPEC.id, SPEC, ("us-east-1",), ("aws.kms.key",), 4)


def inventory() -> Inventory:
    return Inventory(
        provider="aws",
        resources=[Resource("aws", SPEC.id, "us-east-1", "aws.kms.key", "k1", "k1", {"env": "prod"}, {"a": 1})],
        coverage=[CollectionResult("aws", SPEC.id, "kms", "us-east-1", ("aws.kms.key",), "ok", resource_count=1)],
        accounts={SPEC.id: "member"},
        regions=["us-east-1"],
    )


def test_round_trip_is_compressed_and_faithful():
    blob = encode_result(request(), inventory(), "host:1")
    decoded, worker = decode_result(request(), blob)
    assert worker == "host:1"
    assert decoded.resources == inventory().resources and decoded.coverage == inventory().coverage
    assert decoded.accounts == {SPEC.id: "member"}


def test_a_result_for_another_scan_is_refused():
    blob = encode_result(request("other-scan"), inventory())
    with pytest.raises(ResultMismatch, match="other-scan"):
        decode_result(request("n1"), blob)


def test_payload_carries_no_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    payload = request().to_dict()
    assert "s3cr3t-value" not in repr(payload) and "testing" not in repr(payload)
    assert UnitRequest.from_dict(payload) == request()
    assert request().task_id == f"skywarden:n1:{SPEC.id}"
