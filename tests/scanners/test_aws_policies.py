"""Resource policy documents in the shapes the AWS APIs really return them (rules-review: policy documents)."""

from __future__ import annotations

from typing import Any

import pytest

from skywarden.scanners.aws.policies import condition_restricts, policy_may_be_public, principal_is_wildcard
from skywarden.scanners.aws.s3 import denies_insecure_transport


def _allow(**fields: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    statement.update(fields)
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    ("principal", "wildcard"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, True),
        ({"AWS": "arn:aws:iam::*:root"}, True),
        ({"CanonicalUser": "*"}, True),
        ({"AWS": "arn:aws:iam::111122223333:root"}, False),
        ({"AWS": ["111122223333", "444455556666"]}, False),
        ({"Service": "cloudtrail.amazonaws.com"}, False),
    ],
)
def test_principal_forms(principal: Any, wildcard: bool) -> None:
    assert principal_is_wildcard(principal) is wildcard
    assert policy_may_be_public(_allow(Principal=principal)) is wildcard


@pytest.mark.parametrize(
    ("condition", "restricts"),
    [
        ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, True),
        ({"StringEquals": {"aws:PrincipalOrgID": ["o-abc123"]}}, True),
        ({"StringEquals": {"AWS:SourceAccount": "111122223333"}}, True),  # keys ignore case
        ({"stringequals": {"aws:sourcevpc": "vpc-1"}}, True),  # operators too
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}, True),
        ({"StringLike": {"aws:PrincipalOrgID": "o-abc123"}}, True),  # a pattern without wildcards is exact
        ({"StringLike": {"aws:PrincipalOrgID": "o-*"}}, False),
        ({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, False),  # absent key matches
        ({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, False),  # empty set matches
        ({"StringEquals": {"aws:SourceVpce": []}}, False),
        ({"StringEquals": {"aws:SourceVpce": "${aws:username}"}}, False),  # a policy variable is not fixed
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}, False),  # broad ranges are public: AWS decides
        ({"StringEquals": {"s3:prefix": "home/"}}, False),  # not about who the caller is
        (None, False),
    ],
)
def test_conditions_that_make_a_wildcard_statement_non_public(condition: Any, restricts: bool) -> None:
    assert condition_restricts(condition) is restricts
    policy = _allow(Condition=condition) if condition is not None else _allow()
    assert policy_may_be_public(policy) is not restricts


@pytest.mark.parametrize(
    ("policy", "candidate"),
    [
        # NotPrincipal with Allow grants to everyone but the listed principals.
        ({"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                         "Action": "s3:*", "Resource": "*"}]}, True),
        # NotPrincipal with Deny (the usual use) grants nothing.
        ({"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                         "Action": "s3:*", "Resource": "*"}]}, False),
        # Statement as one object rather than a list, and Effect spelled in another case.
        ({"Statement": {"Effect": "allow", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject"],
                        "Resource": "*"}}, True),
        ({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}}, False),
        # Shapes AWS would not store are never claimed safe.
        ({"Statement": ["not a statement"]}, True),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, True),  # no principal
        ({}, True),
        (None, True),
        ({"Statement": []}, False),
    ],
)
def test_policy_shapes(policy: Any, candidate: bool) -> None:
    assert policy_may_be_public(policy) is candidate


def _tls_deny(condition: Any, **fields: Any) -> dict[str, Any]:
    statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                 "Condition": condition}
    statement.update(fields)
    return {"Statement": statement}  # one object, not a list, as some tools write it


@pytest.mark.parametrize(
    ("policy", "denies"),
    [
        (_tls_deny({"Bool": {"aws:SecureTransport": "false"}}), True),
        (_tls_deny({"Bool": {"aws:SecureTransport": "False"}}), True),
        (_tls_deny({"Bool": {"aws:SecureTransport": False}}), True),  # a JSON boolean
        (_tls_deny({"Bool": {"aws:SecureTransport": ["false"]}}), True),  # a one-element list
        (_tls_deny({"Bool": {"aws:securetransport": "false"}}), True),
        (_tls_deny({"Bool": {"aws:SecureTransport": "false"}}, Principal={"AWS": ["*"]}, Action=["s3:*"]), True),
        (_tls_deny({"Bool": {"aws:SecureTransport": "true"}}), False),
        (_tls_deny({"Bool": {"aws:SecureTransport": True}}), False),
        # A TLS-version floor does not deny plain HTTP: the key is absent there, so NumericLessThan is false.
        (_tls_deny({"NumericLessThan": {"s3:TlsVersion": "1.2"}}), False),
        (_tls_deny({"Bool": {"aws:SecureTransport": "false"}}, Action="s3:GetObject"), False),
    ],
)
def test_secure_transport_condition_forms(policy: dict[str, Any], denies: bool) -> None:
    assert denies_insecure_transport(policy) is denies
