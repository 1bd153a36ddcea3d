"""GETs outside Azure Resource Manager: Microsoft Graph (Entra ID settings) and the Key Vault data plane.

Each has its own token audience, so each gets its own azure-core pipeline with the scan's credential: the
same bearer-token, retry (Retry-After aware) and TLS-trust behaviour as the ARM clients. Redirects are not
followed, so a bearer token is only ever sent to the host it was asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from azure.core import PipelineClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    NetworkTraceLoggingPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from skywarden.scanners.azure.credentials import AzureSettings

GRAPH_PAGE_LIMIT = 10_000  # a runaway nextLink loop (a proxy echoing the same link) stops here


class DataPlane:
    """JSON GETs with a bearer token for ``scopes``; one pipeline per audience, built on first use."""

    def __init__(self, settings: AzureSettings, credential: Any) -> None:
        self.settings = settings
        self.credential = credential
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, ...], PipelineClient] = {}

    def _client(self, scopes: Sequence[str]) -> PipelineClient:
        key = tuple(scopes)
        with self._lock:
            if key not in self._clients:
                transport_kwargs: dict[str, Any] = {}
                if self.settings.ca_bundle:
                    transport_kwargs["connection_verify"] = self.settings.ca_bundle
                policies = [
                    HeadersPolicy(),
                    UserAgentPolicy("skywarden"),
                    RetryPolicy(retry_total=self.settings.retry_total),
                    BearerTokenCredentialPolicy(self.credential, *scopes),
                    NetworkTraceLoggingPolicy(),
                ]
                # base_url is unused: every request carries an absolute URL.
                self._clients[key] = PipelineClient(
                    "https://localhost", policies=policies, transport=RequestsTransport(**transport_kwargs)
                )
            return self._clients[key]

    def get(self, url: str, scopes: Sequence[str]) -> dict[str, Any]:
        response = self._client(scopes).send_request(HttpRequest("GET", url, headers={"Accept": "application/json"}))
        if response.status_code == 404:
            raise ResourceNotFoundError(response=response)
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        body = response.json()
        if not isinstance(body, dict):
            raise HttpResponseError(message=f"{url}: expected a JSON object", response=response)
        return body

    def list(self, url: str, scopes: Sequence[str]) -> list[dict[str, Any]]:
        """A collection's ``value`` items, following ``@odata.nextLink`` (Graph) or ``nextLink`` (Key Vault)."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(GRAPH_PAGE_LIMIT):
            if not next_url:
                return items
            page = self.get(next_url, scopes)
            items.extend(page.get("value") or [])
            next_url = page.get("@odata.nextLink") or page.get("nextLink")
        raise HttpResponseError(message=f"{url}: more than {GRAPH_PAGE_LIMIT} pages, stopped")

    # ---------------------------------------------------------------- Microsoft Graph
    def graph_url(self, path: str) -> str:
        return f"{self.settings.graph_base_url}{path}"

    def graph_get(self, path: str) -> dict[str, Any]:
        return self.get(self.graph_url(path), self.settings.graph_scopes)

    def graph_list(self, path: str) -> list[dict[str, Any]]:
        return self.list(self.graph_url(path), self.settings.graph_scopes)
