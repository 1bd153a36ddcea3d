"""Connection settings for Azure: authentication mode, cloud endpoints, an overridable ARM URL and TLS trust.

Nothing here talks to the network until a credential is asked for a token, and a credential is only built
for the mode that was chosen (``default`` would otherwise probe the instance metadata service).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skywarden.scanners.errors import ConfigError

AUTH_MODES = ("default", "cli", "environment", "managed-identity")
INVENTORY_SOURCES = ("graph", "arm")


@dataclass(frozen=True, slots=True)
class Cloud:
    name: str
    resource_manager: str
    authority_host: str
    # Tokens are always requested for the cloud's ARM audience, even when SKYWARDEN_AZURE_ARM_URL points
    # the clients at a private endpoint or proxy: the token audience does not change with the route.
    audience: str


CLOUDS: Mapping[str, Cloud] = {
    "public": Cloud("public", "https://management.azure.com", "login.microsoftonline.com", "https://management.azure.com"),
    "china": Cloud(
        "china", "https://management.chinacloudapi.cn", "login.chinacloudapi.cn", "https://management.chinacloudapi.cn"
    ),
    "usgov": Cloud(
        "usgov", "https://management.usgovcloudapi.net", "login.microsoftonline.us", "https://management.usgovcloudapi.net"
    ),
}


@dataclass(frozen=True)
class AzureSettings:
    """How to reach Azure Resource Manager. Build with :meth:`resolve` to honour the environment."""

    auth: str = "default"
    cloud: str = "public"
    arm_url: str | None = None
    ca_bundle: str | None = None
    # azure-core honours Retry-After on 429/503; a few retries ride out throttling without stalling a scan.
    retry_total: int = 4
    inventory_source: str = "graph"
    graph_page_size: int = 1000
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ConfigError(f"azure auth mode {self.auth!r} is not one of {', '.join(AUTH_MODES)}")
        if self.cloud not in CLOUDS:
            raise ConfigError(f"azure cloud {self.cloud!r} is not one of {', '.join(CLOUDS)}")
        if self.inventory_source not in INVENTORY_SOURCES:
            raise ConfigError(f"azure inventory source {self.inventory_source!r} is not one of graph, arm")
        if self.arm_url and not self.arm_url.startswith(("https://", "http://")):
            raise ConfigError(f"SKYWARDEN_AZURE_ARM_URL {self.arm_url!r} must be an http(s) URL")

    @classmethod
    def resolve(
        cls,
        auth: str | None = None,
        cloud: str | None = None,
        arm_url: str | None = None,
        config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> AzureSettings:
        """Flag, then environment, then configuration file (``config``), then default."""
        env = os.environ if environ is None else environ
        config = config or {}
        return cls(
            auth=auth or env.get("SKYWARDEN_AZURE_AUTH") or config.get("auth") or "default",
            cloud=cloud or env.get("SKYWARDEN_AZURE_CLOUD") or config.get("cloud") or "public",
            arm_url=arm_url or env.get("SKYWARDEN_AZURE_ARM_URL") or config.get("arm_url") or None,
            ca_bundle=env.get("REQUESTS_CA_BUNDLE") or config.get("ca_bundle") or None,
            **overrides,
        )

    @property
    def endpoints(self) -> Cloud:
        return CLOUDS[self.cloud]

    @property
    def base_url(self) -> str:
        return (self.arm_url or self.endpoints.resource_manager).rstrip("/")

    @property
    def credential_scopes(self) -> list[str]:
        return [self.endpoints.audience + "/.default"]

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every azure-mgmt client of a scan gets."""
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "credential_scopes": self.credential_scopes,
            "retry_total": self.retry_total,
        }
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def describe(self) -> dict[str, Any]:
        return {"auth": self.auth, "cloud": self.cloud, "arm_url": self.base_url, "source": self.inventory_source}


def build_credential(settings: AzureSettings) -> Any:
    """The azure-identity credential for the chosen mode (imported lazily: it costs 0.2 s)."""
    from azure import identity

    authority = settings.endpoints.authority_host
    if settings.auth == "cli":
        return identity.AzureCliCredential()
    if settings.auth == "environment":
        return identity.EnvironmentCredential(authority=authority)
    if settings.auth == "managed-identity":
        client_id = os.environ.get("AZURE_CLIENT_ID")
        if client_id:
            return identity.ManagedIdentityCredential(client_id=client_id)
        return identity.ManagedIdentityCredential()
    return identity.DefaultAzureCredential(authority=authority)
