"""Compile the YAML condition language into fast Python predicates.

A condition is one of:

- a leaf ``{key: <JMESPath into properties>, op: <operator>, value: <operand>}``
- ``{all: [conditions]}``, ``{any: [conditions]}``, ``{not: condition}``
- a list quantifier ``{any_item: <path>, match: condition}`` or ``{every_item: <path>, match: condition}``,
  whose inner keys are relative to each element (an absent list has no elements)
- a named Python check ``{python: <name>, params: {...}}``

Problems are collected into ``errors`` as (field, message) pairs so a loader can report all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import Parser

from skywarden.rules.checks import CHECKS
from skywarden.rules.model import Predicate
from skywarden.rules.operators import OPERATORS, EvalError

ALL_READS = "*"
Getter = Callable[[Any], Any]
Errors = list[tuple[str, str]]

_COMBINATORS = ("all", "any", "not", "any_item", "every_item", "python")


def compile_path(expr: str) -> tuple[Getter, str]:
    """Return a getter for ``expr`` and the top-level property it reads.

    Plain dotted paths, which are nearly all rule keys, become direct dict look-ups: the JMESPath
    interpreter costs about ten times more per call and evaluation speed matters at 100k resources.
    """
    parsed = Parser().parse(expr).parsed
    fields = _field_chain(parsed)
    if fields is not None:
        top = fields[0]
        if len(fields) == 1:

            def get_one(data: Any) -> Any:
                return data.get(top) if isinstance(data, dict) else None

            return get_one, top
        chain = tuple(fields)

        def get_chain(data: Any) -> Any:
            for name in chain:
                if not isinstance(data, dict):
                    return None
                data = data.get(name)
            return data

        return get_chain, top
    compiled = jmespath.compile(expr)
    return compiled.search, _top_field(parsed) or ALL_READS


def _field_chain(node: dict[str, Any]) -> list[str] | None:
    if node["type"] == "field":
        return [node["value"]]
    if node["type"] == "subexpression":
        names: list[str] = []
        for child in node["children"]:
            sub = _field_chain(child)
            if sub is None:
                return None
            names.extend(sub)
        return names
    return None


def _top_field(node: dict[str, Any]) -> str | None:
    while node.get("children"):
        if node["type"] == "field":
            break
        node = node["children"][0]
    return node["value"] if node.get("type") == "field" else None


def compile_condition(node: Any, where: str, errors: Errors, reads: set[str]) -> Predicate:
    """Compile one condition node; on a problem, record it and return a predicate that is never used."""
    if not isinstance(node, dict):
        errors.append((where, f"a condition must be a mapping, got {type(node).__name__}"))
        return _never
    if "op" in node or "key" in node:
        return _compile_leaf(node, where, errors, reads)
    present = [name for name in _COMBINATORS if name in node]
    if len(present) != 1:
        known = ", ".join(("key/op",) + _COMBINATORS)
        errors.append((where, f"a condition needs exactly one of {known}; got {sorted(node)}"))
        return _never
    kind = present[0]
    if kind in ("all", "any"):
        return _compile_group(kind, node, where, errors, reads)
    if kind == "not":
        _unknown_keys(node, {"not"}, where, errors)
        inner = compile_condition(node["not"], f"{where}.not", errors, reads)
        return lambda props, resource: not inner(props, resource)
    if kind in ("any_item", "every_item"):
        return _compile_quantifier(kind, node, where, errors, reads)
    return _compile_python(node, where, errors, reads)


def _never(props: Mapping[str, Any], resource: Any) -> bool:
    raise AssertionError("an invalid condition was evaluated")


def _unknown_keys(node: dict[str, Any], allowed: set[str], where: str, errors: Errors) -> None:
    for key in sorted(set(node) - allowed):
        errors.append((f"{where}.{key}", f"unknown key {key!r}"))


def _compile_group(kind: str, node: dict[str, Any], where: str, errors: Errors, reads: set[str]) -> Predicate:
    _unknown_keys(node, {kind}, where, errors)
    items = node[kind]
    if not isinstance(items, list) or not items:
        errors.append((f"{where}.{kind}", "must be a non-empty list of conditions"))
        return _never
    parts = tuple(
        compile_condition(item, f"{where}.{kind}[{i}]", errors, reads) for i, item in enumerate(items)
    )
    if kind == "all":
        return lambda props, resource: all(p(props, resource) for p in parts)
    return lambda props, resource: any(p(props, resource) for p in parts)


def _compile_path(expr: Any, where: str, errors: Errors) -> tuple[Getter, str] | None:
    if not isinstance(expr, str) or not expr:
        errors.append((where, "must be a non-empty JMESPath expression"))
        return None
    try:
        return compile_path(expr)
    except JMESPathError as exc:
        errors.append((where, f"bad JMESPath {expr!r}: {str(exc).splitlines()[0]}"))
        return None


def _compile_leaf(node: dict[str, Any], where: str, errors: Errors, reads: set[str]) -> Predicate:
    _unknown_keys(node, {"key", "op", "value"}, where, errors)
    path = _compile_path(node.get("key"), f"{where}.key", errors)
    op_name = node.get("op")
    if op_name not in OPERATORS:
        errors.append((f"{where}.op", f"unknown operator {op_name!r}; known: {', '.join(OPERATORS)}"))
        return _never
    operator = OPERATORS.get(op_name)
    value = node.get("value")
    if not _value_ok(operator.value_kind, "value" in node, value, f"{where}.value", errors) or path is None:
        return _never
    if operator.prepare is not None:
        try:
            value = operator.prepare(value)
        except Exception as exc:  # re.error and friends: report, don't crash the loader
            errors.append((f"{where}.value", f"invalid for {op_name}: {exc}"))
            return _never
    getter, top = path
    reads.add(top)
    fn = operator.fn
    return lambda props, resource: fn(getter(props), value)


def _value_ok(kind: str, given: bool, value: Any, where: str, errors: Errors) -> bool:
    if kind == "none":
        if given:
            errors.append((where, "this operator takes no value"))
            return False
        return True
    if not given:
        errors.append((where, "missing value"))
        return False
    problem = None
    if kind == "list" and not isinstance(value, list):
        problem = "must be a list"
    elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        problem = "must be a number"
    elif kind == "regex" and not isinstance(value, str):
        problem = "must be a regular expression string"
    elif kind == "bool" and not isinstance(value, bool):
        problem = "must be true or false"
    elif kind == "ports" and not (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, list) and value and all(isinstance(p, int) for p in value))
    ):
        problem = "must be a port number or a list of port numbers"
    if problem:
        errors.append((where, problem))
        return False
    return True


def _compile_quantifier(
    kind: str, node: dict[str, Any], where: str, errors: Errors, reads: set[str]
) -> Predicate:
    _unknown_keys(node, {kind, "match"}, where, errors)
    path = _compile_path(node[kind], f"{where}.{kind}", errors)
    if "match" not in node:
        errors.append((f"{where}.match", "missing: the condition each element is tested against"))
        return _never
    inner = compile_condition(node["match"], f"{where}.match", errors, set())
    if path is None:
        return _never
    getter, top = path
    reads.add(top)

    def elements(props: Mapping[str, Any]) -> list[Any]:
        items = getter(props)
        if items is None:
            return []
        if not isinstance(items, list):
            raise EvalError(f"{kind}: {type(items).__name__} is not a list")
        return items

    if kind == "any_item":
        return lambda props, resource: any(inner(item, resource) for item in elements(props))
    return lambda props, resource: all(inner(item, resource) for item in elements(props))


def _compile_python(node: dict[str, Any], where: str, errors: Errors, reads: set[str]) -> Predicate:
    _unknown_keys(node, {"python", "params"}, where, errors)
    name = node["python"]
    if name not in CHECKS:
        errors.append((f"{where}.python", f"unknown python check {name!r}; known: {', '.join(CHECKS)}"))
        return _never
    params = node.get("params") or {}
    if not isinstance(params, dict):
        errors.append((f"{where}.params", "must be a mapping"))
        return _never
    check = CHECKS.get(name)
    reads.add(ALL_READS)

    def run(props: Mapping[str, Any], resource: Any) -> bool:
        result = check(resource, params)
        return result[0] if isinstance(result, tuple) else bool(result)

    return run
