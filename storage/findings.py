"""Findings and their lifecycle, and the reconcile that turns one scan's evaluation into news.

Reconcile rules (one transaction per scan):
- a new failure opens a finding; a resolved (or remediated) finding that fails again is reopened;
- a finding still failing only gets ``last_seen``; acknowledged and suppressed findings keep their state;
- a finding whose rule did not fail is resolved only when the unit that collects its resource type in its
  account and region succeeded in this scan, and the rule did not ERROR on it; otherwise it is untouched;
- verdicts are ordered by snapshot (when the scan's collection started), not by commit: a finding whose state
  was decided by a newer snapshot, or by a remediation after this scan's snapshot (``observed_at``), keeps
  it, and a failure a newer, already committed scan saw passing in a unit it collected opens nothing. A slow
  scan that commits last therefore never reopens what a faster, newer scan resolved or a person remediated.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from skywarden.rules.engine import EvaluationReport
from skywarden.rules.model import SEVERITY_RANK
from skywarden.scanners.model import CollectionResult, Coverage, Inventory
from skywarden.storage import audit
from skywarden.storage.bulk import insert_rows
from skywarden.storage.db import dumps, loads
from skywarden.storage.inventory import save_inventory
from skywarden.storage.liveness import parse

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
SUPPRESSED = "suppressed"
RESOLVED = "resolved"
REMEDIATED = "remediated"
STATES = (OPEN, ACKNOWLEDGED, SUPPRESSED, RESOLVED, REMEDIATED)
ACTIVE_STATES = (OPEN, ACKNOWLEDGED, SUPPRESSED)  # the problem is (believed to be) still there
_CHUNK = 5000  # findings written per statement during reconcile


def finding_id(rule_id: str, resource_id: str) -> str:
    return hashlib.sha256(f"{rule_id}\0{resource_id}".encode()).hexdigest()[:20]


@dataclass
class ReconcileResult:
    new: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    untouched: int = 0
    superseded: int = 0  # verdicts ignored: a newer snapshot (or a remediation) decided these findings
    errors: int = 0
    resources_removed: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "reopened": len(self.reopened),
            "resolved": len(self.resolved),
            "still_failing": len(self.still_failing),
            "untouched": self.untouched,
            "superseded": self.superseded,
            "errors": self.errors,
        }


def reconcile(
    db: sqlite_utils.Database,
    scan_id: int,
    inventory: Inventory,
    report: EvaluationReport,
    at: str,
) -> ReconcileResult:
    result = ReconcileResult()
    covered = Coverage(inventory.coverage)
    rule_ids = {rule.id for rule in report.evaluated_rules}
    errored = {(e.rule.id, e.resource.id) for e in report.errors}
    result.errors = len(errored)
    with db.atomic():
        snapshot_text = _snapshot(db, scan_id)
        snapshot = parse(snapshot_text)
        newer = _newer_scans(db, inventory.provider, snapshot)
        seen_by_newer = Coverage(unit for _, units in newer for unit in units)
        result.resources_removed = save_inventory(db, scan_id, inventory.resources, inventory.coverage, at,
                                                  keep_scans=[scan for scan, _ in newer])
        existing = _existing(db, inventory.provider, list(inventory.accounts))

        def decided_later(row: sqlite3.Row) -> bool:
            observed = parse(row["observed_at"])
            return observed is not None and snapshot is not None and observed > snapshot

        next_number = _next_number(db)
        failing_ids: set[str] = set()
        # Written in chunks as the loop goes, so a scan with a million findings never holds a million row dicts.
        new_rows: list[dict[str, Any]] = []
        opened: list[tuple[str, str, str]] = []  # (finding, rule, resource) for the 'opened' events, in order
        still_failing: list[dict[str, Any]] = []
        frameworks: dict[str, str] = {}  # one JSON text per rule, not per finding

        def flush() -> None:
            if still_failing:
                # One statement per chunk of findings still failing (known rows: no existence check per row).
                columns = [name for name in still_failing[0] if name != "id"]
                db.conn.executemany(
                    f"UPDATE findings SET {', '.join(f'[{name}] = :{name}' for name in columns)} WHERE id = :id",
                    still_failing,
                )
                still_failing.clear()
            if new_rows:
                insert_rows(db, "findings", new_rows)
                opened.extend((row["id"], row["rule_id"], row["resource_id"]) for row in new_rows)
                new_rows.clear()

        # Numbers go to new findings in a fixed order, never in the order collector threads happened to finish:
        # the same estate scanned twice from scratch numbers its findings the same way.
        for evaluation in sorted(report.failures, key=_number_order):
            rule, resource = evaluation.rule, evaluation.resource
            fid = finding_id(rule.id, resource.id)
            if fid in failing_ids:
                continue
            failing_ids.add(fid)
            if rule.id not in frameworks:
                frameworks[rule.id] = dumps({k: list(v) for k, v in rule.frameworks.items()})
            current = existing.get(fid)
            if (current is not None and decided_later(current)) or (
                current is None and seen_by_newer.covers(resource.account_id, resource.type, resource.region)
            ):
                result.superseded += 1
                continue
            common = {
                "severity": rule.severity,
                "title": rule.title,
                "frameworks": frameworks[rule.id],
                "resource_name": resource.name,
                "last_seen": at,
                "last_scan_id": scan_id,
                "observed_at": snapshot_text,
                "detail": evaluation.detail,
                "failure": evaluation.failure,
            }
            if current is None:
                new_rows.append(
                    {
                        "id": fid,
                        "number": next_number,
                        "rule_id": rule.id,
                        "resource_id": resource.id,
                        "resource_type": resource.type,
                        "provider": resource.provider,
                        "account_id": resource.account_id,
                        "region": resource.region,
                        "state": OPEN,
                        "state_changed_at": at,
                        "state_changed_by": "system",
                        "first_seen": at,
                        "first_scan_id": scan_id,
                        "reopened_count": 0,
                        **common,
                    }
                )
                next_number += 1
                result.new.append(fid)
            elif current["state"] in (RESOLVED, REMEDIATED):
                db["findings"].update(
                    fid,
                    {
                        **common,
                        "state": OPEN,
                        "state_changed_at": at,
                        "state_changed_by": "system",
                        "resolved_at": None,
                        "reopened_count": current["reopened_count"] + 1,
                    },
                )
                audit.record(db, "reopened", finding_id=fid, scan_id=scan_id, at=at,
                             details={"previous_state": current["state"]})
                result.reopened.append(fid)
            else:
                still_failing.append({**common, "id": fid})
                result.still_failing.append(fid)
            if len(new_rows) + len(still_failing) >= _CHUNK:
                flush()
        flush()
        audit.record_many(db, "opened", ((fid, {"rule_id": rule_id, "resource_id": resource_id})
                                         for fid, rule_id, resource_id in opened), scan_id=scan_id, at=at)
        present = {resource.id for resource in inventory.resources}
        for fid, row in existing.items():
            if fid in failing_ids or row["state"] not in ACTIVE_STATES or row["rule_id"] not in rule_ids:
                continue
            if decided_later(row):
                result.superseded += 1
                continue
            if (row["rule_id"], row["resource_id"]) in errored or not covered.covers(
                row["account_id"], row["resource_type"], row["region"]
            ):
                result.untouched += 1
                continue
            reason = "rule passes" if row["resource_id"] in present else "resource no longer exists"
            db["findings"].update(
                fid,
                {"state": RESOLVED, "state_changed_at": at, "state_changed_by": "system", "resolved_at": at,
                 "last_scan_id": scan_id, "observed_at": snapshot_text, "detail": reason},
            )
            audit.record(db, "resolved", finding_id=fid, scan_id=scan_id, at=at,
                         details={"previous_state": row["state"], "reason": reason})
            result.resolved.append(fid)
    return result


def _number_order(evaluation: Any) -> tuple[str, ...]:
    # The name before the id: ids a cloud generates (sg-0f3..., random in an emulator) would reorder a rule's resources.
    resource = evaluation.resource
    return (evaluation.rule.id, resource.account_id, resource.region or "", resource.name or "", resource.id)


def _existing(db: sqlite_utils.Database, provider: str, accounts: list[str]) -> dict[str, sqlite3.Row]:
    """The accounts' stored findings by id, as ``sqlite3.Row`` (read by column name like a dict, at a fraction of
    a dict's memory: a large estate has a million of them)."""
    if not accounts:
        return {}
    marks = ",".join("?" for _ in accounts)
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    rows = cursor.execute(
        "SELECT id, rule_id, resource_id, resource_type, account_id, region, state, reopened_count, observed_at "
        f"FROM findings WHERE provider = ? AND account_id IN ({marks})",
        [provider, *accounts],
    )
    return {row["id"]: row for row in rows}


