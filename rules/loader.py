"""Load rule packs, validating structure and semantics; every problem names the file, the rule and the field.

A file holds either one rule (a mapping with ``id``) or a pack (``rules: [...]``). A pack directory is
searched recursively for ``*.yaml``/``*.yml``. Loading is all-or-nothing: a scan never runs with a rule
that failed validation silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from skywarden.rules.checks import load_all as load_checks
from skywarden.rules.conditions import compile_condition
from skywarden.rules.frameworks import load_catalogues
from skywarden.rules.model import SEVERITIES, Framework, Rule
from skywarden.scanners import safe_yaml
from skywarden.scanners.errors import RulePackError, RuleValidationError

BUILTIN_PACKS = Path(__file__).parent / "packs"

REQUIRED = ("id", "title", "severity", "resource", "check", "frameworks")
OPTIONAL = ("description", "remediation", "where", "tags")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_RESOURCE_TYPE = re.compile(r"^(aws|azure|gcp)\.[a-z0-9_]+(\.[a-z0-9_]+)+$")


def rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_rules(
    paths: Iterable[Path] | None = None,
    catalogues: dict[str, Framework] | None = None,
    known_actions: Iterable[str] | None = None,
) -> list[Rule]:
    """Load and validate every rule; raise RulePackError listing all problems if any rule is bad."""
    load_checks()
    catalogues = load_catalogues() if catalogues is None else catalogues
    actions = set(known_actions) if known_actions is not None else None
    errors: list[RuleValidationError] = []
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for file in rule_files([BUILTIN_PACKS] if paths is None else paths):
        for rule in _load_file(file, catalogues, actions, errors):
            if rule.id in seen:
                errors.append(
                    RuleValidationError(str(file), rule.id, "id", f"duplicate rule id, also in {seen[rule.id]}")
                )
                continue
            seen[rule.id] = str(file)
            rules.append(rule)
    if errors:
        raise RulePackError(errors)
    return rules


def _load_file(
    file: Path, catalogues: dict[str, Framework], actions: set[str] | None, errors: list[RuleValidationError]
) -> list[Rule]:
    name = str(file)
    try:
        data = safe_yaml.load_file(file)
    except OSError as exc:
        errors.append(RuleValidationError(name, None, None, f"cannot read: {exc.strerror or exc}"))
        return []
    except safe_yaml.YamlLimitError as exc:
        errors.append(RuleValidationError(name, None, None, str(exc)))
        return []
    except yaml.YAMLError as exc:
        errors.append(RuleValidationError(name, None, None, f"invalid YAML: {exc}"))
        return []
    if isinstance(data, dict) and "rules" in data and "id" not in data:
        extra = sorted(set(data) - {"rules"})
        if extra:
            errors.append(RuleValidationError(name, None, extra[0], "a pack file holds only 'rules'"))
        entries = data["rules"]
        if not isinstance(entries, list):
            errors.append(RuleValidationError(name, None, "rules", "must be a list of rules"))
            return []
    elif isinstance(data, dict):
        entries = [data]
    else:
        errors.append(RuleValidationError(name, None, None, "a rule file must be a mapping (one rule or 'rules:')"))
        return []
    rules = []
    for index, entry in enumerate(entries):
        rule = _build_rule(name, index, entry, catalogues, actions, errors)
        if rule is not None:
            rules.append(rule)
    return rules


def _build_rule(
    file: str,
    index: int,
    entry: Any,
    catalogues: dict[str, Framework],
    actions: set[str] | None,
    errors: list[RuleValidationError],
) -> Rule | None:
    if not isinstance(entry, dict):
        errors.append(RuleValidationError(file, f"#{index}", None, "a rule must be a mapping"))
        return None
    rule_id = entry.get("id")
    label = str(rule_id) if rule_id else f"#{index}"
    before = len(errors)

    def problem(field: str | None, message: str) -> None:
        errors.append(RuleValidationError(file, label, field, message))

    for key in REQUIRED:
        if key not in entry:
            problem(key, "missing required field")
    for key in sorted(set(entry) - set(REQUIRED) - set(OPTIONAL)):
        problem(key, "unknown field")
    if rule_id is not None and (not isinstance(rule_id, str) or not _ID.match(rule_id)):
        problem("id", "must be lowercase letters, digits, '.', '_' or '-'")
    for key in ("title", "description"):
        if key in entry and not isinstance(entry[key], str):
            problem(key, "must be a string")
    severity = entry.get("severity")
    if "severity" in entry and severity not in SEVERITIES:
        problem("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    resource_type = entry.get("resource")
    if "resource" in entry and (not isinstance(resource_type, str) or not _RESOURCE_TYPE.match(resource_type)):
        problem("resource", f"{resource_type!r} is not a resource type such as aws.s3.bucket")
    frameworks = _frameworks(entry.get("frameworks"), catalogues, problem) if "frameworks" in entry else {}
    guidance, action = _remediation(entry.get("remediation"), actions, problem)

    reads: set[str] = set()
    condition_errors: list[tuple[str, str]] = []
    check = compile_condition(entry["check"], "check", condition_errors, reads) if "check" in entry else None
    where = None
    if "where" in entry:
        where = compile_condition(entry["where"], "where", condition_errors, reads)
    for field, message in condition_errors:
        problem(field, message)
    if len(errors) > before or check is None:
        return None
    return Rule(
        id=str(rule_id),
        title=entry["title"],
        description=entry.get("description", ""),
        severity=severity,
        resource_type=resource_type,
        frameworks=frameworks,
        remediation_guidance=guidance,
        remediation_action=action,
        source_file=file,
        check=check,
        where=where,
        reads=frozenset(reads),
        raw=entry,
    )


def _frameworks(value: Any, catalogues: dict[str, Framework], problem: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not value:
        problem("frameworks", "must map framework keys to lists of control ids")
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for key, controls in value.items():
        if key not in catalogues:
            problem(f"frameworks.{key}", f"unknown framework key; known: {', '.join(sorted(catalogues))}")
            continue
        if not isinstance(controls, list) or not controls:
            problem(f"frameworks.{key}", "must be a non-empty list of control ids")
            continue
        ids = tuple(str(c) for c in controls)
        for control_id in ids:
            if control_id not in catalogues[key].controls:
                problem(f"frameworks.{key}", f"control {control_id!r} is not in the {key} catalogue")
        result[key] = ids
    return result


def _remediation(value: Any, actions: set[str] | None, problem: Any) -> tuple[str, str | None]:
    if value is None:
        return "", None
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict):
        problem("remediation", "must be a string or a mapping with guidance and action")
        return "", None
    for key in sorted(set(value) - {"guidance", "action"}):
        problem(f"remediation.{key}", "unknown field")
    guidance = value.get("guidance", "")
    if not isinstance(guidance, str):
        problem("remediation.guidance", "must be a string")
        guidance = ""
    action = value.get("action")
    if action is not None and not isinstance(action, str):
        problem("remediation.action", "must be the name of a remediation action")
        action = None
    if action is not None and actions is not None and action not in actions:
        problem("remediation.action", f"unknown remediation action {action!r}")
    return guidance, action
