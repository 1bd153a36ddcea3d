"""Distributed collection and evaluation: a scan's units (an AWS account's global services and its region
batches, or a whole account) become Celery tasks on a Redis broker; workers collect and evaluate them and this
process (serve or the CLI) folds each compact result into a spool as it arrives, then reconciles everything in
one transaction as an in-process scan would.

A unit that does not come back (worker killed, result lost, time limit passed, a result for another scan, a
worker whose rule set differs) becomes failed coverage rows for exactly that unit (its account and regions),
so nothing in it is resolved, and nothing outside it is touched."""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from skywarden.bot.core.gathered import GatheredInventory, Gatherer, MalformedResult
from skywarden.bot.worker.payload import (
    ALL,
    GLOBAL,
    REGIONAL,
    ResultMismatch,
    UnitRequest,
    aws_account,
    decode_result,
)
from skywarden.rules.digest import rule_set_digest
from skywarden.rules.model import Rule
from skywarden.scanners.aws.plan import AwsScope, select_accounts
from skywarden.scanners.aws.scan import load_collectors
from skywarden.scanners.aws.session import AccountSpec, base_session
from skywarden.scanners.errors import CollectionError, ConfigError
from skywarden.scanners.model import GLOBAL_REGION, CollectionResult
from skywarden.scanners.registry import collectors_for
from skywarden.scanners.scan_plan import ScanPlan

log = logging.getLogger(__name__)

BROKER_ENV = "SKYWARDEN_BROKER_URL"
REGIONS_PER_UNIT_ENV = "SKYWARDEN_REGIONS_PER_UNIT"
# An account's regions go out in batches of this many (plus one unit for its global services), so one big
# account is spread over several workers; 0 sends each account as one unit.
DEFAULT_REGIONS_PER_UNIT = 4


class BrokerUnavailable(CollectionError):
    pass


def broker_url(configured: str | None = None) -> str | None:
    """The broker to scan through: SKYWARDEN_BROKER_URL, else ``broker_url:`` from skywarden.yml; None = embedded."""
    return os.environ.get(BROKER_ENV) or configured or None


def regions_per_unit(configured: int | None = None) -> int:
    """The unit size: SKYWARDEN_REGIONS_PER_UNIT, else ``configured``, else the default (4)."""
    text = os.environ.get(REGIONS_PER_UNIT_ENV)
    if text is None:
        return DEFAULT_REGIONS_PER_UNIT if configured is None else configured
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{REGIONS_PER_UNIT_ENV}={text!r}: a whole number of regions per unit (0 = whole accounts)")
    return value


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
    rules: Sequence[Rule] | None = None,
    unit_regions: int | None = None,
) -> ScanPlan:
    """Like ``plan_aws``, but each unit is collected and evaluated by a worker (role assumption there too).

    ``rules``: the scan's rules (default: the built-in packs); the workers must hold the same ones.
    ``unit_regions``: regions per unit (default: ``regions_per_unit()``; 0 = one unit per account)."""
    check_broker(url)
    # Only an organization scope needs this process's credentials (to list the accounts).
    needs_session = bool(scope.organization_role) or scope.accounts_file is not None
    specs = select_accounts(scope, session or (base_session(scope.profile) if needs_session else None))
    aws_rules = _provider_rules("aws", rules)
    size = regions_per_unit() if unit_regions is None else unit_regions

    # The units' budget counts from now, when the scan's own timeout started, not from when tasks are sent.
    deadline = time.monotonic() + unit_timeout_s

    def collect(resource_types: frozenset[str]) -> GatheredInventory:
        requests = aws_requests(secrets.token_hex(16), specs, tuple(scope.regions), resource_types, max_workers,
                                aws_rules, size)
        return gather(url, requests, aws_rules, unit_timeout_s, on_plan, on_result, on_progress=on_progress,
                      deadline=deadline)

    return ScanPlan({**scope.describe(), "distributed": True, "regions_per_unit": size}, collect)


def _provider_rules(provider: str, rules: Sequence[Rule] | None) -> list[Rule]:
    if rules is None:
        from skywarden.rules.loader import load_rules

        rules = load_rules()
    return [rule for rule in rules if rule.provider == provider]


def aws_requests(nonce: str, specs: Sequence[AccountSpec], regions: Sequence[str], resource_types: frozenset[str],
                 max_workers: int, rules: Sequence[Rule], size: int = DEFAULT_REGIONS_PER_UNIT) -> list[UnitRequest]:
    """The units of an AWS scan. An account whose regions are known here (the scope's, else its own) is one
    unit for its global services plus one per batch of ``size`` regions; otherwise (regions found on the
    worker, or ``size`` 0) it is one unit."""
    rule_ids = tuple(sorted(rule.id for rule in rules))
    digest = rule_set_digest(rules)
    types = tuple(sorted(resource_types))
    load_collectors()
    kinds = {item.regional for item in collectors_for("aws", resource_types)}  # a part with no collector: no unit
    requests = []
    for spec in specs:
        key = spec.id or spec.name
        wanted = tuple(regions or spec.regions)

        def unit(suffix: str, unit_regions: tuple[str, ...], services: str, key: str = key,
                 spec: AccountSpec = spec) -> UnitRequest:
            return UnitRequest(nonce, key + suffix, "aws", aws_account(spec), unit_regions, types, max_workers,
                               rule_ids, digest, services)

        if size <= 0 or not wanted:
            requests.append(unit("", tuple(regions), ALL))
            continue
        if False in kinds:
            requests.append(unit("/global", wanted, GLOBAL))
        for start in range(0, len(wanted) if True in kinds else 0, size):
            batch = wanted[start:start + size]
            requests.append(unit("/" + "+".join(batch), batch, REGIONAL))
    return requests


