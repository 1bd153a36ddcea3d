"""The scanning process's side of a distributed scan: each unit's result is decoded as it arrives and
written to a spool (a temporary SQLite file, not the ledger), so the process holds one unit's result at a
time plus what reconcile needs in memory: coverage, failures and errors (each naming its resource, without
its properties). Inventory rows and verdicts are read back from the spool inside the reconcile transaction.

A result is checked whole before anything of it is kept: a rule id the scan did not ask for, or a resource
index out of range, refuses the unit (it becomes failed coverage), never half of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.rules.engine import EvaluationReport
from skywarden.rules.model import Evaluation, Outcome, Rule
from skywarden.scanners.model import CollectionResult, Inventory, Resource
from skywarden.storage.spool import Spool


class MalformedResult(ValueError):
    pass


class SpooledResources:
    """The gathered inventory's resources, read from the spool each time they are iterated."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def __len__(self) -> int:
        return self._spool.count

    def __iter__(self) -> Iterator[Resource]:
        return self._spool.resources()


@dataclass
class GatheredInventory(Inventory):
    """An inventory whose rules were evaluated by workers: run_scan takes ``report`` and ``evaluations()``
    from it instead of evaluating again."""

    report: EvaluationReport = field(default_factory=EvaluationReport)
    spool: Spool | None = None

    def evaluations(self) -> Iterator[Evaluation]:
        assert self.spool is not None
        return self.spool.evaluations({rule.id: rule for rule in self.report.evaluated_rules})


class Gatherer:
    """Folds unit results into one GatheredInventory as they arrive."""

    def __init__(self, provider: str, rules: Sequence[Rule], spool_dir: str | None = None) -> None:
        self.rules = {rule.id: rule for rule in rules}
        self.spool = Spool(spool_dir)
        self.inventory = GatheredInventory(provider=provider, report=EvaluationReport(evaluated_rules=tuple(rules)),
                                           spool=self.spool)
        self.inventory.resources = SpooledResources(self.spool)  # type: ignore[assignment]
        self._regions: set[str] = set()

    def add_failed(self, coverage: Sequence[CollectionResult], accounts: Mapping[str, str]) -> None:
        self.inventory.coverage.extend(coverage)
        self.inventory.accounts.update(accounts)

    def add(self, body: Mapping[str, Any]) -> list[CollectionResult]:
        """Keep one unit's result; its coverage rows are returned. Raises MalformedResult, keeping nothing."""
        try:
            rows, coverage, verdicts, failures, errors = self._checked(body)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise MalformedResult(f"malformed unit result: {type(exc).__name__}: {exc}") from None
        self.spool.add(rows, verdicts)
        report, inventory = self.inventory.report, self.inventory
        for rule_id, i, evidence, headline in failures:
            report.failures.append(Evaluation(self.rules[rule_id], _identity(rows[i]), Outcome.FAIL, evidence,
                                              headline))
        for rule_id, i, detail in errors:
            report.errors.append(Evaluation(self.rules[rule_id], _identity(rows[i]), Outcome.ERROR, detail))
        report.counts.update(Counter(Outcome(status) for _, _, status, _ in verdicts))
        inventory.coverage.extend(coverage)
        inventory.accounts.update({str(k): str(v) for k, v in body["accounts"].items()})
        self._regions.update(body["regions"])
        inventory.regions = sorted(self._regions)
        return coverage

    def _checked(self, body: Mapping[str, Any]) -> tuple[Any, ...]:
        rows = body["resources"]
        for row in rows:
            if len(row) != 8 or not all(isinstance(v, str) for v in row[:6]):
                raise ValueError(f"resource row {str(row)[:80]!r} is not (provider, account, region, type, id, "
                                 "name, tags, properties)")
        coverage = [CollectionResult(c["provider"], c["account_id"], c["service"], c["region"],
                                     tuple(c["resource_types"]), c["status"], c["error_class"], c["message"],
                                     int(c["resource_count"]), float(c["duration_s"])) for c in body["coverage"]]

        def known(rule_id: str, i: int) -> None:
            if rule_id not in self.rules:
                raise ValueError(f"rule {rule_id!r} was not asked for")
            if not 0 <= int(i) < len(rows):
                raise IndexError(f"resource index {i} out of range for {len(rows)} resources")

        failures = [(str(r), int(i), e, h) for r, i, e, h in body["failures"]]
        errors = [(str(r), int(i), d) for r, i, d in body["errors"]]
        verdicts: list[tuple[str, int, str, str | None]] = []
        verdicts += [(r, i, Outcome.FAIL.value, e) for r, i, e, _ in failures]
        verdicts += [(r, i, Outcome.ERROR.value, d) for r, i, d in errors]
        for key, outcome in (("passed", Outcome.PASS), ("not_applicable", Outcome.NOT_APPLICABLE)):
            verdicts += [(str(r), int(i), outcome.value, None) for r, indices in body[key].items() for i in indices]
        for rule_id, i, _, _ in verdicts:
            known(rule_id, i)
        return rows, coverage, verdicts, failures, errors


def _identity(row: Sequence[Any]) -> Resource:
    # What reconcile and the summary read of a failing resource; its properties stay in the spool.
    return Resource(row[0], row[1], row[2], row[3], row[4], row[5])
