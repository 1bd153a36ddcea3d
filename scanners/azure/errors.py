"""Map azure-core failures to the coverage error classes a user can act on."""

from __future__ import annotations

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)


def error_code(exc: BaseException) -> str | None:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return str(code) if code else None


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if isinstance(status, int) else None


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (error class, message) for a coverage row or a per-property error."""
    message = _message(exc)
    if isinstance(exc, ClientAuthenticationError) and status_of(exc) in (None, 401):
        # CredentialUnavailableError (no credentials configured) subclasses ClientAuthenticationError.
        name = type(exc).__name__
        return ("NoCredentials" if name == "CredentialUnavailableError" else "InvalidCredentials"), message
    status = status_of(exc)
    if status == 403:
        return "AccessDenied", message
    if status == 401:
        return "InvalidCredentials", message
    if status == 429:
        return "Throttling", message
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return "NotFound", message
    if status is not None and status >= 500:
        return "ServiceUnavailable", message
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return "EndpointUnavailable", message
    if isinstance(exc, HttpResponseError):
        return error_code(exc) or f"HTTP{status}", message
    return type(exc).__name__, message


def _message(exc: BaseException) -> str:
    code = error_code(exc)
    text = str(getattr(getattr(exc, "error", None), "message", "") or exc).splitlines()[0] if str(exc) else ""
    status = status_of(exc)
    prefix = " ".join(part for part in (f"HTTP {status}" if status else "", code or "") if part)
    return f"{prefix}: {text}" if prefix else text
