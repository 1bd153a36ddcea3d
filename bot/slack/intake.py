"""HTTP mode's front door: what a request must be before Bolt sees it.

Slack's payloads are small, so a body over MAX_BODY is refused (413) from its Content-Length, before a byte of it
is read. The rest is read, and the signature is checked on those exact bytes: a missing, non-numeric or stale
timestamp, a wrong signature, a body that is not UTF-8 or does not parse are all one answer, 401, and one log
line; never a traceback, a 500 or a dropped connection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

MAX_BODY = 1024 * 1024
MAX_AGE_S = 300  # Slack's own window for a signed request


@dataclass
class Refused(Exception):
    status: int
    reason: str  # for the log line; the client only gets the status


def body_length(headers: Mapping[str, str]) -> int:
    """The announced length: required, a plain number, at most MAX_BODY."""
    if headers.get("transfer-encoding"):
        raise Refused(411, "chunked body")  # Slack always sends Content-Length
    text = (headers.get("content-length") or "").strip()
    if not text:
        raise Refused(411, "no Content-Length")
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Refused(400, "malformed Content-Length")
    length = int(text)
    if length > MAX_BODY:
        raise Refused(413, f"body of {length} bytes over {MAX_BODY}")
    return length


def verify(secret: str, raw: bytes, headers: Mapping[str, str], clock: Callable[[], float] = time.time) -> str:
    """The body as text, if it is signed with ``secret`` within the window and parses as Slack sends it."""
    timestamp = (headers.get("x-slack-request-timestamp") or "").strip()
    signature = (headers.get("x-slack-signature") or "").strip()
    if not timestamp or not signature:
        raise Refused(401, "unsigned")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Refused(401, "non-numeric timestamp")
    if abs(clock() - int(timestamp)) > MAX_AGE_S:
        raise Refused(401, "stale timestamp")
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Refused(401, "bad signature")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(401, "body is not UTF-8") from None
    _check_parses(body, headers.get("content-type") or "")
    return body


def _check_parses(body: str, content_type: str) -> None:
    # Bolt parses the body after this; what it would choke on is refused here, as any unverifiable request is.
    try:
        if "application/json" in content_type or body.lstrip().startswith("{"):
            if not isinstance(json.loads(body), dict):
                raise ValueError("not an object")
            return
        form = parse_qs(body, strict_parsing=bool(body))
        if "payload" in form and not isinstance(json.loads(form["payload"][0]), dict):
            raise ValueError("payload is not an object")
    except ValueError as exc:
        raise Refused(401, f"malformed body ({type(exc).__name__})") from None
