"""The condition operators of the rule language, one spelling each.

Each operator is ``fn(actual, value) -> bool`` where ``actual`` is what the rule's JMESPath key found
(``None`` when absent). A value of the wrong type raises ``EvalError`` so the rule evaluates to ERROR
instead of silently not matching.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from skywarden.scanners.named_registry import Registry


class EvalError(Exception):
    """The data did not have the type an operator needs."""


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    fn: Callable[[Any, Any], bool]
    # What the rule's ``value`` must be: "none" (no value), "any", "list", "number", "regex", "ports", "bool".
    value_kind: str
    doc: str
    # Compile the rule's value once at load time (e.g. a regex); None keeps it as written.
    prepare: Callable[[Any], Any] | None = None


OPERATORS: Registry[Operator] = Registry("operator")


def _op(name: str, value_kind: str, doc: str, prepare: Callable[[Any], Any] | None = None):
    def decorator(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
        OPERATORS.add(name, Operator(name, fn, value_kind, doc, prepare))
        return fn

    return decorator


@_op("eq", "any", "The value equals `value`.")
def _eq(actual: Any, value: Any) -> bool:
    return actual is not None and actual == value


@_op("ne", "any", "The value differs from `value` (an absent value differs).")
def _ne(actual: Any, value: Any) -> bool:
    return actual != value


@_op("in", "list", "The value is one of the list `value`.")
def _in(actual: Any, value: Any) -> bool:
    return actual is not None and actual in value


@_op("not_in", "list", "The value is none of the list `value` (an absent value is none of them).")
def _not_in(actual: Any, value: Any) -> bool:
    return actual not in value


@_op("contains", "any", "The list (or string) value contains `value`.")
def _contains(actual: Any, value: Any) -> bool:
    if actual is None:
        return False
    if isinstance(actual, str):
        if not isinstance(value, str):
            raise EvalError(f"contains: cannot look for {type(value).__name__} in a string")
        return value in actual
    if isinstance(actual, list | tuple | set | frozenset | dict):
        return value in actual
    raise EvalError(f"contains: value is a {type(actual).__name__}, not a list or string")


@_op("present", "none", "The key exists and is not null.")
def _present(actual: Any, value: Any) -> bool:
    return actual is not None


@_op("absent", "none", "The key is missing or null.")
def _absent(actual: Any, value: Any) -> bool:
    return actual is None


@_op("regex", "regex", "The string value matches the regular expression `value` (re.search).", re.compile)
def _regex(actual: Any, value: re.Pattern[str]) -> bool:
    if actual is None:
        return False
    if not isinstance(actual, str):
        raise EvalError(f"regex: value is a {type(actual).__name__}, not a string")
    return value.search(actual) is not None


def _ordered(symbol: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def fn(actual: Any, value: Any) -> bool:
        if actual is None:
            return False
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise EvalError(f"{symbol}: value {actual!r} is not a number")
        return compare(actual, value)

    return fn


for _name, _symbol, _compare in (
    ("gt", ">", lambda a, v: a > v),
    ("ge", ">=", lambda a, v: a >= v),
    ("lt", "<", lambda a, v: a < v),
    ("le", "<=", lambda a, v: a <= v),
):
    _doc = f"The number is {_symbol} `value`."
    OPERATORS.add(_name, Operator(_name, _ordered(_name, _compare), "number", _doc))


def parse_time(actual: Any) -> datetime:
    if isinstance(actual, datetime):
        stamp = actual
    elif isinstance(actual, str):
        try:
            stamp = datetime.fromisoformat(actual.replace("Z", "+00:00"))
        except ValueError:
            raise EvalError(f"older_than_days: {actual!r} is not an ISO 8601 time") from None
    else:
        raise EvalError(f"older_than_days: value {actual!r} is not a time")
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@_op("older_than_days", "number", "The ISO 8601 time is more than `value` days in the past.")
def _older_than_days(actual: Any, value: Any) -> bool:
    if actual is None:
        return False
    age = datetime.now(UTC) - parse_time(actual)
    return age.total_seconds() > float(value) * 86400


_WORLD = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _is_world(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        raise EvalError(f"open_to_world: {cidr!r} is not a CIDR string")
    try:
        return ipaddress.ip_network(cidr, strict=False) in _WORLD
    except ValueError:
        raise EvalError(f"open_to_world: {cidr!r} is not a CIDR") from None


@_op(
    "open_to_world",
    "bool",
    "The CIDR (or any CIDR of a list) is 0.0.0.0/0 or ::/0; `value: false` inverts it.",
)
def _open_to_world(actual: Any, value: Any) -> bool:
    if actual is None:
        result = False
    elif isinstance(actual, list | tuple):
        result = any(_is_world(c) for c in actual)
    else:
        result = _is_world(actual)
    return result if value is not False else not result


def _port_range(actual: Any) -> tuple[int, int]:
    if isinstance(actual, bool):
        raise EvalError(f"port_in_range: {actual!r} is not a port range")
    if isinstance(actual, int):
        return actual, actual
    if isinstance(actual, dict):
        low = actual.get("from_port", actual.get("FromPort"))
        high = actual.get("to_port", actual.get("ToPort"))
        if low is None and high is None:
            return 0, 65535  # AWS omits ports on "all traffic" rules
        if isinstance(low, int) and isinstance(high, int):
            return (0, 65535) if low == -1 else (low, high)
    if isinstance(actual, list | tuple) and len(actual) == 2 and all(isinstance(p, int) for p in actual):
        return actual[0], actual[1]
    if isinstance(actual, str):
        low_s, _, high_s = actual.partition("-")
        try:
            return int(low_s), int(high_s or low_s)
        except ValueError:
            pass
    raise EvalError(f"port_in_range: {actual!r} is not a port range")


def _ports(value: Any) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


@_op(
    "port_in_range",
    "ports",
    "The port range (from_port/to_port, [low, high] or 'low-high') covers any port in `value`.",
    _ports,
)
def _port_in_range(actual: Any, value: tuple[int, ...]) -> bool:
    if actual is None:
        return False
    low, high = _port_range(actual)
    return any(low <= port <= high for port in value)
