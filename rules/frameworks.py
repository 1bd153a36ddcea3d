"""Framework catalogues (CIS, NIST 800-53, PCI DSS) kept as data in one generic shape."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
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
    """Which catalogue controls at least one rule checks: Prowler's 'controls with checks' view."""
    mapped: dict[str, list[str]] = {}
    for rule in rules:
        for control_id in rule.frameworks.get(framework.key, ()):
            mapped.setdefault(control_id, []).append(rule.id)
    automated = [c for c in framework.controls.values() if c.automated]
    return {
        "framework": framework.key,
        "controls": len(framework.controls),
        "automated": len(automated),
        "covered": sorted(mapped, key=_control_sort_key),
        "automated_uncovered": sorted((c.id for c in automated if c.id not in mapped), key=_control_sort_key),
        "rules_by_control": {k: sorted(v) for k, v in mapped.items()},
    }


def posture(
    framework: Framework, rules: Iterable[Rule], failing_rule_ids: Mapping[str, int]
) -> dict[str, Any]:
    """Per control: passing when none of its rules has an open failure."""
    controls: dict[str, dict[str, Any]] = {}
    for rule in rules:
        for control_id in rule.frameworks.get(framework.key, ()):
            entry = controls.setdefault(control_id, {"rules": [], "failing": 0})
            entry["rules"].append(rule.id)
            entry["failing"] += failing_rule_ids.get(rule.id, 0)
    passing = sum(1 for entry in controls.values() if entry["failing"] == 0)
    total = len(controls)
    return {
        "framework": framework.key,
        "name": framework.name,
        "controls_checked": total,
        "passing": passing,
        "failing": total - passing,
        "percent": round(100.0 * passing / total, 1) if total else 100.0,
        "controls": controls,
    }


def _control_sort_key(control_id: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for piece in control_id.replace("(", ".").replace(")", "").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def control_sort_key(control_id: str) -> tuple[Any, ...]:
    """Catalogue order for control ids: 1.2 before 1.10, AC-2 before AC-2(1) before AC-10."""
    return _control_sort_key(control_id)
