"""Say why a rule failed on a resource: the rule's own templates, or what its condition found.

Two optional rule fields:

- ``failure:`` a short headline saying what is wrong ("S3 bucket {name} is publicly readable").
- ``message:`` the evidence ("{name}: MinimumTlsVersion is {properties.minimumTlsVersion}").

A template is plain text with ``{path}`` placeholders and nothing else: ``name``, ``id``, ``region``,
``account_id``, ``type`` and ``tags.<key>`` come from the resource, ``properties.<JMESPath>`` from its
properties. Templates are parsed by hand and every path is compiled with JMESPath at load time; resource
values are never handed to ``str.format``, so a hostile tag or name cannot reach attributes or format specs.
``{{`` and ``}}`` are literal braces. A missing value renders as "(not set)".

Without ``message:``, the evidence is explained from the condition tree: each failing leaf names the property,
its actual value and what the rule requires, and ``every_item`` names the offending elements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from skywarden.rules.conditions import Getter, compile_path

NOT_SET = "(not set)"
MAX_VALUE = 120  # characters of one rendered value: evidence is a sentence, not a dump
MAX_EVIDENCE = 600
MAX_ITEMS = 5  # offending elements named before "and N more"

_RESOURCE_FIELDS = ("name", "id", "region", "account_id", "type", "provider")
_ITEM_LABELS = ("name", "Name", "displayName", "id", "Id")  # shown as the bare value
_ITEM_KEYED_LABELS = ("Sid", "slot", "rule_number", "role", "port")  # shown as "slot 2"

Template = Callable[[Any], str]
# Why a condition did not hold on (properties, resource): a list of short reasons.
Explainer = Callable[[Mapping[str, Any], Any], list[str]]


class TemplateError(ValueError):
    pass


def show(value: Any) -> str:
    """A compact, single-line rendering of a resource value."""
    if value is None or value == "" or value == [] or value == {}:
        return NOT_SET
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(_flat(value).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _flat(value: Any) -> str:
    # key=value pairs rather than JSON: evidence is read on a phone, and braces would look like a bad template.
    if isinstance(value, Mapping):
        return "(" + ", ".join(f"{k}={_flat(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + ")"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compile_template(text: Any) -> Template:
    """Parse ``text`` into a renderer over a resource; raise TemplateError naming the bad placeholder."""
    if not isinstance(text, str) or not text.strip():
        raise TemplateError("must be a non-empty string")
    parts: list[str | Getter] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i : i + 2] == char * 2:
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise TemplateError(f"unmatched '}}' at character {i + 1}")
        if char == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise TemplateError(f"unclosed '{{' at character {i + 1}")
            parts.append("".join(literal))
            literal = []
            parts.append(_placeholder(text[i + 1 : end].strip()))
            i = end + 1
            continue
        literal.append(char)
        i += 1
    parts.append("".join(literal))

    def render(resource: Any) -> str:
        return "".join(p if isinstance(p, str) else _value(p, resource) for p in parts)

    return render


def _value(getter: Getter, resource: Any) -> str:
    try:
        return show(getter(resource))
    except Exception:  # e.g. length() of an absent list: the value is not there to show
        return NOT_SET


def _placeholder(path: str) -> Getter:
    if path in _RESOURCE_FIELDS:
        return lambda resource: getattr(resource, path, None)
    head, _, rest = path.partition(".")
    if head == "tags" and rest:
        return lambda resource: (getattr(resource, "tags", None) or {}).get(rest)
    if head == "properties" and rest:
        try:
            getter, _top = compile_path(rest)
        except Exception as exc:  # JMESPath syntax errors
            raise TemplateError(f"bad placeholder {{{path}}}: {str(exc).splitlines()[0]}") from None
        return lambda resource: getter(getattr(resource, "properties", None) or {})
    known = ", ".join(_RESOURCE_FIELDS + ("tags.<key>", "properties.<path>"))
    raise TemplateError(f"unknown placeholder {{{path}}}; known: {known}")


def compile_explainer(node: Any) -> Explainer:
    """Explain why a (valid, already compiled) condition node is false; called only for failures."""
    if "op" in node or "key" in node:
        return _leaf(node)
    if "all" in node:
        parts = [(compile_explainer(n), _holds(n)) for n in node["all"]]

        def failing(props: Mapping[str, Any], res: Any) -> list[str]:
            reasons: list[str] = []
            for explain, holds in parts:
                try:
                    if not holds(props, res):
                        reasons.extend(explain(props, res))
                except Exception:  # the engine stopped at an earlier false part; this one may not even apply
                    continue
            return reasons

        return failing
    if "any" in node:
        parts = [compile_explainer(n) for n in node["any"]]

        def none_held(props: Mapping[str, Any], res: Any) -> list[str]:
            reasons = [r for explain in parts for r in explain(props, res)]
            return ["none of the alternatives holds: " + " / ".join(reasons)] if len(parts) > 1 else reasons

        return none_held
    if "not" in node:
        describe = _describer(node["not"])
        return lambda props, res: [describe(props, res)]
    if "any_item" in node:
        path = node["any_item"]
        getter, _ = compile_path(path)

        def no_item(props: Mapping[str, Any], res: Any) -> list[str]:
            items = getter(props)
            if not items:
                return [f"{path} is {NOT_SET}"]
            return [f"none of the {len(items)} item(s) of {path} qualifies"]

        return no_item
    if "every_item" in node:
        return _every_item(node)
    return _python(node)


def _holds(node: Any) -> Callable[[Mapping[str, Any], Any], bool]:
    # Recompiled (not shared with the rule) so this module needs nothing from the loader; only used on failure.
    from skywarden.rules.conditions import compile_condition

    return compile_condition(node, "explain", [], set())


def _leaf(node: Mapping[str, Any]) -> Explainer:
    key, op = node["key"], node["op"]
    getter, _ = compile_path(key)
    wanted = f"{op} {show(node['value'])}" if "value" in node else op
    return lambda props, res: [f"{key} is {show(getter(props))} (required: {wanted})"]


def _describer(node: Any) -> Callable[[Mapping[str, Any], Any], str]:
    """State what a condition that should NOT hold found, e.g. for ``not: {key: x, op: eq, value: 1}``."""
    if "op" in node or "key" in node:
        getter, _ = compile_path(node["key"])
        wanted = f"{node['op']} {show(node['value'])}" if "value" in node else node["op"]
        return lambda props, res: f"{node['key']} is {show(getter(props))} (must not be: {wanted})"
    if "any_item" in node:
        path = node["any_item"]
        getter, _ = compile_path(path)
        holds = _holds(node["match"])

        def offending(props: Mapping[str, Any], res: Any) -> str:
            items = getter(props) or []
            bad = [_label(item, i) for i, item in enumerate(items) if holds(item, res)]
            return f"{path} has {_enumerate(bad)}, which is not allowed"

        return offending
    if "python" in node:
        return lambda props, res: f"the {node['python']} check matched"
    return lambda props, res: "a condition that must not hold holds"


def _every_item(node: Mapping[str, Any]) -> Explainer:
    path = node["every_item"]
    getter, _ = compile_path(path)
    holds = _holds(node["match"])
    explain = compile_explainer(node["match"])

    def offending(props: Mapping[str, Any], res: Any) -> list[str]:
        items = getter(props) or []
        bad = [(i, item) for i, item in enumerate(items) if not holds(item, res)]
        named = [f"{_label(item, i)} ({'; '.join(explain(item, res))})" for i, item in bad[:MAX_ITEMS]]
        more = f" and {len(bad) - MAX_ITEMS} more" if len(bad) > MAX_ITEMS else ""
        return [f"{path}: " + ", ".join(named) + more]

    return offending


def _python(node: Mapping[str, Any]) -> Explainer:
    from skywarden.rules.checks import CHECKS

    check = CHECKS.get(node["python"])
    params = node.get("params") or {}

    def run(props: Mapping[str, Any], res: Any) -> list[str]:
        result = check(res, params)
        if isinstance(result, tuple) and result[1]:
            return [str(result[1])]
        return [f"the {node['python']} check failed"]

    return run


def _label(item: Any, index: int) -> str:
    if isinstance(item, Mapping):
        for key in _ITEM_LABELS:
            if item.get(key) not in (None, ""):
                return show(item[key])
        for key in _ITEM_KEYED_LABELS:
            if item.get(key) not in (None, ""):
                return f"{key} {show(item[key])}"
    if isinstance(item, str | int | float | Mapping | list):
        return show(item)
    return f"item {index}"


def _enumerate(labels: list[str]) -> str:
    if not labels:
        return "no item"
    more = f" and {len(labels) - MAX_ITEMS} more" if len(labels) > MAX_ITEMS else ""
    return ", ".join(labels[:MAX_ITEMS]) + more


def clip(text: str) -> str:
    return text if len(text) <= MAX_EVIDENCE else text[: MAX_EVIDENCE - 1] + "…"
