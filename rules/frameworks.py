"""Framework catalogues (CIS, NIST 800-53, PCI DSS) kept as data in one generic shape."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from skywarden.rules.model import Control, Framework, Rule
from skywarden.scanners import safe_yaml
from skywarden.scanners.errors import ConfigError

CATALOGUE_DIR = Path(__file__).parent / "frameworks"


def load_catalogues(directory: Path = CATALOGUE_DIR) -> dict[str, Framework]:
    """Every catalogue in ``directory``; parsed once per process (the NIST file alone takes a good part of a second)."""
    return dict(_load_catalogues(directory.resolve()))


@functools.lru_cache(maxsize=8)
def _load_catalogues(directory: Path) -> dict[str, Framework]:
    catalogues: dict[str, Framework] = {}
    for path in sorted(directory.glob("*.yaml")):
        framework = _load_catalogue(path)
        catalogues[framework.key] = framework
    return catalogues


def _load_catalogue(path: Path) -> Framework:
    try:
        data = safe_yaml.load_file(path)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read framework catalogue: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a catalogue must be a mapping")
    for key in ("key", "name", "version", "controls"):
        if key not in data:
            raise ConfigError(f"{path}: missing field {key!r}")
    controls: dict[str, Control] = {}
    for index, entry in enumerate(data["controls"]):
        if not isinstance(entry, dict) or "id" not in entry or "title" not in entry:
            raise ConfigError(f"{path}: controls[{index}] needs id and title")
        control_id = str(entry["id"])
        if control_id in controls:
            raise ConfigError(f"{path}: controls[{index}] duplicate id {control_id!r}")
        controls[control_id] = Control(
            id=control_id,
            title=str(entry["title"]),
            section=str(entry.get("section", "")),
            automated=bool(entry.get("automated", True)),
        )
    return Framework(key=str(data["key"]), name=str(data["name"]), version=str(data["version"]), controls=controls)


def framework_coverage(framework: Framework, rules: Iterable[Rule]) -> dict[str, Any]:
    """Which catalogue controls at least one rule checks: Prowler's 'controls with checks' view.

    The counts add up: ``controls = automated + manual`` and ``automated = checked + automated_uncovered``.
    Rules may also cite manual controls (supporting evidence only); those are listed, never counted as checked.
    """
    mapped: dict[str, list[str]] = {}
    for rule in rules:
        for control_id in rule.frameworks.get(framework.key, ()):
            mapped.setdefault(control_id, []).append(rule.id)
    automated = [c for c in framework.controls.values() if c.automated]
    checked = sorted((c.id for c in automated if c.id in mapped), key=control_sort_key)
    manual_cited = sorted((k for k in mapped if not framework.controls[k].automated), key=control_sort_key)
    return {
        "framework": framework.key,
        "name": framework.name,
        "controls": len(framework.controls),
        "automated": len(automated),
        "manual": len(framework.controls) - len(automated),
        "checked": checked,
        "covered": sorted(mapped, key=control_sort_key),
        "automated_uncovered": sorted((c.id for c in automated if c.id not in mapped), key=control_sort_key),
        "manual_cited": manual_cited,
        "rules_by_control": {k: sorted(mapped[k]) for k in sorted(mapped, key=control_sort_key)},
    }


PASSING, FAILING, NOT_EVALUATED = "passing", "failing", "not evaluated"


def posture(
    framework: Framework,
    rules: Iterable[Rule],
    failing_rule_ids: Mapping[str, int],
    evaluated_types: Collection[str] | None = None,
) -> dict[str, Any]:
    """Per automated control that a rule checks: failing when one of its rules has an open finding, not
    evaluated when none of its rules' resource types was ever collected (``evaluated_types``; None = assume
    all were), else passing. ``controls`` is ordered by control id (1.2 < 1.10) and carries each title.

    ``passing + failing + not_evaluated = controls_checked``; ``controls_checked + uncovered = automated``
    (automated controls no rule checks); ``automated + manual`` is the whole catalogue.
    """
    rules = list(rules)
    coverage = framework_coverage(framework, rules)
    by_id = {rule.id: rule for rule in rules}
    controls: dict[str, dict[str, Any]] = {}
    for control_id in coverage["checked"]:
        rule_ids = coverage["rules_by_control"][control_id]
        failing = sum(failing_rule_ids.get(rule_id, 0) for rule_id in rule_ids)
        seen = evaluated_types is None or any(by_id[r].resource_type in evaluated_types for r in rule_ids)
        status = FAILING if failing else PASSING if seen else NOT_EVALUATED
        controls[control_id] = {"title": framework.controls[control_id].title, "rules": rule_ids,
                                "failing": failing, "status": status}
    counts = {s: sum(1 for c in controls.values() if c["status"] == s) for s in (PASSING, FAILING, NOT_EVALUATED)}
    total = len(controls)
    return {
        "framework": framework.key,
        "name": framework.name,
        "automated": coverage["automated"],
        "manual": coverage["manual"],
        "controls_checked": total,
        "passing": counts[PASSING],
        "failing": counts[FAILING],
        "not_evaluated": counts[NOT_EVALUATED],
        "uncovered": len(coverage["automated_uncovered"]),
        "percent": round(100.0 * counts[PASSING] / total, 1) if total else 100.0,
        "controls": controls,
    }


def posture_summary(view: Mapping[str, Any]) -> str:
    """One line whose numbers add up, for people (CLI, demo; the Slack reply escapes the name itself)."""
    return (
        f"{view['passing']} of {view['controls_checked']} checked controls passing ({view['percent']}%),"
        f" {view['failing']} failing, {view['not_evaluated']} not evaluated;"
        f" {view['uncovered']} automated without a rule; {view['manual']} manual (not checkable by a cloud API)"
    )


def control_sort_key(control_id: str) -> tuple[Any, ...]:
    """Numeric order: 1.2 < 1.10, 2.1.3 < 2.1.4, AC-2 < AC-2(1) < AC-10, A1 after 12."""
    parts: list[Any] = []
    for piece in control_id.replace("(", ".").replace(")", "").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)

