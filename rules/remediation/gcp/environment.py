"""Reaching Google Cloud for remediation: small JSON API clients over an AuthorizedSession, re-collects.

The remediation actions name methods of two clients: ``client("storage", None)`` (Cloud Storage JSON API:
bucket IAM policy GET/PUT) and ``client("compute", None)`` (Compute API: firewall GET/PATCH). Both send
plain REST over google-auth's AuthorizedSession, at Google's endpoints unless ``SKYWARDEN_GCP_STORAGE_ENDPOINT``
/ ``SKYWARDEN_GCP_COMPUTE_ENDPOINT`` (or the arguments) name others, as Private Service Connect users need.
Errors are raised as google-api-core exceptions, so they classify like the scan's.

Re-collects go through Cloud Asset like a scan, but Cloud Asset takes minutes to reflect a change: for the
types an action writes, the settings it wrote are then read live (bucket IAM policy, firewall rule), so the
verification right after a fix judges the fix, not the index.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import requests
from google.api_core import exceptions as api
from google.auth.exceptions import GoogleAuthError

from skywarden.rules.remediation.base import ClientFactory, RemediationEnvironment
from skywarden.rules.remediation.gcp.compute import firewall_ref
from skywarden.rules.remediation.gcp.storage import bucket_name
from skywarden.scanners.errors import CollectionError, RemediationError
from skywarden.scanners.gcp.assets import public_members
from skywarden.scanners.gcp.credentials import GcpSettings, asset_client, load_credentials
from skywarden.scanners.gcp.errors import RetryPolicy, classify
from skywarden.scanners.gcp.scan import GcpScope, collect_gcp
from skywarden.scanners.model import Resource

STORAGE_ENDPOINT_ENV = "SKYWARDEN_GCP_STORAGE_ENDPOINT"
COMPUTE_ENDPOINT_ENV = "SKYWARDEN_GCP_COMPUTE_ENDPOINT"
TIMEOUT = 60.0


def _base(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.startswith(("https://", "http://")) else f"https://{endpoint}"


@dataclass(frozen=True)
class GcpWriteEndpoints:
    storage: str = "https://storage.googleapis.com"
    compute: str = "https://compute.googleapis.com"

    @classmethod
    def resolve(cls, storage: str | None = None, compute: str | None = None) -> GcpWriteEndpoints:
        """Explicit values, then the environment, then Google's endpoints; no scheme means https."""
        return cls(
            storage=_base(storage or os.environ.get(STORAGE_ENDPOINT_ENV) or cls.storage),
            compute=_base(compute or os.environ.get(COMPUTE_ENDPOINT_ENV) or cls.compute),
        )


class _JsonApi:
    def __init__(self, session: Any, base_url: str) -> None:
        self._session = session  # google.auth.transport.requests.AuthorizedSession
        self._base = base_url

    def _call(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self._base}{path}", json=body, params=params, timeout=TIMEOUT)
        if response.status_code >= 400:
            raise api.from_http_response(response)
        return response.json() if response.content else {}


class StorageJsonApi(_JsonApi):
    """The Cloud Storage JSON API calls remediation makes."""

    def _iam(self, bucket: str) -> str:
        return f"/storage/v1/b/{quote(bucket, safe='')}/iam"

    def get_bucket_iam_policy(self, bucket: str) -> dict[str, Any]:
        # Version 3 returns conditional bindings as they are, so writing the policy back never drops them.
        return self._call("GET", self._iam(bucket), params={"optionsRequestedPolicyVersion": 3})  # type: ignore[no-any-return]

    def set_bucket_iam_policy(self, bucket: str, policy: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in policy.items() if v is not None}
        return self._call("PUT", self._iam(bucket), body)  # type: ignore[no-any-return]


class ComputeApi(_JsonApi):
    """The Compute Engine API calls remediation makes; a PATCH waits for its global operation."""

    def __init__(self, session: Any, base_url: str, wait_seconds: float = 120.0) -> None:
        super().__init__(session, base_url)
        self.wait_seconds = wait_seconds

    def _firewall(self, project: str, firewall: str) -> str:
        return f"/compute/v1/projects/{quote(project, safe='')}/global/firewalls/{quote(firewall, safe='')}"

    def get_firewall(self, project: str, firewall: str) -> dict[str, Any]:
        return self._call("GET", self._firewall(project, firewall))  # type: ignore[no-any-return]

    def patch_firewall(self, project: str, firewall: str, body: Mapping[str, Any]) -> dict[str, Any]:
        operation = self._call("PATCH", self._firewall(project, firewall), dict(body))
        deadline = time.monotonic() + self.wait_seconds
        while operation.get("status") != "DONE":
            if time.monotonic() > deadline:
                raise api.DeadlineExceeded(f"operation {operation.get('name')} still {operation.get('status')}")
            # operations.wait returns when the operation is done or after about two minutes, whichever first.
            path = f"/compute/v1/projects/{quote(project, safe='')}/global/operations/{operation['name']}/wait"
            operation = self._call("POST", path)
        if operation.get("error"):
            errors = operation["error"].get("errors") or [{}]
            raise api.GoogleAPICallError(f"{errors[0].get('code')}: {errors[0].get('message')}")
        return operation  # type: ignore[no-any-return]


