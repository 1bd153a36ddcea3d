"""Collect one unit on the worker, per provider: the task names its provider and the worker looks it up here.
Credentials and endpoints come from the worker's own environment, never from the task."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from skywarden.bot.worker.payload import GLOBAL, REGIONAL, UnitRequest
from skywarden.bot.worker.roles import RoleCache
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.model import Inventory

_roles = RoleCache()  # one per worker process: Celery's prefork children each build their own after the fork


def collect_aws_unit(request: UnitRequest) -> Inventory:
    target = _roles.target(request.aws_spec())
    return collect_aws([target], regions=list(request.regions) or None, resource_types=request.resource_types,
                       max_workers=request.max_workers, global_services=request.services != REGIONAL,
                       regional_services=request.services != GLOBAL)


_lock = threading.Lock()
_gcp_clients: dict[tuple[str | None, str | None], Any] = {}


def collect_gcp_unit(request: UnitRequest) -> Inventory:
    """One project. Credentials and the Cloud Asset endpoint are the worker's (GOOGLE_APPLICATION_CREDENTIALS or
    ADC, SKYWARDEN_GCP_ASSET_ENDPOINT); the client is built once per worker process and refreshes its token."""
    from skywarden.scanners.gcp.credentials import GcpSettings, asset_client, load_credentials
    from skywarden.scanners.gcp.scan import GcpScope, collect_gcp

    settings = GcpSettings.resolve()
    scope = GcpScope(projects=[request.account_id])
    with _lock:
        key = (settings.credentials_file, settings.asset_endpoint)
        if key not in _gcp_clients:
            _gcp_clients[key] = asset_client(load_credentials(settings, scope.label), settings.asset_endpoint)
        client = _gcp_clients[key]
    return collect_gcp(client, scope, resource_types=request.resource_types, max_workers=request.max_workers)


_azure_credentials: dict[tuple[str, str], Any] = {}


def collect_azure_unit(request: UnitRequest) -> Inventory:
    """One subscription. Credentials (SKYWARDEN_AZURE_AUTH: managed identity, environment, ...), the cloud and
    the ARM/Graph endpoints are the worker's; the credential is built once per worker process (it caches its
    tokens). ``account["scanned"]`` lists the scan's subscriptions, so tenant-wide resources are read by one."""
    from skywarden.scanners.azure.context import AzureClients
    from skywarden.scanners.azure.credentials import AzureSettings, build_credential
    from skywarden.scanners.azure.scan import (
        AzureAuthError,
        collect_azure,
        failed_units,
        load_collectors,
        resolve_subscriptions,
    )
    from skywarden.scanners.registry import collectors_for

    settings = AzureSettings.resolve()
    with _lock:
        key = (settings.auth, settings.cloud)
        if key not in _azure_credentials:
            _azure_credentials[key] = build_credential(settings)
        credential = _azure_credentials[key]
    clients = AzureClients(settings, credential)
    try:
        targets = resolve_subscriptions(clients, [request.account_id])
    except AzureAuthError as exc:
        load_collectors()
        inventory = Inventory(provider="azure", accounts={request.account_id: request.account_id},
                              regions=["global"])
        inventory.coverage = failed_units(request.account_id, collectors_for("azure", request.resource_types),
                                          exc.error_class, f"the worker's Azure credentials failed: {exc}")
        return inventory
    return collect_azure(clients, targets, request.resource_types, request.max_workers,
                         scanned=list(request.account.get("scanned") or [request.account_id]))


COLLECTORS: dict[str, Callable[[UnitRequest], Inventory]] = {
    "aws": collect_aws_unit, "gcp": collect_gcp_unit, "azure": collect_azure_unit}


def collect_unit(request: UnitRequest) -> Inventory:
    try:
        collect = COLLECTORS[request.provider]
    except KeyError:
        raise ValueError(f"this worker cannot collect {request.provider!r} units") from None
    return collect(request)
