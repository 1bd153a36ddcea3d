"""Take secrets out of text bound for a log, a terminal or an error message.

Two nets: the shapes credentials take in what SDKs log (headers, XML/JSON bodies, query strings, URLs with
``user:password@``, token prefixes such as ``xoxb-``), and the literal values of the secrets this process was given
(environment variables), whatever shape they turn up in. In the lowest layer so every layer can redact its messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

MASK = "***"

# Names whose value is a secret wherever they appear as a header, a field, an XML element or a parameter.
_SECRET_NAMES = (
    r"x-amz-security-token|x-amz-signature|aws_session_token|aws_security_token|session_?token|security_?token"
    r"|aws_secret_access_key|secret_?access_?key|(?:proxy-)?authorization|cookie|set-cookie|x-api-key"
    r"|client_?secret|client_assertion|access_?token|refresh_?token|id_?token|password|passwd"
    r"|signing_?secret|private_?key|private_key_id|api_?key|secret|token|sig|x-ms-encryption-key"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # 'Authorization': b'AWS4-HMAC-SHA256 ...'  /  "SessionToken": "..."  (Python reprs and JSON)
    (re.compile(rf"""(?i)(["'](?:{_SECRET_NAMES})["']\s*:\s*b?)(["'])(?:\\.|(?!\2).)*\2"""), rf"\1\2{MASK}\2"),
    # <SessionToken>...</SessionToken>  (STS and other XML responses)
    (re.compile(rf"(?i)(<({_SECRET_NAMES})>)[^<]*(</\2>)"), rf"\1{MASK}\3"),
    # header lines: "x-amz-security-token:..." in a canonical request, "Authorization: Bearer ..." in a dump
    (re.compile(rf"(?im)^(\s*(?:{_SECRET_NAMES})\s*:[ \t]*)\S.*$"), rf"\1{MASK}"),
    # key=value in query strings, form bodies and environment dumps
    (re.compile(rf"(?i)((?<![\w-])(?:{_SECRET_NAMES})=)[^\s&'\",;<>)]+"), rf"\1{MASK}"),
    # scheme://user:password@host -> scheme://***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@"), rf"\1{MASK}@"),
    # token shapes that are secrets on their own: Slack, bearer, JWT, Google OAuth, AWS session tokens
    (re.compile(r"\b(xox[a-z]|xapp|xoxe\.xox[a-z])-[A-Za-z0-9-]+"), rf"\1-{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), MASK),
    (re.compile(r"\b(?:IQoJb3JpZ2lu|AgoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz)[A-Za-z0-9/+=]+"), MASK),
)

# Environment variables that hold a secret as their whole value.
SECRET_ENV_VARS = (
    "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
)
# Shorter literals would mask ordinary words; real tokens and keys are far longer, and the shapes above still apply.
MIN_SECRET_LENGTH = 8
_USERINFO = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s@'\"<>]+)@")


def secrets_from_env(environ: Mapping[str, str] | None = None) -> set[str]:
    """The secret values this process was given: token variables, and the userinfo of any URL-valued variable."""
    env = os.environ if environ is None else environ
    found = {env.get(name, "").strip() for name in SECRET_ENV_VARS}
    for value in env.values():
        for userinfo in _USERINFO.findall(value):
            found.add(userinfo)
            found.update(userinfo.split(":", 1))
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every credential-shaped substring replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: a password inside its userinfo
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """A URL fit to print: any ``user:password@`` and secret query parameters masked."""
    return redact(url)