class GcpRemediationEnvironment(RemediationEnvironment):
    """``credentials`` for both reads and writes unless ``remediation_credentials`` is given; built from
    ``settings`` (ADC or a key file) only when none is passed in, and only when first needed."""

    errors = (api.GoogleAPIError, GoogleAuthError, requests.RequestException)

    def __init__(
        self,
        settings: GcpSettings | None = None,
        endpoints: GcpWriteEndpoints | None = None,
        credentials: Any | None = None,
        remediation_credentials: Any | None = None,
        asset: Any | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings or GcpSettings.resolve()
        self.endpoints = endpoints or GcpWriteEndpoints.resolve()
        self._credentials = credentials
        self._remediation_credentials = remediation_credentials
        self._asset = asset
        self.retry = retry
        self._lock = threading.Lock()
        self._sessions: dict[int, Any] = {}

    def classify(self, exc: BaseException) -> tuple[str, str]:
        return classify(exc)

    def _reader_credentials(self, scope: str) -> Any:
        if self._credentials is None:
            try:
                self._credentials = load_credentials(self.settings, scope)
            except CollectionError as exc:
                raise RemediationError(str(exc)) from exc
        return self._credentials

    def _services(self, credentials: Any) -> dict[str, Any]:
        from google.auth.transport.requests import AuthorizedSession

        with self._lock:
            if id(credentials) not in self._sessions:
                self._sessions[id(credentials)] = AuthorizedSession(credentials)
            session = self._sessions[id(credentials)]
        return {"storage": StorageJsonApi(session, self.endpoints.storage),
                "compute": ComputeApi(session, self.endpoints.compute)}

    def clients(self, account_id: str) -> ClientFactory:
        with self._lock:
            credentials = self._remediation_credentials or self._reader_credentials(f"projects/{account_id}")
        services = self._services(credentials)

        def client(service: str, region: str | None) -> Any:
            if service not in services:
                raise RemediationError(f"no GCP remediation client for service {service!r}")
            return services[service]

        return client

    def collect(self, finding: Mapping[str, Any]) -> Resource | None:
        """Re-collect the finding's resource from Cloud Asset, as a scan of its project would."""
        project = finding["account_id"]
        with self._lock:
            if self._asset is None:
                self._asset = asset_client(self._reader_credentials(f"projects/{project}"),
                                           self.settings.asset_endpoint)
            client = self._asset
        inventory = collect_gcp(client, GcpScope(projects=[project]), [finding["resource_type"]], max_workers=2,
                                retry=self.retry)
        if inventory.gaps:
            gap = inventory.gaps[0]
            raise RemediationError(f"cannot re-collect {finding['resource_id']}: {gap.error_class}: {gap.message}")
        resource = next((r for r in inventory.resources if r.id == finding["resource_id"]), None)
        if resource is None or resource.type not in LIVE_READ_TYPES:
            return resource
        with self._lock:
            credentials = self._reader_credentials(f"projects/{project}")
        services = self._services(credentials)
        try:
            return live_settings(resource, services)
        except self.errors as exc:
            error_class, message = classify(exc)
            raise RemediationError(f"cannot read {resource.id} live: {error_class}: {message}") from exc


LIVE_READ_TYPES = ("gcp.storage.bucket", "gcp.compute.firewall")


def live_settings(resource: Resource, services: Mapping[str, Any]) -> Resource:
    """The resource with the settings remediation writes read from the API itself, derived facts recomputed
    as scanners/gcp/storage.py computes them."""
    properties = dict(resource.properties)
    if resource.type == "gcp.storage.bucket":
        policy = services["storage"].get_bucket_iam_policy(bucket=bucket_name(resource.id))
        policy = {k: policy[k] for k in ("version", "etag", "bindings") if k in policy}
        public = public_members(policy)
        prevention = ((properties.get("iamConfiguration") or {}).get("publicAccessPrevention") or "").lower()
        properties.update(iamPolicy=policy, public_members=public, is_public=bool(public) and prevention != "enforced")
    elif resource.type == "gcp.compute.firewall":
        project, name = firewall_ref(resource.id)
        live = services["compute"].get_firewall(project=project, firewall=name)
        properties.update({k: v for k, v in live.items() if k not in ("kind", "selfLink")})
    return replace(resource, properties=properties)
