"""Run the real AWS collectors and rules against moto (call inside ``mock_aws()``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import boto3

from skywarden.rules.engine import Engine, evaluate_one
from skywarden.rules.loader import BUILTIN_PACKS, load_rules
from skywarden.rules.model import Outcome, Rule
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets
from skywarden.scanners.model import Inventory, Resource

ACCOUNT = "123456789012"  # moto's default account


def scan_inventory(
    regions: Sequence[str] = ("us-east-1",), resource_types: Iterable[str] | None = None
) -> Inventory:
    session = boto3.Session(region_name="us-east-1")
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    return collect_aws(targets, regions=list(regions), resource_types=resource_types, max_workers=4)


def pack_rules(*names: str) -> list[Rule]:
    """Load only the named packs (e.g. 'aws/s3.yaml'), so one pack's tests don't depend on another's."""
    return load_rules([BUILTIN_PACKS / name for name in names])


def outcomes(rules: Sequence[Rule], resources: Iterable[Resource]) -> dict[tuple[str, str], Outcome]:
    """(rule id, resource id) -> outcome, for every rule whose resource type matches."""
    engine = Engine(rules)
    result: dict[tuple[str, str], Outcome] = {}
    for resource in resources:
        for rule in engine.rules_for(resource.type):
            outcome, _ = evaluate_one(rule, resource, resource.properties, resource.properties.get("_errors"))
            result[(rule.id, resource.id)] = outcome
    return result


def by_name(inventory: Inventory, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in inventory.resources if r.type == resource_type}


def pack_path(name: str) -> Path:
    return BUILTIN_PACKS / name
