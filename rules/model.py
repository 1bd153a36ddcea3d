"""Rules, their outcomes, and the framework catalogue shape."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"


# A compiled condition: takes a resource's properties (and the Resource for Python checks).
Predicate = Callable[[Mapping[str, Any], Any], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    description: str
    severity: str
    resource_type: str
    frameworks: Mapping[str, tuple[str, ...]]
    remediation_guidance: str
    remediation_action: str | None
    source_file: str
    check: Predicate = field(repr=False, compare=False)
    where: Predicate | None = field(default=None, repr=False, compare=False)
    # Top-level property names the rule reads; a collector error on one of them makes the rule ERROR.
    reads: frozenset[str] = frozenset()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # rules.evidence renderers: the `failure:` headline, the `message:` evidence, and the condition explainer.
    failure: Callable[[Any], str] | None = field(default=None, repr=False, compare=False)
    message: Callable[[Any], str] | None = field(default=None, repr=False, compare=False)
    explain: Callable[[Mapping[str, Any], Any], list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def provider(self) -> str:
        return self.resource_type.split(".", 1)[0]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "resource_type": self.resource_type,
            "severity": self.severity,
            "frameworks": {k: list(v) for k, v in self.frameworks.items()},
            "remediation_action": self.remediation_action,
            "file": self.source_file,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    rule: Rule
    resource: Any  # scanners.model.Resource; typed loosely so rules never import scanners at runtime
    outcome: Outcome
    detail: str | None = None  # a FAIL's evidence, an ERROR's reason
    failure: str | None = None  # a FAIL's headline: what is wrong, e.g. "S3 bucket acme-logs is publicly readable"


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    title: str
    section: str
    automated: bool


@dataclass(frozen=True, slots=True)
class Framework:
    key: str
    name: str
    version: str
    controls: Mapping[str, Control]
