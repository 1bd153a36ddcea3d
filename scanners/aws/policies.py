"""Resource policy documents as AWS writes them: which statements could make a resource public.

Used to decide when AWS's own verdict (S3 GetBucketPolicyStatus) is worth a call. The test is one-sided on
purpose: ``policy_may_be_public`` is False only when no Allow statement can reach an anonymous or arbitrary
principal under AWS's documented definition of "public" (grants only to fixed principals, or a wildcard
principal restricted by a fixed value of a key such as aws:SourceVpce, aws:PrincipalOrgID or
aws:SourceAccount). Anything it cannot prove non-public is a candidate, and AWS decides.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Condition keys whose fixed value limits a "*" principal to known callers (AWS's list, minus aws:SourceIp:
# AWS rates a broad CIDR range as public, so a SourceIp condition is left for AWS to judge).
RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcevpce",
        "aws:sourcevpc",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcearn",
        "aws:userid",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
)
# Operators that match only the listed values. ...IfExists also matches a request without the key, and
# ForAllValues matches an empty set, so neither restricts anything.
EXACT_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "arnequals"})
PATTERN_OPERATORS = frozenset({"stringlike", "arnlike"})
_WILDCARDS = ("*", "?", "${")


def as_list(value: Any) -> list[Any]:
    """Policy fields may hold one value or a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(policy: Any) -> list[Any]:
    """The Statement entries, whether AWS returned one object or a list."""
    if not isinstance(policy, Mapping):
        return []
    return as_list(policy.get("Statement"))


def principal_is_wildcard(principal: Any) -> bool:
    """"*", {"AWS": "*"}, {"AWS": ["*"]} and ARNs with a wildcard account all mean anyone."""
    if isinstance(principal, str):
        return "*" in principal
    if isinstance(principal, Mapping):
        return any("*" in str(value) for values in principal.values() for value in as_list(values))
    return True  # a shape AWS does not accept: do not claim it is safe


def _fixed(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, str) and not any(w in v for w in _WILDCARDS) for v in values)


def condition_restricts(condition: Any) -> bool:
    """True when one condition pins the caller to a fixed account, organisation, VPC, endpoint or source."""
    if not isinstance(condition, Mapping):
        return False
    for operator, clauses in condition.items():
        op = str(operator).lower()
        if op not in EXACT_OPERATORS and op not in PATTERN_OPERATORS:
            continue
        if not isinstance(clauses, Mapping):
            continue
        for key, values in clauses.items():
            # Condition keys are case-insensitive; a pattern operator is exact only without wildcards.
            if str(key).lower() in RESTRICTING_KEYS and _fixed(as_list(values)):
                return True
    return False


def statement_may_be_public(statement: Any) -> bool:
    if not isinstance(statement, Mapping):
        return True
    if str(statement.get("Effect", "")).lower() != "allow":
        return False
    if "NotPrincipal" in statement:
        return True  # Allow with NotPrincipal grants to everyone except the listed principals
    if "Principal" not in statement:
        return True
    if not principal_is_wildcard(statement["Principal"]):
        return False
    return not condition_restricts(statement.get("Condition"))


def policy_may_be_public(policy: Any) -> bool:
    """False only when no statement of ``policy`` can grant access to an arbitrary or anonymous caller."""
    if not isinstance(policy, Mapping) or "Statement" not in policy:
        return True
    return any(statement_may_be_public(s) for s in statements(policy))