def _snapshot(db: sqlite_utils.Database, scan_id: int) -> str | None:
    """When the scan's collection started (older rows: when the scan started)."""
    row = db.execute("SELECT COALESCE(snapshot_at, started_at) FROM scans WHERE id = ?", [scan_id]).fetchone()
    return None if row is None else row[0]


def _newer_scans(
    db: sqlite_utils.Database, provider: str, snapshot: datetime | None
) -> list[tuple[int, list[CollectionResult]]]:
    """Committed scans of this provider whose snapshot is newer than ``snapshot``, with their good units."""
    if snapshot is None:
        return []
    # The SQL compares whole seconds (ISO text, UTC) to skip old scans cheaply; Python compares exactly.
    newer = [row["id"] for row in db.query(
        "SELECT id, COALESCE(snapshot_at, started_at) AS snapshot FROM scans WHERE provider = ? AND status IN "
        "('succeeded', 'partial') AND substr(COALESCE(snapshot_at, started_at), 1, 19) >= ?",
        [provider, snapshot.astimezone(UTC).isoformat(timespec="seconds")[:19]])
        if (parse(row["snapshot"]) or snapshot) > snapshot]
    result = []
    for newer_id in newer:
        units = [
            CollectionResult(provider, row["account_id"], row["service"], row["region"],
                             tuple(loads(row["resource_types"]) or ()), "ok")
            for row in db.query("SELECT account_id, service, region, resource_types FROM coverage "
                                "WHERE scan_id = ? AND status = 'ok'", [newer_id])
        ]
        result.append((newer_id, units))
    return result


