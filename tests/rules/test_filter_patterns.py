"""CloudWatch Logs JSON filter patterns: parsing and matching on sample events."""

from __future__ import annotations

import pytest

from skywarden.rules.checks.filter_patterns import FilterPatternError, compile_filter

EVENT = {
    "eventName": "ConsoleLogin",
    "errorCode": "Client.UnauthorizedOperation",
    "userIdentity": {"type": "Root", "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
    "resources": [{"ARN": "arn:aws:s3:::b"}],
    "bytes": 1500,
    "readOnly": False,
    "responseElements": None,
}


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("{ $.eventName = ConsoleLogin }", True),
        ('{$.eventName="ConsoleLogin"}', True),
        ("{ $.eventName = Console* }", True),
        ("{ $.errorCode = *UnauthorizedOperation }", True),
        ("{ $.errorCode = Unauthorized }", False),  # whole value, not a substring
        ('{ $.eventName = "Console?ogin" }', False),  # only * is a wildcard
        ("{ $.eventName != ConsoleLogin }", False),
        ("{ $.missing != x }", True),
        ("{ $.userIdentity.sessionContext.attributes.mfaAuthenticated = false }", True),
        ("{ $.resources[0].ARN = arn:aws:s3:::b }", True),
        ("{ $.bytes > 1000 && $.bytes <= 1500 }", True),
        ("{ $.bytes = 1500.0 }", True),
        ("{ $.readOnly IS FALSE }", True),
        ("{ $.responseElements IS NULL }", True),
        ("{ $.userIdentity.invokedBy NOT EXISTS }", True),
        ("{ $.userIdentity.type EXISTS }", True),
        ("{ $.eventName = A || $.eventName = ConsoleLogin && $.bytes < 10 }", False),  # && binds tighter
        ("{ ($.eventName = A || $.eventName = ConsoleLogin) && $.bytes > 10 }", True),
        ('{ $.eventName = "Console\\"Login" }', False),
    ],
)
def test_matching(pattern: str, matches: bool) -> None:
    assert compile_filter(pattern)(EVENT) is matches


@pytest.mark.parametrize(
    "pattern",
    ["ERROR Exception", "{ $.eventName = }", "{ ($.eventName = A }", "{ $.bytes > many }", "{ $.a = b c }", "{}"],
)
def test_unreadable_patterns_raise(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_filter(pattern)
