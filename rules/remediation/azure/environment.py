"""Reaching Azure for remediation: a generic ARM resource client per subscription, read-only re-collects.

The remediation actions name ``client("arm", None).get_resource(...)`` / ``.update_resource(...)``: GET and
PATCH of one resource by its ARM id through azure-mgmt-resource, with the scan's connection settings (cloud,
``SKYWARDEN_AZURE_ARM_URL``, ``REQUESTS_CA_BUNDLE``). Writes may use their own credential; re-collects use
the scan credential, so verification reads what a scan would. Resource Graph indexes a change with a delay,
so for the types an action writes the resource's own ARM properties are then read live (one GET by id).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from azure.core.exceptions import AzureError

from skywarden.rules.remediation.base import ClientFactory, RemediationEnvironment
from skywarden.scanners.azure.context import AzureClients, base_properties
from skywarden.scanners.azure.credentials import AzureSettings, build_credential
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.azure.inventory import ARM_TYPES, _api_versions
from skywarden.scanners.azure.scan import SubscriptionTarget, collect_azure
from skywarden.scanners.errors import RemediationError
from skywarden.scanners.model import ERRORS_KEY, Resource


class ArmResources:
    """One subscription's generic ARM resource operations, in the shape remediation calls name."""

    def __init__(self, client: Any) -> None:
        self._client = client  # azure.mgmt.resource.resources.ResourceManagementClient

    def get_resource(self, resource_id: str, api_version: str) -> dict[str, Any]:
        return self._client.resources.get_by_id(resource_id, api_version=api_version).as_dict()  # type: ignore[no-any-return]

    def update_resource(self, resource_id: str, api_version: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH the given properties and wait for the operation (ARM answers most property updates at once)."""
        poller = self._client.resources.begin_update_by_id(
            resource_id, {"properties": dict(properties)}, api_version=api_version, polling_interval=1
        )
        return poller.result().as_dict()  # type: ignore[no-any-return]


class AzureRemediationEnvironment(RemediationEnvironment):
    """``credential`` reads (re-collects and, unless ``remediation_credential`` is given, writes too).

    A credential is built from ``settings.auth`` only when none is passed in, and only when first needed.
    """

    errors = (AzureError,)

    def __init__(
        self,
        settings: AzureSettings | None = None,
        credential: Any | None = None,
        remediation_credential: Any | None = None,
        authentication_policy: Any | None = None,
    ) -> None:
        self.settings = settings or AzureSettings.resolve()
        self._credential = credential
        self._remediation_credential = remediation_credential
        self._policy = authentication_policy
        self._lock = threading.Lock()
        self._scan_clients: AzureClients | None = None
        self._write_clients: AzureClients | None = None

    def classify(self, exc: BaseException) -> tuple[str, str]:
        return classify(exc)

    def _read(self) -> AzureClients:
        with self._lock:
            if self._scan_clients is None:
                if self._credential is None:
                    self._credential = build_credential(self.settings)
                self._scan_clients = AzureClients(self.settings, self._credential, self._policy)
            return self._scan_clients

    def _write(self) -> AzureClients:
        if self._remediation_credential is None:
            return self._read()
        with self._lock:
            if self._write_clients is None:
                self._write_clients = AzureClients(self.settings, self._remediation_credential, self._policy)
            return self._write_clients

    def clients(self, account_id: str) -> ClientFactory:
        arm = ArmResources(self._write().resources(account_id))

        def client(service: str, region: str | None) -> Any:
            if service != "arm":
                raise RemediationError(f"no Azure remediation client for service {service!r}")
            return arm

        return client

    def collect(self, finding: Mapping[str, Any]) -> Resource | None:
        """Re-collect the finding's resource the way a scan of its subscription would."""
        subscription = finding["account_id"]
        inventory = collect_azure(self._read(), [SubscriptionTarget(subscription, subscription)],
                                  [finding["resource_type"]], max_workers=2)
        if inventory.gaps:
            gap = inventory.gaps[0]
            raise RemediationError(f"cannot re-collect {finding['resource_id']}: {gap.error_class}: {gap.message}")
        wanted = str(finding["resource_id"]).lower()
        resource = next((r for r in inventory.resources if r.id.lower() == wanted), None)
        if resource is None or resource.type not in LIVE_READ_TYPES:
            return resource
        try:
            return live_properties(resource, self._read().resources(subscription))
        except self.errors as exc:
            error_class, message = classify(exc)
            raise RemediationError(f"cannot read {resource.id} live: {error_class}: {message}") from exc


# Types whose collector builds the properties from the ARM row alone (base_properties), so a live GET by id
# gives exactly what a scan would have, only current.
LIVE_READ_TYPES = ("azure.storage.account",)


def live_properties(resource: Resource, client: Any) -> Resource:
    namespace = resource.id.split("/providers/", 1)[1].split("/", 1)[0]
    versions = _api_versions(client, namespace)
    (arm_type,) = ARM_TYPES[resource.type]
    row = client.resources.get_by_id(resource.id, api_version=versions[arm_type]).as_dict()
    properties = {**base_properties(row), **{k: v for k, v in resource.properties.items() if k == ERRORS_KEY}}
    return replace(resource, properties=properties)