def _next_number(db: sqlite_utils.Database) -> int:
    row = next(iter(db.query("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM findings")))
    return int(row["n"])


def query_findings(
    db: sqlite_utils.Database,
    states: Iterable[str] | None = None,
    severities: Iterable[str] | None = None,
    provider: str | None = None,
    accounts: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("state", states), ("severity", severities), ("account_id", accounts), ("id", ids)):
        if values is not None:
            values = list(values)
            where.append(f"{column} IN ({','.join('?' for _ in values)})" if values else "0")
            params.extend(values)
    if provider:
        where.append("provider = ?")
        params.append(provider)
    sql = "SELECT * FROM findings" + (" WHERE " + " AND ".join(where) if where else "")
    rows = [_decode(row) for row in db.query(sql, params)]
    rows.sort(key=lambda r: (SEVERITY_RANK.get(r["severity"], 99), r["rule_id"], r["resource_id"]))
    return rows


def get_finding(db: sqlite_utils.Database, ref: str) -> dict[str, Any] | None:
    """A finding by id first, then by its short number (an id can be all digits, rarely but really)."""
    rows = list(db.query("SELECT * FROM findings WHERE id = ?", [ref]))
    if not rows and ref.isascii() and ref.isdigit() and len(ref) <= 18:  # '²' or 10**30 is no number we store
        rows = list(db.query("SELECT * FROM findings WHERE number = ?", [int(ref)]))
    return _decode(rows[0]) if rows else None


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["frameworks"] = loads(row["frameworks"]) or {}
    return row


def set_state(
    db: sqlite_utils.Database, fid: str, state: str, by: str, at: str, from_states: Iterable[str] | None = None
) -> bool:
    """Change a finding's state (optionally only from given states); False when nothing matched."""
    sql = "UPDATE findings SET state = ?, state_changed_by = ?, state_changed_at = ?"
    params: list[Any] = [state, by, at]
    if state in (RESOLVED, REMEDIATED):
        sql += ", resolved_at = ?"
        params.append(at)
    # Only remediation changes states here, after acting on and re-reading the resource: that is the newest
    # knowledge of it, and a scan whose snapshot is older must not overturn it (see reconcile).
    sql += ", observed_at = ?"
    params.append(at)
    sql += " WHERE id = ?"
    params.append(fid)
    if from_states is not None:
        allowed = list(from_states)
        sql += f" AND state IN ({','.join('?' for _ in allowed)})"
        params.extend(allowed)
    return db.execute(sql, params).rowcount == 1
