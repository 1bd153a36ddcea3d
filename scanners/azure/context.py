"""What an Azure collector receives: one subscription's clients, its inventory rows, and helpers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat

from skywarden.scanners.azure.credentials import AzureSettings
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.model import ERRORS_KEY, GLOBAL_REGION, Resource

T = TypeVar("T")


class AzureClients:
    """Builds the azure-mgmt clients of one scan; an ``authentication_policy`` may replace the bearer policy."""

    def __init__(self, settings: AzureSettings, credential: Any, authentication_policy: Any | None = None) -> None:
        self.settings = settings
        self.credential = credential
        self.authentication_policy = authentication_policy
        self._lock = threading.Lock()
        self._cache: dict[Any, Any] = {}

    def _kwargs(self) -> dict[str, Any]:
        kwargs = self.settings.client_kwargs()
        if self.authentication_policy is not None:
            kwargs["authentication_policy"] = self.authentication_policy
        return kwargs

    def _cached(self, key: Any, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]  # type: ignore[no-any-return]

    def subscriptions(self) -> Any:
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        return self._cached("subscriptions", lambda: SubscriptionClient(self.credential, **self._kwargs()))

    def resources(self, subscription_id: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return self._cached(
            ("resources", subscription_id),
            lambda: ResourceManagementClient(self.credential, subscription_id, **self._kwargs()),
        )

    def graph(self) -> Any:
        from azure.mgmt.resourcegraph import ResourceGraphClient

        return self._cached("graph", lambda: ResourceGraphClient(self.credential, **self._kwargs()))


class AzureSubscription:
    """One subscription's state shared by its collector units: memoised answers (failures included)."""

    def __init__(self, clients: AzureClients, subscription_id: str, name: str, arm_types: Iterable[str]) -> None:
        self.clients = clients
        self.subscription_id = subscription_id
        self.name = name
        self.arm_types = frozenset(t.lower() for t in arm_types)
        self._lock = threading.Lock()
        self._memo: dict[Any, tuple[bool, Any]] = {}
        self._memo_locks: dict[Any, threading.Lock] = {}

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Compute once per scan; a failure is remembered too, so every unit that needs it fails the same way
        without calling the API again."""
        with self._lock:
            lock = self._memo_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                try:
                    self._memo[key] = (True, compute())
                except Exception as exc:
                    self._memo[key] = (False, exc)
            ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def rows(self, arm_type: str) -> list[dict[str, Any]]:
        from skywarden.scanners.azure.inventory import fetch_inventory

        inventory = self.memo("inventory", lambda: fetch_inventory(self))
        return inventory.get(arm_type.lower(), [])

    def arm_get(self, path: str, api_version: str) -> dict[str, Any]:
        """GET an ARM path through the scan's pipeline (auth, retries, base URL)."""
        if path.startswith("http"):
            url = path  # a nextLink carries its own api-version and skip token
        else:
            url = f"{path}{'&' if '?' in path else '?'}api-version={api_version}"
        response = self.clients.resources(self.subscription_id).send_request(HttpRequest("GET", url))
        if response.status_code == 404:
            raise ResourceNotFoundError(response=response, error_format=ARMErrorFormat)
        if response.status_code >= 400:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        return response.json()  # type: ignore[no-any-return]

    def arm_list(self, path: str, api_version: str) -> list[dict[str, Any]]:
        """GET an ARM collection, following nextLink."""
        items: list[dict[str, Any]] = []
        page = self.arm_get(path, api_version)
        while True:
            items.extend(page.get("value") or [])
            next_link = page.get("nextLink")
            if not next_link:
                return items
            page = self.arm_get(next_link, api_version)


class AzureContext:
    """The context of one collection unit: a subscription (Azure units are not split by region)."""

    provider = "azure"

    def __init__(self, subscription: AzureSubscription) -> None:
        self.subscription = subscription
        self.account_id = subscription.subscription_id
        self.region = GLOBAL_REGION

    def rows(self, arm_type: str) -> list[dict[str, Any]]:
        return self.subscription.rows(arm_type)

    def try_get(
        self, errors: dict[str, str], key: str, path: str, api_version: str, missing_ok: bool = False
    ) -> dict[str, Any] | None:
        """Read one part of a resource; a failure makes the rules reading ``key`` ERROR instead of a false result."""
        try:
            return self.subscription.arm_get(path, api_version)
        except ResourceNotFoundError:
            if missing_ok:
                return None
            errors[key] = "NotFound"
            return None
        except HttpResponseError as exc:
            errors[key] = classify(exc)[0]
            return None

    def try_list(self, errors: dict[str, str], key: str, path: str, api_version: str) -> list[dict[str, Any]] | None:
        try:
            return self.subscription.arm_list(path, api_version)
        except HttpResponseError as exc:
            errors[key] = classify(exc)[0]
            return None

    def resource(
        self, type: str, row: Mapping[str, Any], properties: dict[str, Any], errors: Mapping[str, str] | None = None
    ) -> Resource:
        if errors:
            properties[ERRORS_KEY] = dict(errors)
        location = str(row.get("location") or "").lower()
        return Resource(
            provider="azure",
            account_id=self.account_id,
            region=location if location and location != "global" else GLOBAL_REGION,
            type=type,
            id=str(row["id"]),
            name=str(row.get("name") or row["id"].rsplit("/", 1)[-1]),
            tags={str(k): str(v) for k, v in (row.get("tags") or {}).items()},
            properties=properties,
        )


def base_properties(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ARM ``properties`` plus the top-level fields rules read (sku, kind, identity, resource group)."""
    properties = dict(row.get("properties") or {})
    for key in ("sku", "kind", "identity", "managedBy", "zones"):
        if row.get(key) is not None:
            properties.setdefault(key, row[key])
    # From the id, not Resource Graph's lower-cased column, so both inventory sources agree.
    parts = str(row.get("id", "")).split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":
        properties.setdefault("resourceGroup", parts[4])
    return properties
