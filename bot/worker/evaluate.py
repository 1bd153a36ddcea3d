"""The worker's half of evaluation: the rule set it was started with, checked against the one the scan asked
for, and one unit's inventory turned into the compact result the scanning process reconciles.

The result holds the inventory rows storage keeps (normalised resources, not API responses), failures with
their headline and evidence, errors, and every other verdict as resource indices per rule (storage keeps
each verdict, passes included, as the compliance evidence)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from skywarden.rules.digest import rule_set_digest
from skywarden.rules.engine import Engine
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Outcome, Rule
from skywarden.rules.passes import all_evaluations
from skywarden.scanners.model import Inventory

RULES_ENV = "SKYWARDEN_RULES"  # rule paths (os.pathsep-separated) of `skywarden worker --rules`


class RuleSetMismatch(Exception):
    pass


@lru_cache(maxsize=4)
def _loaded(paths: tuple[str, ...]) -> tuple[Rule, ...]:
    return tuple(load_rules([Path(p) for p in paths] if paths else None))


def worker_rules() -> tuple[Rule, ...]:
    """The rules this worker process evaluates: the built-in packs, or SKYWARDEN_RULES's paths (loaded once)."""
    paths = tuple(p for p in os.environ.get(RULES_ENV, "").split(os.pathsep) if p)
    return _loaded(paths)


def select_rules(available: Sequence[Rule], rule_ids: Sequence[str], digest: str) -> list[Rule]:
    """The requested rules, or RuleSetMismatch saying what differs (missing ids, or other definitions)."""
    by_id = {rule.id: rule for rule in available}
    missing = sorted(set(rule_ids) - set(by_id))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise RuleSetMismatch(f"this worker lacks rule(s) {shown}: start `skywarden worker --rules ...` with the "
                              "rule packs the scan uses")
    chosen = [by_id[rule_id] for rule_id in rule_ids]
    mine = rule_set_digest(chosen)
    if mine != digest:
        raise RuleSetMismatch(f"this worker's definitions of the scan's rules differ (rule set digest {mine}, "
                              f"the scan's {digest}): deploy the same rule packs and Skywarden version")
    return chosen


def evaluated_body(rules: Sequence[Rule], inventory: Inventory) -> dict[str, Any]:
    """The unit's compact result: rows, coverage and verdicts, resources referred to by their index."""
    resources = inventory.resources
    index = {id(resource): position for position, resource in enumerate(resources)}
    report = Engine(rules).evaluate(resources)
    passed: dict[str, list[int]] = defaultdict(list)
    not_applicable: dict[str, list[int]] = defaultdict(list)
    for evaluation in all_evaluations(report, resources):
        if evaluation.outcome is Outcome.PASS:
            passed[evaluation.rule.id].append(index[id(evaluation.resource)])
        elif evaluation.outcome is Outcome.NOT_APPLICABLE:
            not_applicable[evaluation.rule.id].append(index[id(evaluation.resource)])
    return {
        "provider": inventory.provider,
        "accounts": inventory.accounts,
        "regions": inventory.regions,
        "coverage": [unit.to_dict() for unit in inventory.coverage],
        "resources": [[r.provider, r.account_id, r.region, r.type, r.id, r.name, dict(r.tags), dict(r.properties)]
                      for r in resources],
        "failures": [[e.rule.id, index[id(e.resource)], e.detail, e.failure] for e in report.failures],
        "errors": [[e.rule.id, index[id(e.resource)], e.detail] for e in report.errors],
        "passed": passed,
        "not_applicable": not_applicable,
    }
