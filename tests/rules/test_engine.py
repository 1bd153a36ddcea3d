"""Evaluation outcomes: PASS, FAIL, NOT_APPLICABLE, and ERROR that never passes silently."""

from __future__ import annotations

from collections import Counter

from skywarden.rules.checks import CHECKS
from skywarden.rules.conditions import compile_condition
from skywarden.rules.engine import Engine
from skywarden.rules.model import Outcome, Rule
from skywarden.scanners.model import Resource


def make_rule(rule_id, check, where=None, resource_type="aws.s3.bucket"):
    errors: list = []
    reads: set = set()
    predicate = compile_condition(check, "check", errors, reads)
    where_predicate = compile_condition(where, "where", errors, reads) if where else None
    assert not errors
    return Rule(rule_id, rule_id, "", "high", resource_type, {}, "", None, "test", predicate, where_predicate,
                frozenset(reads))


def bucket(name, **props):
    return Resource("aws", "111111111111", "us-east-1", "aws.s3.bucket", f"arn:aws:s3:::{name}", name, {}, props)


def outcomes(engine, resources):
    report = engine.evaluate(resources)
    result = {(e.rule.id, e.resource.name): e.outcome for e in report.failures + report.errors}
    return report, result


def test_pass_fail_and_not_applicable():
    rule = make_rule("versioning", {"key": "versioning", "op": "eq", "value": "Enabled"},
                     where={"key": "production", "op": "eq", "value": True})
    engine = Engine([rule])
    report, result = outcomes(engine, [
        bucket("good", versioning="Enabled", production=True),
        bucket("bad", versioning="Suspended", production=True),
        bucket("ignored", versioning="Suspended", production=False),
    ])
    assert result == {("versioning", "bad"): Outcome.FAIL}
    assert report.counts == Counter({Outcome.PASS: 1, Outcome.FAIL: 1, Outcome.NOT_APPLICABLE: 1})


def test_collection_error_on_a_read_property_is_error_not_pass():
    rule = make_rule("policy", {"key": "policy_status.IsPublic", "op": "ne", "value": True})
    other = make_rule("versioning", {"key": "versioning", "op": "eq", "value": "Enabled"})
    engine = Engine([rule, other])
    resource = bucket("denied", versioning="Enabled", policy_status=None, _errors={"policy_status": "AccessDenied"})
    report, result = outcomes(engine, [resource])
    assert result == {("policy", "denied"): Outcome.ERROR}
    assert "policy_status: AccessDenied" in report.errors[0].detail
    assert report.counts[Outcome.PASS] == 1  # the rule that does not read policy_status still evaluates


def test_type_mismatch_is_error():
    engine = Engine([make_rule("age", {"key": "age", "op": "gt", "value": 3})])
    _, result = outcomes(engine, [bucket("odd", age="three")])
    assert result == {("age", "odd"): Outcome.ERROR}


def test_python_check_crash_is_error_and_result_is_used():
    def crash(resource, params):
        raise RuntimeError("boom")

    def named(resource, params):
        return resource.name == params["name"], "detail"

    if "test_crash" not in CHECKS:
        CHECKS.add("test_crash", crash)
        CHECKS.add("test_named", named)
    engine = Engine([make_rule("crash", {"python": "test_crash"}),
                     make_rule("named", {"python": "test_named", "params": {"name": "ok"}})])
    report, result = outcomes(engine, [bucket("ok"), bucket("nope")])
    assert result[("crash", "ok")] is Outcome.ERROR
    assert "RuntimeError: boom" in report.errors[0].detail
    assert result[("named", "nope")] is Outcome.FAIL
    assert ("named", "ok") not in result


def test_only_rules_of_the_resource_type_run():
    engine = Engine([make_rule("sg", {"key": "x", "op": "present"}, resource_type="aws.ec2.security_group")])
    report = engine.evaluate([bucket("b")])
    assert report.evaluated == 0
    assert engine.resource_types == frozenset({"aws.ec2.security_group"})
