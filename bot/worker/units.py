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


_gcp_lock = threading.Lock()
_gcp_clients: dict[tuple[str | None, str | None], Any] = {}


def collect_gcp_unit(request: UnitRequest) -> Inventory:
    """One project. Credentials and the Cloud Asset endpoint are the worker's (GOOGLE_APPLICATION_CREDENTIALS or
    ADC, SKYWARDEN_GCP_ASSET_ENDPOINT); the client is built once per worker process and refreshes its token."""
    from skywarden.scanners.gcp.credentials import GcpSettings, asset_client, load_credentials
    from skywarden.scanners.gcp.scan import GcpScope, collect_gcp

    settings = GcpSettings.resolve()
    scope = GcpScope(projects=[request.account_id])
    with _gcp_lock:
        key = (settings.credentials_file, settings.asset_endpoint)
        if key not in _gcp_clients:
            _gcp_clients[key] = asset_client(load_credentials(settings, scope.label), settings.asset_endpoint)
        client = _gcp_clients[key]
    return collect_gcp(client, scope, resource_types=request.resource_types, max_workers=request.max_workers)


COLLECTORS: dict[str, Callable[[UnitRequest], Inventory]] = {"aws": collect_aws_unit, "gcp": collect_gcp_unit}


def collect_unit(request: UnitRequest) -> Inventory:
    try:
        collect = COLLECTORS[request.provider]
    except KeyError:
        raise ValueError(f"this worker cannot collect {request.provider!r} units") from None
    return collect(request)
