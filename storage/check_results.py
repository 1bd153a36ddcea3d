"""The latest verdict per (rule, resource), passes included: the evidence compliance reports are built from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.rules.model import Evaluation


def record_check_results(
    db: sqlite_utils.Database, scan_id: int, evaluations: Iterable[Evaluation], at: str
) -> int:
    """Store a scan's verdicts, replacing older ones, and forget the verdicts on resources no longer in the
    inventory. Call inside the scan's reconcile transaction, after the inventory was saved. A row written
    by a scan whose snapshot is newer than this scan's is newer knowledge and stays."""
    counted = [0]

    def rows() -> Any:  # streamed: a distributed scan's verdicts come from its spool
        for e in evaluations:
            counted[0] += 1
            yield {
                "rule_id": e.rule.id,
                "resource_id": e.resource.id,
                "provider": e.resource.provider,
                "account_id": e.resource.account_id,
                "region": e.resource.region,
                "resource_type": e.resource.type,
                "resource_name": e.resource.name or None,
                "status": e.outcome.value,
                "detail": e.detail,
                "scan_id": scan_id,
                "evaluated_at": at,
            }

    db.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_checks AS SELECT * FROM check_results WHERE 0")
    db.execute("DELETE FROM incoming_checks")
    db["incoming_checks"].insert_all(rows(), batch_size=500)
    db.execute(
        """
        INSERT INTO check_results SELECT * FROM incoming_checks WHERE true
        ON CONFLICT(rule_id, resource_id) DO UPDATE SET provider=excluded.provider,
            account_id=excluded.account_id, region=excluded.region, resource_type=excluded.resource_type,
            resource_name=excluded.resource_name, status=excluded.status, detail=excluded.detail,
            scan_id=excluded.scan_id, evaluated_at=excluded.evaluated_at
        WHERE (SELECT COALESCE(snapshot_at, started_at) FROM scans WHERE id = check_results.scan_id)
           <= (SELECT COALESCE(snapshot_at, started_at) FROM scans WHERE id = excluded.scan_id)
        """
    )
    db.execute("DELETE FROM incoming_checks")
    db.execute("DELETE FROM check_results WHERE resource_id NOT IN (SELECT id FROM resources)")
    return counted[0]


def latest_check_results(db: sqlite_utils.Database, provider: str | None = None) -> list[dict[str, Any]]:
    """Every stored verdict (optionally of one provider), ordered by rule then resource. A database opened
    read-only before its migration to m009 has no such table yet: it has no verdicts."""
    if "check_results" not in db.table_names():
        return []
    sql = "SELECT * FROM check_results"
    params: list[Any] = []
    if provider:
        sql += " WHERE provider = ?"
        params.append(provider)
    return list(db.query(sql + " ORDER BY rule_id, resource_id", params))
