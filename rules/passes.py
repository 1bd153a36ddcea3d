"""Every verdict of an evaluation, passes included, without evaluating any check twice.

The engine keeps only failures and errors (reconcile needs nothing else). Pass evidence and compliance
reports need the rest: a pair that neither failed nor errored passed, unless the rule's ``where`` excludes the
resource (then it is not applicable). Only that cheap filter is run again; a ``where`` that raised made the
pair an ERROR in the first place, so it is never re-run on such a pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from skywarden.rules.engine import EvaluationReport
from skywarden.rules.model import Evaluation, Outcome, Rule


def all_evaluations(report: EvaluationReport, resources: Iterable[Any]) -> Iterator[Evaluation]:
    """One Evaluation per (rule, resource) the report's rules apply to: failures and errors as the engine
    recorded them (with their detail), the other pairs as PASS or NOT_APPLICABLE."""
    by_type: dict[str, list[Rule]] = defaultdict(list)
    for rule in report.evaluated_rules:
        by_type[rule.resource_type].append(rule)
    recorded = {(e.rule.id, e.resource.id): e for e in (*report.failures, *report.errors)}
    for resource in resources:
        for rule in by_type.get(resource.type, ()):
            known = recorded.get((rule.id, resource.id))
            if known is not None:
                yield known
            elif rule.where is not None and not rule.where(resource.properties, resource):
                yield Evaluation(rule, resource, Outcome.NOT_APPLICABLE)
            else:
                yield Evaluation(rule, resource, Outcome.PASS)


def passes(report: EvaluationReport, resources: Iterable[Any]) -> list[Evaluation]:
    """The passing pairs only, in inventory order."""
    return [e for e in all_evaluations(report, resources) if e.outcome is Outcome.PASS]
