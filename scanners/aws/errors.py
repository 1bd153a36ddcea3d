"""Map botocore failures to the coverage error classes a user can act on."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedAccess",
    "Forbidden",
}
THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
}
AUTH = {"InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "AuthFailure"}
REGION_DISABLED = {"OptInRequired", "SubscriptionRequiredException"}


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (error class, message) for a coverage row."""
    code = error_code(exc)
    if code is not None:
        message = str(exc.response.get("Error", {}).get("Message") or exc)  # type: ignore[attr-defined]
        if code in ACCESS_DENIED:
            return "AccessDenied", f"{code}: {message}"
        if code in THROTTLING:
            return "Throttling", f"{code}: {message}"
        if code in AUTH:
            return "InvalidCredentials", f"{code}: {message}"
        if code in REGION_DISABLED:
            return "RegionDisabled", f"{code}: {message}"
        return code, message
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return "EndpointUnavailable", str(exc)
    if isinstance(exc, NoCredentialsError):
        return "NoCredentials", str(exc)
    if isinstance(exc, NoRegionError):
        return "NoRegion", str(exc)
    return type(exc).__name__, str(exc)
