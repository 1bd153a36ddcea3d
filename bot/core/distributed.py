"""Distributed collection: an AWS scan's accounts become Celery tasks on a Redis broker; this process (serve or
the CLI) gathers the compressed results and reconciles them in one transaction as an in-process scan would.

A unit that does not come back (worker killed, result lost, time limit passed, a result for another scan)
becomes failed coverage rows for that account, so nothing in it is resolved."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from skywarden.bot.worker.app import TASK_NAME, make_app
from skywarden.bot.worker.payload import ResultMismatch, UnitRequest, decode_result
from skywarden.scanners.aws.plan import AwsScope, select_accounts
from skywarden.scanners.aws.scan import load_collectors
from skywarden.scanners.aws.session import AccountSpec, base_session
from skywarden.scanners.errors import CollectionError
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult, Inventory
from skywarden.scanners.registry import collectors_for
from skywarden.scanners.scan_plan import ScanPlan

log = logging.getLogger(__name__)

BROKER_ENV = "SKYWARDEN_BROKER_URL"


class BrokerUnavailable(CollectionError):
    pass


def broker_url(configured: str | None = None) -> str | None:
    """The broker to scan through: SKYWARDEN_BROKER_URL, else ``broker_url:`` from skywarden.yml; None = embedded."""
    return os.environ.get(BROKER_ENV) or configured or None


def check_broker(url: str, timeout_s: float = 3.0) -> None:
    """Fail fast, in one line, when the broker cannot be reached (no retry loop)."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout_s) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout_s)
    except Exception as exc:  # kombu raises the transport's own errors (redis, socket, OperationalError)
        raise BrokerUnavailable(f"broker {_redacted(url)} unreachable: {type(exc).__name__}: {exc}") from None


def _redacted(url: str) -> str:
    """The URL without its password, for errors and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def plan_distributed_aws(
    scope: AwsScope,
    url: str,
    session: Any | None = None,
    max_workers: int = 16,
    unit_timeout_s: float = 3600,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScanPlan:
    """Like ``plan_aws``, but each account is collected by a worker. Role assumption happens on the worker."""
    check_broker(url)
    # Only an organization scope needs this process's credentials (to list the accounts).
    needs_session = bool(scope.organization_role) or scope.accounts_file is not None
    specs = select_accounts(scope, session or (base_session(scope.profile) if needs_session else None))

    def collect(resource_types: frozenset[str]) -> Inventory:
        return gather(url, specs, tuple(scope.regions), resource_types, max_workers, unit_timeout_s,
                      on_plan, on_result, on_progress=on_progress)

    return ScanPlan({**scope.describe(), "distributed": True}, collect)


def gather(
    url: str,
    specs: Sequence[AccountSpec],
    regions: tuple[str, ...],
    resource_types: frozenset[str],
    max_workers: int,
    unit_timeout_s: float,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    nonce: str | None = None,
    workers_seen: set[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Inventory:
    """Send one task per account, wait for every result (bounded by ``unit_timeout_s`` overall), merge."""
    app = make_app(url, int(unit_timeout_s))
    nonce = nonce or secrets.token_hex(16)
    requests = [UnitRequest(nonce, spec.id or spec.name, spec, regions, tuple(sorted(resource_types)), max_workers)
                for spec in specs]
    if on_plan is not None:
        on_plan(len(requests))
    pending = [(request, app.send_task(TASK_NAME, args=[request.to_dict()], task_id=request.task_id))
               for request in requests]
    inventory = Inventory(provider="aws")
    regions_seen: set[str] = set()
    deadline = time.monotonic() + unit_timeout_s
    if on_progress is not None:
        on_progress(0, len(pending))
    for done, (request, async_result) in enumerate(pending, start=1):
        part, worker = _wait(request, async_result, deadline, resource_types)
        if workers_seen is not None and worker:
            workers_seen.add(worker)
        inventory.resources.extend(part.resources)
        inventory.coverage.extend(part.coverage)
        inventory.accounts.update(part.accounts)
        regions_seen.update(part.regions)
        if on_result is not None:
            for unit in part.coverage:
                on_result(unit)
        async_result.forget()
        if on_progress is not None:
            on_progress(done, len(pending))
    inventory.regions = sorted(regions_seen)
    return inventory


def _wait(request: UnitRequest, async_result: Any, deadline: float,
          resource_types: frozenset[str]) -> tuple[Inventory, str]:
    remaining = max(deadline - time.monotonic(), 0.1)
    try:
        blob = async_result.get(timeout=remaining, propagate=True, disable_sync_subtasks=False)
        return decode_result(request, blob)
    except ResultMismatch as exc:
        return _failed_unit(request, resource_types, "ResultRefused", str(exc)), ""
    except Exception as exc:  # worker lost, time limit, timeout waiting, task error: all end as a failed unit
        name = type(exc).__name__
        reason = "no result within the scan timeout" if name == "TimeoutError" else str(exc) or name
        log.warning("distributed unit %s failed: %s: %s", request.unit, name, reason)
        return _failed_unit(request, resource_types, name, reason), ""


def _failed_unit(request: UnitRequest, resource_types: frozenset[str], error_class: str, message: str) -> Inventory:
    load_collectors()
    account_id = request.spec.id or request.unit
    inventory = Inventory(provider="aws", accounts={account_id: request.spec.name})
    inventory.coverage = [
        CollectionResult("aws", account_id, item.service, GLOBAL_REGION, item.resource_types, "failed",
                         error_class, f"distributed unit failed: {message}")
        for item in collectors_for("aws", resource_types)
    ]
    return inventory
