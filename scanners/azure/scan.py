"""Collect an Azure inventory: every needed collector, for every subscription, on a bounded pool."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

import skywarden.scanners.azure as azure_package
from skywarden.scanners.azure.context import AzureClients, AzureContext, AzureSubscription
from skywarden.scanners.azure.errors import classify
from skywarden.scanners.azure.inventory import ARM_TYPES, arm_types_for, list_subscriptions
from skywarden.scanners.fanout import Unit, run_units
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult, Inventory
from skywarden.scanners.registry import Collector, collectors_for

_NOT_COLLECTOR_MODULES = {"context", "credentials", "dataplane", "errors", "inventory", "scan", "standin", "demo"}


def load_collectors() -> None:
    """Import every Azure service module so its collectors register."""
    for module in pkgutil.iter_modules(azure_package.__path__):
        if module.name not in _NOT_COLLECTOR_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"{azure_package.__name__}.{module.name}")


@dataclass(frozen=True, slots=True)
class SubscriptionTarget:
    id: str
    name: str
    error: tuple[str, str] | None = None  # set when the subscription itself could not be read


class AzureAuthError(Exception):
    """The credentials could not get a token at all: nothing in any subscription can be read."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def resolve_subscriptions(clients: AzureClients, wanted: Sequence[str]) -> list[SubscriptionTarget]:
    """The named subscriptions (each read once, so a 403 is that subscription's alone), or all visible ones.

    Raises AzureAuthError as soon as the credentials themselves fail: trying the next subscription with the
    same credentials would only repeat the failure.
    """
    try:
        if not wanted:
            return [SubscriptionTarget(sub_id, name) for sub_id, name in list_subscriptions(clients)]
        targets = []
        for sub_id in wanted:
            try:
                sub = clients.subscriptions().subscriptions.get(sub_id)
                targets.append(SubscriptionTarget(sub_id, str(sub.display_name or sub_id)))
            except HttpResponseError as exc:
                if isinstance(exc, ClientAuthenticationError):
                    raise
                targets.append(SubscriptionTarget(sub_id, sub_id, classify(exc)))
        return targets
    except ClientAuthenticationError as exc:
        error_class, message = classify(exc)
        raise AzureAuthError(error_class, message) from exc


def collect_azure(
    clients: AzureClients,
    targets: Sequence[SubscriptionTarget],
    resource_types: Iterable[str] | None = None,
    max_workers: int = 16,
    on_result: Callable[[CollectionResult], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    scanned: Sequence[str] | None = None,
) -> Inventory:
    """One unit per (subscription, service); a subscription that could not be read fails all of its units.

    ``scanned``: every subscription of the scan when ``targets`` is only part of it (a distributed unit), so
    tenant-wide resources are still read by one subscription of the scan only."""
    load_collectors()
    chosen = [c for c in collectors_for("azure", resource_types) if c.name in ARM_TYPES]
    arm_types = arm_types_for(rtype for item in chosen for rtype in item.resource_types)
    inventory = Inventory(provider="azure", regions=[GLOBAL_REGION])
    units: list[Unit] = []
    clients.scanned_subscriptions = tuple(sorted(scanned if scanned is not None
                                                 else (t.id for t in targets if t.error is None)))
    for target in targets:
        inventory.accounts[target.id] = target.name
        if target.error is not None:
            inventory.coverage.extend(failed_units(target.id, chosen, *target.error))
            continue
        subscription = AzureSubscription(clients, target.id, target.name, arm_types)
        units.extend(_unit(item, AzureContext(subscription)) for item in chosen)
    if on_plan is not None:
        on_plan(len(units))
    resources, coverage = run_units(units, classify, max_workers=max_workers, on_result=on_result)
    inventory.resources = resources
    inventory.coverage.extend(coverage)
    return inventory


def failed_units(
    subscription_id: str, chosen: Sequence[Collector], error_class: str, message: str
) -> list[CollectionResult]:
    return [
        CollectionResult("azure", subscription_id, item.service, GLOBAL_REGION, item.resource_types, "failed",
                         error_class, message)
        for item in chosen
    ]


def _unit(item: Collector, context: AzureContext) -> Unit:
    return Unit("azure", context.account_id, item.service, GLOBAL_REGION, item.resource_types, lambda: item.fn(context))
