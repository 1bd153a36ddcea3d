"""The condition language: operators, combinators, quantifiers, and ERROR on type mismatches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from skywarden.rules.conditions import compile_condition
from skywarden.rules.operators import EvalError
from skywarden.scanners.model import Resource


def compile_ok(node):
    errors: list = []
    reads: set = set()
    predicate = compile_condition(node, "check", errors, reads)
    assert errors == []
    return predicate, reads


def holds(node, props) -> bool:
    predicate, _ = compile_ok(node)
    return predicate(props, Resource("aws", "1", "r", "aws.t.x", "id", "n", {}, props))


@pytest.mark.parametrize(
    ("node", "props", "expected"),
    [
        ({"key": "a", "op": "eq", "value": True}, {"a": True}, True),
        ({"key": "a", "op": "eq", "value": True}, {"a": False}, False),
        ({"key": "a", "op": "eq", "value": True}, {}, False),
        ({"key": "a", "op": "ne", "value": "x"}, {}, True),
        ({"key": "a.b", "op": "eq", "value": 1}, {"a": {"b": 1}}, True),
        ({"key": "a.b", "op": "eq", "value": 1}, {"a": "not a dict"}, False),
        ({"key": "a", "op": "in", "value": [1, 2]}, {"a": 2}, True),
        ({"key": "a", "op": "not_in", "value": [1, 2]}, {"a": 3}, True),
        ({"key": "a", "op": "contains", "value": "x"}, {"a": ["x", "y"]}, True),
        ({"key": "a", "op": "contains", "value": "zz"}, {"a": "abc"}, False),
        ({"key": "a", "op": "present"}, {"a": 0}, True),
        ({"key": "a", "op": "present"}, {"a": None}, False),
        ({"key": "a", "op": "absent"}, {}, True),
        ({"key": "a", "op": "regex", "value": "^prod-"}, {"a": "prod-db"}, True),
        ({"key": "a", "op": "gt", "value": 13}, {"a": 14}, True),
        ({"key": "a", "op": "ge", "value": 14}, {"a": 14}, True),
        ({"key": "a", "op": "lt", "value": 14}, {"a": 14}, False),
        ({"key": "a", "op": "le", "value": 14}, {"a": None}, False),
        ({"key": "a", "op": "open_to_world", "value": True}, {"a": "0.0.0.0/0"}, True),
        ({"key": "a", "op": "open_to_world", "value": True}, {"a": ["10.0.0.0/8", "::/0"]}, True),
        ({"key": "a", "op": "open_to_world", "value": True}, {"a": "10.0.0.0/8"}, False),
        ({"key": "a", "op": "open_to_world", "value": False}, {"a": "10.0.0.0/8"}, True),
        ({"key": "r", "op": "port_in_range", "value": [22, 3389]}, {"r": {"from_port": 20, "to_port": 25}}, True),
        ({"key": "r", "op": "port_in_range", "value": 22}, {"r": {"from_port": 80, "to_port": 80}}, False),
        ({"key": "r", "op": "port_in_range", "value": 22}, {"r": {"FromPort": -1, "ToPort": -1}}, True),
        ({"key": "r", "op": "port_in_range", "value": 3389}, {"r": "3000-4000"}, True),
        ({"key": "length(a)", "op": "eq", "value": 2}, {"a": [1, 2]}, True),
        (
            {"all": [{"key": "a", "op": "eq", "value": 1}, {"key": "b", "op": "eq", "value": 2}]},
            {"a": 1, "b": 3},
            False,
        ),
        ({"any": [{"key": "a", "op": "eq", "value": 1}, {"key": "b", "op": "eq", "value": 2}]}, {"a": 1, "b": 3}, True),
        ({"not": {"key": "a", "op": "eq", "value": 1}}, {"a": 1}, False),
        ({"any_item": "rules", "match": {"key": "port", "op": "eq", "value": 22}}, {"rules": [{"port": 22}]}, True),
        ({"any_item": "rules", "match": {"key": "port", "op": "eq", "value": 22}}, {}, False),
        ({"every_item": "keys", "match": {"key": "active", "op": "eq", "value": False}}, {"keys": []}, True),
        (
            {"every_item": "keys", "match": {"key": "active", "op": "eq", "value": False}},
            {"keys": [{"active": False}, {"active": True}]},
            False,
        ),
    ],
)
def test_condition_semantics(node, props, expected):
    assert holds(node, props) is expected


def test_older_than_days():
    old = (datetime.now(UTC) - timedelta(days=100)).isoformat()
    young = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    node = {"key": "t", "op": "older_than_days", "value": 90}
    assert holds(node, {"t": old}) is True
    assert holds(node, {"t": young}) is False
    assert holds(node, {"t": "2020-01-01T00:00:00Z"}) is True


@pytest.mark.parametrize(
    ("node", "props"),
    [
        ({"key": "a", "op": "gt", "value": 1}, {"a": "five"}),
        ({"key": "a", "op": "regex", "value": "x"}, {"a": 5}),
        ({"key": "a", "op": "open_to_world", "value": True}, {"a": "not-a-cidr"}),
        ({"key": "a", "op": "older_than_days", "value": 1}, {"a": "yesterday"}),
        ({"any_item": "a", "match": {"key": "b", "op": "present"}}, {"a": "scalar"}),
    ],
)
def test_type_mismatch_raises(node, props):
    with pytest.raises(EvalError):
        holds(node, props)


def test_reads_are_top_level_properties():
    _, reads = compile_ok(
        {"all": [{"key": "a.b.c", "op": "present"}, {"any_item": "rules[?x]", "match": {"key": "z", "op": "present"}}]}
    )
    assert reads == {"a", "rules"}


@pytest.mark.parametrize(
    ("node", "field", "message"),
    [
        ({"key": "a", "op": "equals", "value": 1}, "check.op", "unknown operator 'equals'"),
        ({"key": "a[", "op": "eq", "value": 1}, "check.key", "bad JMESPath"),
        ({"key": "a", "op": "in", "value": 1}, "check.value", "must be a list"),
        ({"key": "a", "op": "present", "value": 1}, "check.value", "takes no value"),
        ({"key": "a", "op": "regex", "value": "("}, "check.value", "invalid for regex"),
        ({"key": "a", "op": "eq"}, "check.value", "missing value"),
        ({"all": []}, "check.all", "non-empty list"),
        ({"all": [{"key": "a", "op": "gt", "value": "x"}]}, "check.all[0].value", "must be a number"),
        ({"python": "no_such_check"}, "check.python", "unknown python check"),
        ({"any_item": "a"}, "check.match", "missing"),
        ({"key": "a", "op": "eq", "value": 1, "extra": 2}, "check.extra", "unknown key"),
        ({"bogus": 1}, "check", "exactly one of"),
    ],
)
def test_compile_errors_name_the_field(node, field, message):
    errors: list = []
    compile_condition(node, "check", errors, set())
    assert any(f == field and message in m for f, m in errors), errors
