"""Connection settings for Google Cloud: which credentials, and which Cloud Asset endpoint.

Credentials are Application Default Credentials unless a key file is named (``--credentials-file``, or
the standard ``GOOGLE_APPLICATION_CREDENTIALS``). The endpoint is Google's unless
``SKYWARDEN_GCP_ASSET_ENDPOINT`` (or the configuration) names another one, as Private Service Connect
users need; an endpoint without a scheme means https.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skywarden.scanners.errors import CollectionError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
ASSET_ENDPOINT_ENV = "SKYWARDEN_GCP_ASSET_ENDPOINT"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
POOL_SIZE = 32


@dataclass(frozen=True, slots=True)
class GcpSettings:
    credentials_file: str | None = None
    asset_endpoint: str | None = None

    @classmethod
    def resolve(cls, credentials_file: str | None = None, asset_endpoint: str | None = None) -> GcpSettings:
        """Explicit values win over the environment; unset means ADC and Google's endpoint."""
        return cls(
            credentials_file=credentials_file or None,
            asset_endpoint=asset_endpoint or os.environ.get(ASSET_ENDPOINT_ENV) or None,
        )


def load_credentials(settings: GcpSettings, scope_label: str) -> Any:
    """Build the credentials the settings choose, or raise CollectionError naming the scope and the fix.

    Nothing is refreshed here: the first API call does that, and a rejected key then shows up as an
    InvalidCredentials coverage gap of the units it affects.
    """
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    if settings.credentials_file:
        return _from_file(settings.credentials_file, scope_label)
    explicit = os.environ.get(CREDENTIALS_ENV)
    if explicit and not Path(explicit).is_file():
        raise CollectionError(
            f"cannot scan {scope_label}: credentials file {explicit} (from {CREDENTIALS_ENV}) does not exist"
        )
    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as exc:
        raise CollectionError(
            f"no Google Cloud credentials to scan {scope_label}: pass --credentials-file, set {CREDENTIALS_ENV},"
            " or run `gcloud auth application-default login`"
        ) from exc
    return credentials


def asset_client(credentials: Any, endpoint: str | None = None) -> Any:
    """A Cloud Asset client over REST (no gRPC channel to manage), at ``endpoint`` when one is set."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import asset_v1

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    client = asset_v1.AssetServiceClient(transport="rest", credentials=credentials, client_options=options)
    # One client serves every collection unit; requests' default pool of 10 connections would make the
    # 16 default workers open and discard connections (and log a warning each time).
    session = getattr(getattr(client, "_transport", None), "_session", None)
    if session is not None:
        import requests

        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return client


def _from_file(path: str, scope_label: str) -> Any:
    """A service account key or an authorized-user file named on the command line.

    Only these two types are read from a named file: google-auth deprecates loading arbitrary credential
    configurations (which can name executables and URLs) from a path. Anything else can still be used
    through GOOGLE_APPLICATION_CREDENTIALS, the standard and explicitly trusted route.
    """
    import json

    from google.auth.exceptions import GoogleAuthError
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    where = f"cannot scan {scope_label}: credentials file {path} (from --credentials-file)"
    try:
        kind = json.loads(Path(path).read_text()).get("type")
    except FileNotFoundError:
        raise CollectionError(f"{where} does not exist") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise CollectionError(f"{where} is not a JSON credentials file: {exc}") from exc
    try:
        if kind == "service_account":
            return service_account.Credentials.from_service_account_file(path, scopes=list(SCOPES))
        if kind == "authorized_user":
            return user_credentials.Credentials.from_authorized_user_file(path, scopes=list(SCOPES))
    except (GoogleAuthError, ValueError, KeyError) as exc:
        raise CollectionError(f"{where}: {exc}") from exc
    raise CollectionError(
        f"{where} has type {kind!r}; --credentials-file takes service_account or authorized_user files,"
        f" other types work through {CREDENTIALS_ENV}"
    )
