"""A framework's compliance, control by control, from the latest verdict of every rule on every resource.

A control is
- ``manual`` when the catalogue says it cannot be automated;
- ``fail`` when any of its rules fails on any resource;
- ``not evaluated`` when no rule checks it, a check could not be evaluated (ERROR) and nothing failed,
  or no resource it applies to was collected;
- ``pass`` otherwise: at least one resource passed and nothing failed or errored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.rules.frameworks import control_sort_key
from skywarden.rules.model import Framework, Rule

PASS = "pass"
FAIL = "fail"
MANUAL = "manual"
NOT_EVALUATED = "not evaluated"
STATUSES = (PASS, FAIL, MANUAL, NOT_EVALUATED)


@dataclass(frozen=True)
class Posture:
    """Control counts per status for one framework (or one section of it): what a posture bar shows."""

    name: str
    passed: int = 0
    failed: int = 0
    manual: int = 0
    not_evaluated: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.manual + self.not_evaluated

    @property
    def percent(self) -> float:
        """Passing share of the controls that were decided (pass or fail)."""
        decided = self.passed + self.failed
        return round(100.0 * self.passed / decided, 1) if decided else 0.0


@dataclass
class ControlResult:
    id: str
    title: str
    section: str
    status: str
    reason: str
    rules: list[str] = field(default_factory=list)
    # The verdicts behind the status: pass, fail and error rows of check_results (not applicable left out).
    resources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ComplianceReport:
    framework: Framework
    controls: list[ControlResult]
    generated_at: str
    accounts: list[str]

    def posture(self, name: str | None = None, controls: Iterable[ControlResult] | None = None) -> Posture:
        counts = Counter(c.status for c in (self.controls if controls is None else controls))
        return Posture(name or self.title, counts[PASS], counts[FAIL], counts[MANUAL],
                       counts[NOT_EVALUATED])

    @property
    def title(self) -> str:
        """The catalogue's name and version: two versions of one benchmark must not look alike."""
        version = self.framework.version
        return f"{self.framework.name} {'v' + version if version[:1].isdigit() else version}"

    def sections(self) -> list[tuple[str, list[ControlResult]]]:
        """Controls grouped by catalogue section, in catalogue order."""
        grouped: dict[str, list[ControlResult]] = {}
        for control in self.controls:
            grouped.setdefault(control.section or "-", []).append(control)
        return list(grouped.items())


def build_report(
    framework: Framework,
    rules: Iterable[Rule],
    results: Iterable[Mapping[str, Any]],
    generated_at: str,
    accounts: Sequence[str] | None = None,
) -> ComplianceReport:
    """``results`` are check_results rows (storage.check_results.latest_check_results); ``accounts`` limits
    them to these account ids."""
    rules_by_control: dict[str, list[str]] = {}
    for rule in rules:
        for control_id in rule.frameworks.get(framework.key, ()):
            rules_by_control.setdefault(control_id, []).append(rule.id)
    wanted_rules = {rule_id for ids in rules_by_control.values() for rule_id in ids}
    by_rule: dict[str, list[dict[str, Any]]] = {}
    seen_accounts: set[str] = set()
    for row in results:
        if row["rule_id"] not in wanted_rules or (accounts and row["account_id"] not in accounts):
            continue
        by_rule.setdefault(row["rule_id"], []).append(dict(row))
        seen_accounts.add(row["account_id"])
    controls = [
        _control(control.id, control.title, control.section, control.automated,
                 sorted(rules_by_control.get(control.id, [])), by_rule)
        for control in sorted(framework.controls.values(), key=lambda c: control_sort_key(c.id))
    ]
    return ComplianceReport(framework, controls, generated_at, sorted(seen_accounts))


def _control(control_id: str, title: str, section: str, automated: bool, rule_ids: list[str],
             by_rule: Mapping[str, list[dict[str, Any]]]) -> ControlResult:
    rows = [row for rule_id in rule_ids for row in by_rule.get(rule_id, [])]
    counts = Counter(row["status"] for row in rows)
    shown = sorted((row for row in rows if row["status"] != "not_applicable"),
                   key=lambda r: ({"fail": 0, "error": 1, "pass": 2}[r["status"]], r["rule_id"], r["resource_id"]))
    if not automated:
        status, reason = MANUAL, "assessed by hand (the catalogue marks it manual)"
    elif not rule_ids:
        status, reason = NOT_EVALUATED, "no rule checks this control yet"
    elif counts["fail"]:
        status, reason = FAIL, f"{counts['fail']} failing, {counts['pass']} passing"
    elif counts["error"]:
        status, reason = NOT_EVALUATED, f"{counts['error']} check(s) could not be evaluated"
    elif counts["pass"]:
        status, reason = PASS, f"{counts['pass']} passing"
    elif counts["not_applicable"]:
        status, reason = NOT_EVALUATED, "no resource it applies to"
    else:
        status, reason = NOT_EVALUATED, "not scanned yet (no resource of this type collected)"
    return ControlResult(control_id, title, section, status, reason, rule_ids, shown)


def framework_postures(
    frameworks: Iterable[Framework],
    rules: Sequence[Rule],
    results: Sequence[Mapping[str, Any]],
    generated_at: str,
    only_scanned: bool = True,
) -> list[Posture]:
    """One Posture per framework (what ``bot.charts.render_posture_png`` draws); with ``only_scanned``, only
    the frameworks at least one stored verdict speaks to (a CIS GCP bar means nothing to an AWS-only shop)."""
    postures = []
    for framework in frameworks:
        report = build_report(framework, rules, results, generated_at)
        if not only_scanned or report.accounts:
            postures.append(report.posture())
    return postures
