"""IAM checks that need to read a policy document, which the YAML condition language cannot walk."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from skywarden.rules.checks import CHECKS
from skywarden.rules.operators import EvalError

_ANY_ACTION = {"*", "*:*"}


def _as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise EvalError(f"{where} is a {type(value).__name__}, not a string or list")


def _document(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(unquote(value))
        except ValueError:
            raise EvalError("policy document is not JSON") from None
    if not isinstance(value, Mapping):
        raise EvalError(f"policy document is {type(value).__name__}, not an object")
    return value


def full_admin_statements(document: Any) -> list[int]:
    """Indexes of the statements that Allow every action ("*") on every resource ("*").

    Statement may be one object or a list; Action and Resource a string or a list. Only the literal
    ``*:*``-style grant of CIS 1.16 counts: a ``NotAction`` statement (e.g. Allow NotAction iam:* on *) is
    nearly as broad but is deliberately not matched, and neither are service wildcards (``s3:*``).
    Conditions are ignored, as in the CIS audit procedure, because a condition rarely narrows "*:*" in
    practice and cannot be judged without context.
    """
    statements = _document(document).get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    statements = _as_list(statements, "Statement")
    found = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            raise EvalError(f"Statement[{index}] is a {type(statement).__name__}, not an object")
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"), f"Statement[{index}].Action")
        resources = _as_list(statement.get("Resource"), f"Statement[{index}].Resource")
        if _ANY_ACTION.intersection(actions) and "*" in resources:
            found.append(index)
    return found


@CHECKS.register("iam_policy_no_full_admin")
def iam_policy_no_full_admin(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when the policy's default version has no statement allowing "*" on "*"."""
    document = resource.properties.get("document")
    if document is None:
        raise EvalError("the policy's default version document was not collected")
    found = full_admin_statements(document)
    if found:
        return False, f"statement(s) {', '.join(map(str, found))} allow every action on every resource"
    return True, "no statement allows every action on every resource"