def plan_distributed(
    provider: str,
    accounts: dict[str, str],
    url: str,
    description: dict[str, Any],
    max_workers: int = 16,
    unit_timeout_s: float = 3600,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    rules: Sequence[Rule] | None = None,
    shared: dict[str, Any] | None = None,
) -> ScanPlan:
    """A scan of a cloud without regions (GCP projects, Azure subscriptions): one unit per account (id ->
    display name), collected and evaluated by a worker with the worker's own credentials and endpoints.
    ``shared``: identifiers every unit's account carries (Azure: the scan's subscriptions)."""
    check_broker(url)
    chosen = _provider_rules(provider, rules)
    deadline = time.monotonic() + unit_timeout_s

    def collect(resource_types: frozenset[str]) -> GatheredInventory:
        requests = account_requests(secrets.token_hex(16), provider, accounts, resource_types, max_workers, chosen,
                                    shared)
        return gather(url, requests, chosen, unit_timeout_s, on_plan, on_result, on_progress=on_progress,
                      deadline=deadline)

    return ScanPlan({**description, "distributed": True}, collect)


def account_requests(nonce: str, provider: str, accounts: dict[str, str], resource_types: frozenset[str],
                     max_workers: int, rules: Sequence[Rule], shared: dict[str, Any] | None = None,
                     ) -> list[UnitRequest]:
    rule_ids = tuple(sorted(rule.id for rule in rules))
    digest = rule_set_digest(rules)
    return [UnitRequest(nonce, account, provider, {**(shared or {}), "id": account, "name": name}, (),
                        tuple(sorted(resource_types)), max_workers, rule_ids, digest)
            for account, name in accounts.items()]


def gather(
    url: str,
    requests: Sequence[UnitRequest],
    rules: Sequence[Rule],
    unit_timeout_s: float,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
    workers_seen: set[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    deadline: float | None = None,
) -> GatheredInventory:
    """Send every unit, then fold each result in as it is read (bounded by ``unit_timeout_s`` overall, or by
    the monotonic ``deadline``)."""
    # Celery is the `scale` extra: imported only when a scan really goes to the workers (the demo installs none).
    from skywarden.bot.worker.app import TASK_NAME, make_app

    app = make_app(url, int(unit_timeout_s))
    provider = requests[0].provider if requests else (rules[0].provider if rules else "aws")
    gatherer = Gatherer(provider, rules)
    if on_plan is not None:
        on_plan(len(requests))
    pending = [(request, app.send_task(TASK_NAME, args=[request.to_dict()], task_id=request.task_id))
               for request in requests]
    deadline = deadline or time.monotonic() + unit_timeout_s
    if on_progress is not None:
        on_progress(0, len(pending))
    for done, (request, async_result) in enumerate(pending, start=1):
        coverage, worker = _fold(gatherer, request, async_result, deadline)
        if workers_seen is not None and worker:
            workers_seen.add(worker)
        if on_result is not None:
            for unit in coverage:
                on_result(unit)
        async_result.forget()
        if on_progress is not None:
            on_progress(done, len(pending))
    return gatherer.inventory


def _fold(gatherer: Gatherer, request: UnitRequest, async_result: Any,
          deadline: float) -> tuple[list[CollectionResult], str]:
    remaining = deadline - time.monotonic()
    try:
        if remaining <= 0 and not async_result.ready():  # past the deadline: take only what is already there
            raise TimeoutError("no result within the scan timeout")
        blob = async_result.get(timeout=max(remaining, 0.1), interval=0.2, propagate=True,
                                disable_sync_subtasks=False)
        body = decode_result(request, blob)
        del blob  # one unit's result at a time: the compressed form goes as soon as it is decoded
        if "refused" in body:
            return _failed(gatherer, request, str(body.get("error_class") or "Refused"), str(body["refused"])), ""
        return gatherer.add(body), str(body.get("worker", ""))
    except (ResultMismatch, MalformedResult) as exc:
        return _failed(gatherer, request, "ResultRefused", str(exc)), ""
    except Exception as exc:  # worker lost, time limit, timeout waiting, task error: all end as a failed unit
        name = type(exc).__name__
        reason = "no result within the scan timeout" if name == "TimeoutError" else str(exc) or name
        return _failed(gatherer, request, name, reason), ""


def _failed(gatherer: Gatherer, request: UnitRequest, error_class: str, message: str) -> list[CollectionResult]:
    log.warning("distributed unit %s failed: %s: %s", request.unit, error_class, message)
    coverage = failed_coverage(request, error_class, f"distributed unit failed: {message}")
    gatherer.add_failed(coverage, {request.account_id: str(request.account.get("name") or request.account_id)})
    return coverage


def failed_coverage(request: UnitRequest, error_class: str, message: str) -> list[CollectionResult]:
    """The coverage rows of exactly this unit, failed: its global services once, its regional ones in each of
    its regions (all as global rows when its regions were to be found on the worker)."""
    importlib.import_module(f"skywarden.scanners.{request.provider}.scan").load_collectors()
    rows = []
    for item in collectors_for(request.provider, request.resource_types):
        if request.services == (GLOBAL if item.regional else REGIONAL):
            continue
        places = request.regions if item.regional and request.regions else (GLOBAL_REGION,)
        rows.extend(CollectionResult(request.provider, request.account_id, item.service, region,
                                     item.resource_types, "failed", error_class, message) for region in places)
    return rows
