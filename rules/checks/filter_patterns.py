"""CloudWatch Logs JSON filter patterns (``{ $.eventName = X && ... }``), parsed and run on sample events.

CIS 4.x accepts any metric filter that catches the events its pattern describes, however it is spaced,
quoted, ordered or grouped. Comparing text cannot tell ``(A || B)`` from ``(A && B)`` (which never fires);
running the filter on CloudTrail records built from the benchmark's clauses can. Supported: selectors
``$.a.b`` and ``$.a[0].b``, ``=`` and ``!=`` on strings (quoted or not, ``*`` wildcards), numbers and
``<``/``<=``/``>``/``>=``, ``IS NULL``/``IS TRUE``/``IS FALSE``, ``EXISTS``/``NOT EXISTS``, ``&&``, ``||`` and
parentheses (``&&`` binds tighter). Anything else is a ``FilterPatternError``.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

Event = Mapping[str, Any]
Matcher = Callable[[Event], bool]


class FilterPatternError(ValueError):
    """The text is not a JSON filter pattern this module understands."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) | (?P<and>&&) | (?P<or>\|\|)
      | (?P<selector>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])+)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<keyword>NOT\s+EXISTS\b|EXISTS\b|IS\s+NULL\b|IS\s+TRUE\b|IS\s+FALSE\b)
      | "(?P<quoted>(?:[^"\\]|\\.)*)"
      | (?P<bare>[^\s()&|"=!<>]+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_MISSING = object()


def _tokens(body: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(body):
        if body[position:].strip() == "":
            break
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise FilterPatternError(f"cannot read the filter pattern at {body[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@lru_cache(maxsize=256)
def compile_filter(pattern: str) -> Matcher:
    """A function telling whether a JSON log event (a dict) matches ``pattern``."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise FilterPatternError("not a JSON filter pattern (it must be enclosed in { })")
    parser = _Parser(_tokens(text[1:-1]))
    matcher = parser.expression()
    if parser.position != len(parser.tokens):
        raise FilterPatternError(f"unexpected {parser.tokens[parser.position][1]!r}")
    return matcher


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.position = tokens, 0

    def _peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def _take(self, kind: str) -> str:
        if self._peek() != kind:
            found = self.tokens[self.position][1] if self.position < len(self.tokens) else "the end"
            raise FilterPatternError(f"expected {kind}, found {found!r}")
        value = self.tokens[self.position][1]
        self.position += 1
        return value

    def expression(self) -> Matcher:
        terms = [self._conjunction()]
        while self._peek() == "or":
            self._take("or")
            terms.append(self._conjunction())
        return terms[0] if len(terms) == 1 else (lambda event: any(term(event) for term in terms))

    def _conjunction(self) -> Matcher:
        terms = [self._term()]
        while self._peek() == "and":
            self._take("and")
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else (lambda event: all(term(event) for term in terms))

    def _term(self) -> Matcher:
        if self._peek() == "open":
            self._take("open")
            inner = self.expression()
            self._take("close")
            return inner
        path = _path(self._take("selector"))
        if self._peek() == "keyword":
            return _keyword_test(path, " ".join(self._take("keyword").upper().split()))
        operator = self._take("op")
        if self._peek() == "quoted":
            value = re.sub(r"\\(.)", r"\1", self._take("quoted"))
        else:
            value = self._take("bare")
        return _comparison(path, operator, value)


def _path(selector: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _lookup(event: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_list = isinstance(part, int) and isinstance(event, list) and part < len(event)
        in_object = isinstance(part, str) and isinstance(event, Mapping) and part in event
        if not (in_list or in_object):
            return _MISSING
        event = event[part]
    return event


def _keyword_test(path: tuple[str | int, ...], keyword: str) -> Matcher:
    tests: dict[str, Callable[[Any], bool]] = {
        "EXISTS": lambda v: v is not _MISSING,
        "NOT EXISTS": lambda v: v is _MISSING,
        "IS NULL": lambda v: v is None,
        "IS TRUE": lambda v: v is True,
        "IS FALSE": lambda v: v is False,
    }
    test = tests[keyword]
    return lambda event: test(_lookup(event, path))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _comparison(path: tuple[str | int, ...], operator: str, value: str) -> Matcher:
    wanted_number = _number(value)
    if operator in ("<", "<=", ">", ">="):
        if wanted_number is None:
            raise FilterPatternError(f"{operator} needs a number, not {value!r}")
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[operator]

        def numeric(event: Event) -> bool:
            actual = _number(_lookup(event, path))
            return actual is not None and compare(actual, wanted_number)

        return numeric

    # Only "*" is special in a filter value; fnmatch would also read "?" and "[...]".
    wildcard = re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL) if "*" in value else None

    def equal(actual: Any) -> bool:
        if actual is _MISSING or actual is None or isinstance(actual, Mapping | list):
            return False
        if wanted_number is not None and _number(actual) is not None:
            return _number(actual) == wanted_number
        return bool(wildcard.fullmatch(str(actual))) if wildcard else str(actual) == value

    if operator == "=":
        return lambda event: equal(_lookup(event, path))
    return lambda event: not equal(_lookup(event, path))
