"""Passing checks of one scan as rows shaped like stored findings, so every output format can print them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skywarden.rules.model import Evaluation
from skywarden.storage.findings import finding_id

PASS = "PASS"
FAIL = "FAIL"


def pass_rows(evaluations: Iterable[Evaluation], at: str, scan_id: int) -> list[dict[str, Any]]:
    """One row per passing (rule, resource): no finding exists for them, so no number and no state."""
    rows = []
    for evaluation in evaluations:
        rule, resource = evaluation.rule, evaluation.resource
        rows.append({
            "id": finding_id(rule.id, resource.id),
            "number": None,
            "rule_id": rule.id,
            "title": rule.title,
            "severity": rule.severity,
            "provider": resource.provider,
            "account_id": resource.account_id,
            "region": resource.region,
            "resource_type": resource.type,
            "resource_id": resource.id,
            "resource_name": resource.name or None,
            "state": None,
            "status": PASS,
            "frameworks": {k: list(v) for k, v in rule.frameworks.items()},
            "first_seen": at,
            "last_seen": at,
            "last_scan_id": scan_id,
            "resolved_at": None,
            "detail": evaluation.detail,
        })
    rows.sort(key=lambda r: (r["rule_id"], r["resource_id"]))
    return rows
