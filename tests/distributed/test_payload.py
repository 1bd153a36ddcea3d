"""The unit payload and its result, without a broker: no secret travels, a stray or malformed result is
refused whole, a worker with another rule set refuses the unit, and a lost unit fails exactly its own rows."""

from __future__ import annotations

import dataclasses

import pytest

from skywarden.bot.core.distributed import aws_requests, failed_coverage
from skywarden.bot.core.gathered import Gatherer, MalformedResult
from skywarden.bot.worker.evaluate import RuleSetMismatch, evaluated_body, select_rules
from skywarden.bot.worker.payload import (
    GLOBAL,
    REGIONAL,
    ResultMismatch,
    UnitRequest,
    aws_account,
    decode_result,
    encode_result,
)
from skywarden.rules.digest import rule_set_digest
from skywarden.rules.model import Outcome
from skywarden.scanners.aws.session import AccountSpec
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult, Inventory, Resource
from tests.support.aws import pack_rules

RULE = "aws-kms-key-rotation-enabled"
SPEC = AccountSpec("210000000001", "member", "arn:aws:iam::210000000001:role/R", "ext-1", ("us-east-1",))


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/kms.yaml")


def request(rules, nonce: str = "n1", services: str = "all", regions=("us-east-1",)) -> UnitRequest:
    return UnitRequest(nonce, SPEC.id, "aws", aws_account(SPEC), tuple(regions), ("aws.kms.key",), 4,
                       tuple(sorted(r.id for r in rules)), rule_set_digest(rules), services)


def key(rid: str, rotated: bool, manager: str = "CUSTOMER") -> Resource:
    props = {"KeyManager": manager, "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
             "rotation_enabled": rotated}
    return Resource("aws", SPEC.id, "us-east-1", "aws.kms.key", rid, rid, {"env": "prod"}, props)


def inventory() -> Inventory:
    return Inventory(
        provider="aws",
        resources=[key("k1", False), key("k2", True), key("k3", False, "AWS")],
        coverage=[CollectionResult("aws", SPEC.id, "kms", "us-east-1", ("aws.kms.key",), "ok", resource_count=1)],
        accounts={SPEC.id: "member"},
        regions=["us-east-1"],
    )


def test_round_trip_is_compressed_and_keeps_rows_and_verdicts(rules):
    body = evaluated_body(rules, inventory())
    blob = encode_result(request(rules), body, "host:1")
    decoded = decode_result(request(rules), blob)
    assert decoded["worker"] == "host:1"
    gatherer = Gatherer("aws", rules)
    coverage = gatherer.add(decoded)
    gathered = gatherer.inventory
    assert coverage == inventory().coverage == gathered.coverage
    assert list(gathered.resources) == inventory().resources and len(gathered.resources) == 3
    assert gathered.accounts == {SPEC.id: "member"}
    failures = gathered.report.failures
    assert [(e.rule.id, e.resource.id, e.outcome) for e in failures] == [(RULE, "k1", Outcome.FAIL)]
    assert "k1" in failures[0].detail and failures[0].failure == "KMS key k1 is not rotated automatically"
    verdicts = {e.resource.id: e.outcome for e in gathered.evaluations()}
    assert verdicts == {"k1": Outcome.FAIL, "k2": Outcome.PASS, "k3": Outcome.NOT_APPLICABLE}
    assert sum(gathered.report.counts.values()) == 3


def test_a_result_for_another_scan_is_refused(rules):
    blob = encode_result(request(rules, "other-scan"), {})
    with pytest.raises(ResultMismatch, match="other-scan"):
        decode_result(request(rules, "n1"), blob)
    with pytest.raises(ResultMismatch, match="not a Skywarden result"):
        decode_result(request(rules), "bm90IHpsaWI=")


def test_a_malformed_result_is_refused_whole(rules):
    gatherer = Gatherer("aws", rules)
    body = evaluated_body(rules, inventory())
    body["failures"] = [*body["failures"], ["aws-not-asked-for", 0, "x", "y"]]
    with pytest.raises(MalformedResult, match="aws-not-asked-for"):
        gatherer.add(body)
    body = evaluated_body(rules, inventory())
    body["passed"] = {rules[0].id: [7]}
    with pytest.raises(MalformedResult, match="index 7"):
        gatherer.add(body)
    assert len(gatherer.inventory.resources) == 0 and not list(gatherer.inventory.evaluations())
    assert not gatherer.inventory.coverage and not gatherer.inventory.report.failures


def test_payload_carries_no_credentials(monkeypatch, rules):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    payload = request(rules).to_dict()
    assert "s3cr3t-value" not in repr(payload) and "testing" not in repr(payload)
    assert UnitRequest.from_dict(payload) == request(rules)
    assert request(rules).task_id == f"skywarden:n1:{SPEC.id}"
    with pytest.raises(ResultMismatch, match="version"):
        UnitRequest.from_dict({**payload, "v": 1})


def test_a_worker_with_another_rule_set_refuses(rules):
    wanted = request(rules)
    assert select_rules(rules, wanted.rule_ids, wanted.rules_digest) == [
        r for r in sorted(rules, key=lambda r: r.id)]
    with pytest.raises(RuleSetMismatch, match="lacks rule"):
        select_rules(rules[1:], wanted.rule_ids, wanted.rules_digest)
    changed = [dataclasses.replace(rules[0], raw={**rules[0].raw, "severity": "low"}), *rules[1:]]
    with pytest.raises(RuleSetMismatch, match="differ"):
        select_rules(changed, wanted.rule_ids, wanted.rules_digest)


def test_region_units_collect_global_services_once(rules):
    spec = dataclasses.replace(SPEC, regions=("us-east-1", "eu-west-1", "eu-central-1"))
    units = aws_requests("n", [spec], (), frozenset({"aws.kms.key", "aws.iam.user"}), 4, rules, size=2)
    assert [(u.unit, u.services, u.regions) for u in units] == [
        (f"{SPEC.id}/global", GLOBAL, ("us-east-1", "eu-west-1", "eu-central-1")),
        (f"{SPEC.id}/us-east-1+eu-west-1", REGIONAL, ("us-east-1", "eu-west-1")),
        (f"{SPEC.id}/eu-central-1", REGIONAL, ("eu-central-1",)),
    ]
    only_regional = aws_requests("n", [spec], (), frozenset({"aws.kms.key"}), 4, rules, size=2)
    assert [u.services for u in only_regional] == [REGIONAL, REGIONAL]
    whole = aws_requests("n", [spec], (), frozenset({"aws.kms.key"}), 4, rules, size=0)
    assert [(u.unit, u.services) for u in whole] == [(SPEC.id, "all")]
    # Regions only the worker can find (none in the scope or the account): one unit per account.
    assert len(aws_requests("n", [dataclasses.replace(SPEC, regions=())], (), frozenset(), 4, rules, 2)) == 1


def test_a_lost_unit_fails_exactly_its_own_rows(rules):
    types = ("aws.iam.user", "aws.kms.key")
    regional = dataclasses.replace(request(rules, services=REGIONAL, regions=("eu-west-1", "eu-central-1")),
                                   resource_types=types)
    rows = failed_coverage(regional, "WorkerLostError", "killed")
    assert {(r.service, r.region) for r in rows} == {("kms", "eu-west-1"), ("kms", "eu-central-1")}
    assert all(r.status == "failed" and r.account_id == SPEC.id for r in rows)
    global_unit = dataclasses.replace(regional, services=GLOBAL)
    assert {(r.service, r.region) for r in failed_coverage(global_unit, "E", "m")} == {("iam", GLOBAL_REGION)}
