"""Map Cloud Asset failures to the coverage error classes a user can act on."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from google.api_core import exceptions as api
from google.auth import exceptions as auth

log = logging.getLogger(__name__)
T = TypeVar("T")


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (error class, message) for a coverage row."""
    if isinstance(exc, api.GoogleAPICallError):
        message = f"HTTP {exc.code}: {exc.message}"
        if isinstance(exc, api.TooManyRequests | api.ResourceExhausted):
            return "Throttling", message
        if isinstance(exc, api.Forbidden | api.PermissionDenied):
            # A disabled Cloud Asset API is a 403 too, but the fix differs: enable the API, not grant a role.
            if getattr(exc, "reason", None) == "SERVICE_DISABLED" or "has not been used" in str(exc.message):
                return "ApiDisabled", message
            return "AccessDenied", message
        if isinstance(exc, api.Unauthorized | api.Unauthenticated):
            return "InvalidCredentials", message
        if isinstance(exc, api.NotFound):
            return "NotFound", message
        if isinstance(exc, api.ServerError):
            return "ServerError", message
        return type(exc).__name__, message
    if isinstance(exc, auth.RefreshError | auth.DefaultCredentialsError):
        return "InvalidCredentials", str(exc)
    if isinstance(exc, requests.ConnectionError | requests.Timeout | api.RetryError):
        return "EndpointUnavailable", str(exc)
    return type(exc).__name__, str(exc)


RETRYABLE = (
    api.TooManyRequests,
    api.ResourceExhausted,
    api.ServiceUnavailable,
    api.InternalServerError,
    api.BadGateway,
    api.GatewayTimeout,
)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for one ListAssets page: honour Retry-After on 429, back off on 5xx, then give up.

    The SDK's own default retries 503s for about a minute per call and ignores 429; we pass
    ``retry=None`` to it and retry here instead, page by page, so one throttled page does not restart
    a whole listing. A wait longer than ``max_delay`` is not worth blocking a worker: the unit fails as
    Throttling and the next scan tries again.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except RETRYABLE as exc:
                if attempt == self.attempts:
                    raise
                delay = retry_after(exc)
                if delay is None:
                    delay = self.base_delay * 2 ** (attempt - 1)
                if delay > self.max_delay:
                    raise
                log.info("Cloud Asset answered %s; retrying in %.1fs (attempt %d)", exc.code, delay, attempt)
                self.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
