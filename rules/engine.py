"""Evaluate compiled rules over an inventory.

Only failures and errors are returned one by one: a passing (or not applicable) pair needs no record,
because reconcile resolves a finding when its rule did not fail on a resource that was collected.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.rules.conditions import ALL_READS
from skywarden.rules.model import Evaluation, Outcome, Rule

ERRORS_KEY = "_errors"  # mirrors scanners.model.ERRORS_KEY; rules never import the scanners


@dataclass
class EvaluationReport:
    failures: list[Evaluation] = field(default_factory=list)
    errors: list[Evaluation] = field(default_factory=list)
    counts: Counter[Outcome] = field(default_factory=Counter)
    evaluated_rules: tuple[Rule, ...] = ()

    @property
    def evaluated(self) -> int:
        return sum(self.counts.values())


class Engine:
    """Rules indexed by resource type, compiled once and reused for every resource of a scan."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        by_type: dict[str, list[Rule]] = defaultdict(list)
        for rule in self.rules:
            by_type[rule.resource_type].append(rule)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}

    @property
    def resource_types(self) -> frozenset[str]:
        return frozenset(self._by_type)

    def rules_for(self, resource_type: str) -> tuple[Rule, ...]:
        return self._by_type.get(resource_type, ())

    def evaluate(self, resources: Iterable[Any]) -> EvaluationReport:
        report = EvaluationReport(evaluated_rules=self.rules)
        counts: Counter[Outcome] = report.counts
        by_type = self._by_type
        for resource in resources:
            rules = by_type.get(resource.type)
            if not rules:
                continue
            props = resource.properties
            collect_errors = props.get(ERRORS_KEY)
            for rule in rules:
                outcome, detail = evaluate_one(rule, resource, props, collect_errors)
                counts[outcome] += 1
                if outcome is Outcome.FAIL:
                    report.failures.append(Evaluation(rule, resource, outcome, detail))
                elif outcome is Outcome.ERROR:
                    report.errors.append(Evaluation(rule, resource, outcome, detail))
        return report


def evaluate_one(
    rule: Rule, resource: Any, props: Any, collect_errors: dict[str, str] | None = None
) -> tuple[Outcome, str | None]:
    if collect_errors:
        blocked = sorted(k for k in collect_errors if k in rule.reads) or (
            sorted(collect_errors) if ALL_READS in rule.reads else []
        )
        if blocked:
            reasons = "; ".join(f"{k}: {collect_errors[k]}" for k in blocked)
            return Outcome.ERROR, f"could not collect {reasons}"
    try:
        if rule.where is not None and not rule.where(props, resource):
            return Outcome.NOT_APPLICABLE, None
        return (Outcome.PASS, None) if rule.check(props, resource) else (Outcome.FAIL, None)
    except Exception as exc:  # a type mismatch or a crashing Python check is an ERROR, never a silent pass
        return Outcome.ERROR, f"{type(exc).__name__}: {exc}"
