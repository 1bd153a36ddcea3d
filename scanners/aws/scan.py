"""Collect an AWS inventory: every needed collector, for every account and region, on a bounded pool."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

import skywarden.scanners.aws as aws_package
from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.aws.errors import classify
from skywarden.scanners.aws.session import ENABLED_OPT_IN, Target, enabled_regions, listed_regions
from skywarden.scanners.errors import CollectionError
from skywarden.scanners.fanout import Unit, run_units
from skywarden.scanners.model import GLOBAL_REGION, SKIPPED, CollectionResult, Inventory
from skywarden.scanners.registry import Collector, collectors_for

_NOT_COLLECTOR_MODULES = {"context", "errors", "session", "scan", "demo"}


def load_collectors() -> None:
    """Import every AWS service module so its collectors register."""
    for module in pkgutil.iter_modules(aws_package.__path__):
        if module.name not in _NOT_COLLECTOR_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"{aws_package.__name__}.{module.name}")


def collect_aws(
    targets: Sequence[Target],
    regions: Sequence[str] | None = None,
    resource_types: Iterable[str] | None = None,
    max_workers: int = 16,
    on_result: Callable[[CollectionResult], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    global_services: bool = True,
    regional_services: bool = True,
) -> Inventory:
    """Collect what the rules need from every reachable target.

    ``regions`` overrides each account's configured regions; otherwise an account's own list is used,
    and failing that the regions enabled for it. ``global_services``/``regional_services`` select the
    collectors that run once per account or once per region (a distributed unit runs one kind; global
    collectors still see all of ``regions``, which some of them read, e.g. CloudTrail's home regions).
    """
    load_collectors()
    chosen = [item for item in collectors_for("aws", resource_types)
              if (regional_services if item.regional else global_services)]
    inventory = Inventory(provider="aws")
    units: list[Unit] = []
    all_regions: set[str] = set()
    for target in targets:
        account_id = target.clients.account_id if target.clients else (target.spec.id or "unknown")
        inventory.accounts[account_id] = target.spec.name
        if target.clients is None:
            inventory.coverage.extend(_unreachable(account_id, chosen, target.error))
            continue
        try:
            account_regions = list(regions or target.spec.regions or enabled_regions(target.clients))
        except (ClientError, BotoCoreError) as exc:
            inventory.coverage.extend(_unreachable(account_id, chosen, classify(exc)))
            continue
        if regions or target.spec.regions:
            account_regions, disabled = _split_disabled(target, account_regions)
            inventory.coverage.extend(_skipped(account_id, chosen, disabled))
        all_regions.update(account_regions)
        target.clients.regions = list(account_regions)
        units.extend(_units_for(target, chosen, account_regions))
    inventory.regions = sorted(all_regions)
    if on_plan is not None:
        on_plan(len(units))
    resources, coverage = run_units(units, classify, max_workers=max_workers, on_result=on_result)
    inventory.resources = resources
    inventory.coverage.extend(coverage)
    return inventory


def _units_for(target: Target, chosen: Sequence[Collector], regions: Sequence[str]) -> list[Unit]:
    assert target.clients is not None
    clients = target.clients
    units = []
    for item in chosen:
        for region in regions if item.regional else [GLOBAL_REGION]:
            context = AwsContext(clients, region)
            units.append(
                Unit(
                    provider="aws",
                    account_id=clients.account_id,
                    service=item.service,
                    region=region,
                    resource_types=item.resource_types,
                    run=_bind(item, context),
                )
            )
    return units


def _bind(item: Collector, context: AwsContext) -> Callable[[], Iterable]:  # type: ignore[type-arg]
    return lambda: item.fn(context)


def _split_disabled(target: Target, wanted: Sequence[str]) -> tuple[list[str], list[str]]:
    """Requested regions that are enabled for the account, and those that are not (opt-in regions left off).

    A disabled region answers every call with an error (OptInRequired, AuthFailure): it is not a failed
    collection but a region the account does not use, so it is skipped and shown as skipped. When the
    region list cannot be read, every requested region is tried as before.
    """
    assert target.clients is not None
    try:
        listed = listed_regions(target.clients)
    except (ClientError, BotoCoreError):
        return list(wanted), []
    unknown = [r for r in wanted if r not in listed]
    if unknown:
        # A typo, not an opt-in region: saying "skipped, not enabled" would send the user to the wrong fix.
        raise CollectionError(
            f"{', '.join(unknown)} {'is not an AWS region' if len(unknown) == 1 else 'are not AWS regions'} "
            f"(AWS lists {len(listed)}, e.g. {', '.join(sorted(listed)[:4])}); fix --regions or the account's "
            "regions in the accounts file"
        )
    enabled = {name for name, status in listed.items() if status in ENABLED_OPT_IN}
    return [r for r in wanted if r in enabled], [r for r in wanted if r not in enabled]


def _skipped(account_id: str, chosen: Sequence[Collector], disabled: Sequence[str]) -> list[CollectionResult]:
    return [
        CollectionResult(
            "aws",
            account_id,
            item.service,
            region,
            item.resource_types,
            SKIPPED,
            "RegionDisabled",
            f"{region} is not enabled for this account (opt-in region): skipped, not scanned",
        )
        for region in disabled
        for item in chosen
        if item.regional
    ]


def _unreachable(
    account_id: str, chosen: Sequence[Collector], error: tuple[str, str] | None
) -> list[CollectionResult]:
    error_class, message = error or ("Unreachable", "account could not be reached")
    return [
        CollectionResult(
            "aws", account_id, item.service, GLOBAL_REGION, item.resource_types, "failed", error_class, message
        )
        for item in chosen
    ]
