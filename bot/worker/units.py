"""Collect one unit on the worker, per provider: the task names its provider and the worker looks it up here.
Credentials and endpoints come from the worker's own environment, never from the task."""

from __future__ import annotations

from collections.abc import Callable

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


COLLECTORS: dict[str, Callable[[UnitRequest], Inventory]] = {"aws": collect_aws_unit}


def collect_unit(request: UnitRequest) -> Inventory:
    try:
        collect = COLLECTORS[request.provider]
    except KeyError:
        raise ValueError(f"this worker cannot collect {request.provider!r} units") from None
    return collect(request)
