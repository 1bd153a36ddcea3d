"""Run collection units on a bounded thread pool and record how each one ended (the scan's coverage)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from skywarden.scanners.model import CollectionResult, Resource

log = logging.getLogger(__name__)

Classifier = Callable[[BaseException], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Unit:
    provider: str
    account_id: str
    service: str
    region: str
    resource_types: tuple[str, ...]
    run: Callable[[], Iterable[Resource]]


def run_units(
    units: list[Unit],
    classify: Classifier,
    max_workers: int = 16,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> tuple[list[Resource], list[CollectionResult]]:
    """Run every unit; a failure is recorded, never swallowed, and never hides another unit's results.

    Resources a unit yielded before failing are kept: they were really read. The failed coverage row is
    what stops reconcile from resolving anything in that unit.
    """
    resources: list[Resource] = []
    coverage: list[CollectionResult] = []
    if not units:
        return resources, coverage
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(units))), thread_name_prefix="collect") as pool:
        futures = {pool.submit(_run_one, unit, classify): unit for unit in units}
        for future in as_completed(futures):
            found, result = future.result()
            resources.extend(found)
            coverage.append(result)
            if on_result is not None:
                on_result(result)
    coverage.sort(key=lambda r: (r.account_id, r.service, r.region, r.resource_types))
    return resources, coverage


def _run_one(unit: Unit, classify: Classifier) -> tuple[list[Resource], CollectionResult]:
    started = time.monotonic()
    found: list[Resource] = []
    try:
        for resource in unit.run():
            found.append(resource)
    except Exception as exc:
        error_class, message = classify(exc)
        log.warning(
            "collection failed: %s %s %s %s: %s", unit.account_id, unit.service, unit.region, error_class, message
        )
        log.debug("collection failure detail", exc_info=True)
        return found, CollectionResult(
            unit.provider,
            unit.account_id,
            unit.service,
            unit.region,
            unit.resource_types,
            "failed",
            error_class,
            message,
            len(found),
            time.monotonic() - started,
        )
    return found, CollectionResult(
        unit.provider,
        unit.account_id,
        unit.service,
        unit.region,
        unit.resource_types,
        "ok",
        resource_count=len(found),
        duration_s=time.monotonic() - started,
    )
