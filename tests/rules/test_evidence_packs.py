"""Meta-lint: every shipped rule, on a resource built to fail it, says specifically what is wrong.

The fail fixture of each rule is derived from its own condition: a small solver picks, for each leaf, a value
the operator rejects (and for ``where`` one it accepts), then the engine confirms the rule really FAILs on it.
Python checks get the hand-written failing inventories below. A rule no fixture can fail is itself a finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from jmespath.parser import Parser

from skywarden.rules.conditions import compile_path
from skywarden.rules.engine import Engine
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Rule
from skywarden.rules.operators import OPERATORS
from skywarden.scanners.model import Resource

# None comes last: a key both "absent: false" and "older_than_days: false" needs a real value for both.
_CANDIDATES: list[Any] = [True, False, 0, 1, -1, 10**6, "", "x", [], {}, "0.0.0.0/0", "::/0",
                          "2000-01-01T00:00:00Z", datetime.now(UTC).isoformat(), "22", "0-65535", ["x"],
                          {"protocol": "-1", "from_port": 0, "to_port": 65535}, None]

_WORLD_NSG = [{"name": "allow-all", "direction": "Inbound", "access": "Allow", "protocol": "*", "priority": 100,
               "sourceAddressPrefix": "*", "destinationPortRange": "*"}]


def _grant(role: str, member: str) -> dict[str, Any]:
    return {"bindings": [{"role": role, "members": [member]}]}


# Failing inventories for the named Python checks (built from the rule's params), which the solver cannot see into.
PYTHON_FIXTURES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "iam_policy_no_full_admin": lambda p: {"document": {"Statement": [{"Effect": "Allow", "Action": "*",
                                                                       "Resource": "*"}]}},
    "nacl_admin_ports_closed_to_world": lambda p: {"ingress": [{"rule_number": 100, "protocol": "-1",
                                                                "action": "allow", "cidrs": ["0.0.0.0/0"]}]},
    "nsg_ports_closed_to_internet": lambda p: {"securityRules": _WORLD_NSG},
    "gcp_firewall_port_closed_to_world": lambda p: {"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                                                    "allowed": [{"IPProtocol": "all"}]},
    "gcp_log_metric_alert": lambda p: {"log_metrics": [], "alert_policies": []},
    "gcp_audit_logging_all_services": lambda p: {"auditConfigs": []},
    "gcp_no_primitive_roles_for_users": lambda p: _grant("roles/owner", "user:eve@example.com"),
    "gcp_service_accounts_not_admin": lambda p: _grant("roles/editor",
                                                       "serviceAccount:app@proj.iam.gserviceaccount.com"),
    "gcp_no_project_level_service_account_user": lambda p: _grant("roles/iam.serviceAccountUser",
                                                                  "user:eve@example.com"),
    "gcp_separation_of_duties": lambda p: {"bindings": [
        {"role": p["admin_roles"][0], "members": ["user:eve@example.com"]},
        {"role": p["user_roles"][0], "members": ["user:eve@example.com"]}]},
}
# Rules whose alternatives test one key several ways, beyond what the one-pass solver can reconcile.
HAND_FIXTURES: dict[str, dict[str, Any]] = {
    "aws-iam-user-console-password-unused-45-days": {"password_enabled": True,
                                                     "password_last_used": "2000-01-01T00:00:00Z"},
    "aws-iam-user-access-key-unused-45-days": {"access_keys": [{"slot": 1, "active": True,
                                                                "last_used_date": "2000-01-01T00:00:00Z"}]},
}


def _values_for(op: str, value: Any) -> list[Any]:
    extra = [value] if value is not None else []
    if isinstance(value, str) and op == "regex":  # a literal the pattern matches: "(?i)^on$" -> "on"
        extra.append(re.sub(r"\(\?[a-z]+\)|[()^$\\]", "", value.split("|")[0]))
    if isinstance(value, list):
        extra += value
    if isinstance(value, int | float) and not isinstance(value, bool):
        extra += [value - 1, value + 1]
    return extra + _CANDIDATES


def _leaf(node: dict[str, Any], want: bool) -> dict[str, Any] | None:
    operator = OPERATORS.get(node["op"])
    value = node.get("value")
    prepared = operator.prepare(value) if operator.prepare and "value" in node else value
    for candidate in _values_for(node["op"], value):
        try:
            if bool(operator.fn(candidate, prepared)) is not want:
                continue
        except Exception:
            continue
        data = _nest(node["key"], candidate)
        if data is not None:
            return data
    return None


def _nest(path: str, value: Any) -> dict[str, Any] | None:
    """Data on which the JMESPath ``path`` yields ``value``; None when this builder cannot make one."""
    try:
        data = _build(Parser().parse(path).parsed, value)
        getter, _ = compile_path(path)
        return data if isinstance(data, dict) and getter(data) == value else None
    except _Unsolvable:
        return None


class _Unsolvable(Exception):
    pass


def _build(node: dict[str, Any], value: Any) -> Any:
    kind, children = node["type"], node.get("children") or []
    if kind == "field":
        return {node["value"]: value}
    if kind == "current":
        return value
    if kind == "subexpression":
        for child in reversed(children):
            value = _build(child, value)
        return value
    if kind == "index_expression" and children[1]["type"] == "index" and children[1]["value"] == 0:
        return _build(children[0], [] if value is None else [value])
    if kind == "function_expression" and node["value"] == "length" and isinstance(value, int) and 0 <= value <= 3:
        return _build(children[0], [_item_for(children[0]) for _ in range(value)])
    if kind == "filter_projection" and isinstance(value, list):
        return _build(children[0], value)
    raise _Unsolvable(kind)


def _item_for(node: dict[str, Any]) -> Any:
    # An element that passes a [?field] filter, or a plain element when there is none.
    if node["type"] == "filter_projection" and node["children"][2]["type"] == "field":
        return {node["children"][2]["value"]: True}
    return {"name": "item"}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def solve(node: Any, want: bool) -> dict[str, Any] | None:
    """Properties that make ``node`` evaluate to ``want``, or None when this small solver cannot tell."""
    if "op" in node:
        return _leaf(node, want)
    if "not" in node:
        return solve(node["not"], not want)
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        if (kind == "all") is want:  # every child must take the value
            merged: dict[str, Any] = {}
            for child in node[kind]:
                part = solve(child, want)
                if part is None:
                    return None
                merged = _merge(merged, part)
            return merged
        for child in node[kind]:  # one child decides
            part = solve(child, want)
            if part is not None:
                return part
        return None
    if "any_item" in node or "every_item" in node:
        kind = "any_item" if "any_item" in node else "every_item"
        if (kind == "any_item") is not want:
            return _nest(node[kind], [])
        element = solve(node["match"], kind == "any_item")
        return None if element is None else _nest(node[kind], [element])
    if "python" in node:
        fixture = PYTHON_FIXTURES.get(node["python"])
        return fixture(node.get("params") or {}) if fixture is not None and not want else None
    return None


def fail_fixtures(rule: Rule) -> list[Resource]:
    props: dict[str, Any] = {}
    if "where" in rule.raw:
        props = solve(rule.raw["where"], True) or {}
    candidates = [HAND_FIXTURES.get(rule.id), solve(rule.raw["check"], False), {}]
    return [
        Resource(rule.provider, "123456789012", "us-east-1", rule.resource_type, f"id-of-{rule.id}",
                 f"res-{rule.id}", {"team": "x"}, _merge(props, candidate))
        for candidate in candidates
        if candidate is not None
    ]


RULES = load_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_explains_its_failure(rule: Rule) -> None:
    engine = Engine([rule])
    failures = [e for r in fail_fixtures(rule) for e in engine.evaluate([r]).failures]
    assert failures, f"no fail fixture fails {rule.id}: extend the solver or PYTHON_FIXTURES"
    found = failures[0]
    name = found.resource.name
    assert found.detail and name in found.detail, found.detail
    # An account-wide resource (root user, password policy) is named by its account in the headline.
    assert found.failure and (name in found.failure or found.resource.account_id in found.failure), found.failure
    for text in (found.failure, found.detail):
        assert "{" not in text.replace("{}", ""), text
    # Specific: the evidence says more than the name and the rule title.
    evidence = found.detail.replace(name, "").replace(rule.title, "").strip(" :")
    assert len(evidence) >= 12, found.detail


def test_every_shipped_rule_has_a_failure_headline_naming_the_resource() -> None:
    # Without one the headline falls back to "NAME fails: TITLE", which restates the passing condition.
    missing = [rule.id for rule in RULES if rule.failure is None
               or not {"{name}", "{account_id}"} & set(re.findall(r"\{\w+\}", str(rule.raw.get("failure"))))]
    assert missing == []
