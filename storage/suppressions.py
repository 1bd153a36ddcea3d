"""Decisions on findings: acknowledge, suppress (an exception with who/why/until/scope), revoke, expiry.

Every state change is a conditional ``UPDATE ... WHERE state IN (...)`` inside ``BEGIN IMMEDIATE``, so a
double click or two people deciding at once has exactly one effect: the loser's update matches no row.

Scopes: ``resource`` (this rule on this resource) and ``rule`` (this rule on every resource of one account).
An exception ends once, by revocation, expiry or removal from suppressions.yml; ``apply_exceptions`` (run
right after each scan's reconcile) ends the expired ones, reopens the findings no exception covers any more,
and suppresses active findings a live exception covers (new resources under a rule-wide exception).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from skywarden.storage import audit
from skywarden.storage.findings import ACKNOWLEDGED, OPEN, SUPPRESSED, get_finding

SCOPES = ("resource", "rule")
SOURCES = ("slack", "console", "code")

# An exception row `e` covers a finding row `f` (used inside larger statements).
_COVERS = (
    "e.ended_at IS NULL AND (e.expires_at IS NULL OR e.expires_at > :at) AND e.rule_id = f.rule_id AND "
    "((e.scope = 'resource' AND e.resource_id = f.resource_id) OR "
    "(e.scope = 'rule' AND e.provider = f.provider AND e.account_id = f.account_id))"
)


def find_finding(db: sqlite_utils.Database, ref: str) -> dict[str, Any] | None:
    """A finding by id first, then by short number (kept for the bot's callers; see get_finding)."""
    return get_finding(db, ref)


@dataclass
class Decision:
    """What a decision did. ``ok`` False means nothing changed; ``message`` says why, for the person."""

    ok: bool
    message: str
    finding: dict[str, Any] | None = None
    affected: list[str] = field(default_factory=list)  # finding ids whose state changed
    exception_id: int | None = None


@dataclass
class ExceptionSync:
    expired: list[int] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)


@contextmanager
def _immediate(db: sqlite_utils.Database) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front: a concurrent decision waits (busy timeout) instead of
    # failing on a stale read snapshot.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _describe_state(finding: dict[str, Any]) -> str:
    who = finding.get("state_changed_by") or "system"
    by = "" if who == "system" else f" by {who}"
    return f"finding #{finding['number']} is already {finding['state']}{by} (since {finding['state_changed_at']})"


def acknowledge(db: sqlite_utils.Database, ref: str, actor: str, at: str) -> Decision:
    finding = find_finding(db, ref)
    if finding is None:
        return Decision(False, f"no finding {ref}")
    with _immediate(db):
        changed = db.execute(
            "UPDATE findings SET state = ?, state_changed_at = ?, state_changed_by = ? WHERE id = ? AND state = ?",
            [ACKNOWLEDGED, at, actor, finding["id"], OPEN],
        ).rowcount
        if changed:
            audit.record(db, "acknowledged", actor, finding_id=finding["id"], at=at)
    fresh = find_finding(db, finding["id"])
    if not changed:
        return Decision(False, _describe_state(fresh or finding), fresh)
    return Decision(True, f"finding #{finding['number']} acknowledged", fresh, [finding["id"]])


def suppress(
    db: sqlite_utils.Database,
    ref: str,
    actor: str,
    reason: str,
    expires_at: str | None,
    at: str,
    scope: str = "resource",
    source: str = "slack",
) -> Decision:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    if not reason.strip():
        return Decision(False, "a suppression needs a reason")
    finding = find_finding(db, ref)
    if finding is None:
        return Decision(False, f"no finding {ref}")
    with _immediate(db):
        changed = db.execute(
            "UPDATE findings SET state = ?, state_changed_at = ?, state_changed_by = ? "
            "WHERE id = ? AND state IN (?, ?)",
            [SUPPRESSED, at, actor, finding["id"], OPEN, ACKNOWLEDGED],
        ).rowcount
        if not changed:
            exception_id = None
            affected: list[str] = []
        else:
            exception_id = _insert_exception(
                db, scope, finding["rule_id"], finding["provider"], finding["account_id"],
                finding["resource_id"] if scope == "resource" else None, finding["id"], reason.strip(), actor, at,
                expires_at, source,
            )
            affected = [finding["id"]]
            if scope == "rule":
                others = [
                    row["id"]
                    for row in db.query(
                        "SELECT id FROM findings WHERE rule_id = ? AND provider = ? AND account_id = ? "
                        "AND state IN (?, ?) AND id != ?",
                        [finding["rule_id"], finding["provider"], finding["account_id"], OPEN, ACKNOWLEDGED,
                         finding["id"]],
                    )
                ]
                _set_state(db, others, SUPPRESSED, actor, at, (OPEN, ACKNOWLEDGED))
                affected += others
            for fid in affected:
                audit.record(db, "suppressed", actor, finding_id=fid, at=at,
                             details={"exception_id": exception_id, "reason": reason.strip(),
                                      "until": expires_at, "scope": scope, "source": source})
    fresh = find_finding(db, finding["id"])
    if not changed:
        return Decision(False, _describe_state(fresh or finding), fresh)
    return Decision(True, f"finding #{finding['number']} suppressed", fresh, affected, exception_id)


def _insert_exception(
    db: sqlite_utils.Database, scope: str, rule_id: str, provider: str, account_id: str, resource_id: str | None,
    finding_id: str | None, reason: str, actor: str, at: str, expires_at: str | None, source: str,
    code_key: str | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO exceptions (scope, rule_id, provider, account_id, resource_id, finding_id, reason, created_by,"
        " created_at, expires_at, source, code_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [scope, rule_id, provider, account_id, resource_id, finding_id, reason, actor, at, expires_at, source,
         code_key],
    )
    return int(cursor.lastrowid or 0)


def _set_state(
    db: sqlite_utils.Database, ids: Iterable[str], state: str, actor: str, at: str, from_states: tuple[str, ...]
) -> list[str]:
    changed = []
    marks = ",".join("?" for _ in from_states)
    for fid in ids:
        if db.execute(
            f"UPDATE findings SET state = ?, state_changed_at = ?, state_changed_by = ? WHERE id = ? "
            f"AND state IN ({marks})",
            [state, at, actor, fid, *from_states],
        ).rowcount:
            changed.append(fid)
    return changed


def get_exception(db: sqlite_utils.Database, exception_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM exceptions WHERE id = ?", [exception_id]))
    return rows[0] if rows else None


def revoke(db: sqlite_utils.Database, exception_id: int, actor: str, at: str) -> Decision:
    """End an exception now; the findings it alone covered are open again at once."""
    exception = get_exception(db, exception_id)
    if exception is None:
        return Decision(False, f"no suppression {exception_id}")
    if exception["source"] == "code":
        return Decision(False, f"suppression {exception_id} is kept in suppressions.yml: remove it there")
    with _immediate(db):
        changed = db.execute(
            "UPDATE exceptions SET ended_at = ?, ended_by = ?, end_reason = 'revoked' "
            "WHERE id = ? AND ended_at IS NULL",
            [at, actor, exception_id],
        ).rowcount
        reopened: list[str] = []
        if changed:
            audit.record(db, "suppression_revoked", actor, finding_id=exception["finding_id"], at=at,
                         details={"exception_id": exception_id})
            reopened = _reopen_uncovered(db, at, actor, "revoked", exception_id)
    if not changed:
        fresh = get_exception(db, exception_id) or exception
        return Decision(False, f"suppression {exception_id} already ended ({fresh['end_reason']} by "
                               f"{fresh['ended_by']} at {fresh['ended_at']})")
    return Decision(True, f"suppression {exception_id} revoked", affected=reopened, exception_id=exception_id)


def _reopen_uncovered(
    db: sqlite_utils.Database, at: str, actor: str, why: str, exception_id: int | None = None
) -> list[str]:
    """Suppressed findings no live exception covers any more go back to open."""
    sql = (
        "SELECT f.id FROM findings f WHERE f.state = :suppressed"
        f" AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE {_COVERS})"
    )
    params: dict[str, Any] = {"suppressed": SUPPRESSED, "at": at}
    if exception_id is not None:
        # Only the findings this exception was covering.
        sql += (
            " AND EXISTS (SELECT 1 FROM exceptions x WHERE x.id = :xid AND x.rule_id = f.rule_id AND"
            " ((x.scope = 'resource' AND x.resource_id = f.resource_id) OR"
            " (x.scope = 'rule' AND x.provider = f.provider AND x.account_id = f.account_id)))"
        )
        params["xid"] = exception_id
    ids = [row["id"] for row in db.query(sql, params)]
    reopened = _set_state(db, ids, OPEN, actor, at, (SUPPRESSED,))
    for fid in reopened:
        audit.record(db, "unsuppressed", actor, finding_id=fid, at=at, details={"reason": why})
    return reopened


def apply_exceptions(db: sqlite_utils.Database, at: str, scan_id: int | None = None) -> ExceptionSync:
    """Run after reconcile: end expired exceptions, reopen what they covered, suppress what live ones cover."""
    sync = ExceptionSync()
    with _immediate(db):
        expired = [
            row["id"]
            for row in db.query(
                "SELECT id FROM exceptions WHERE ended_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?",
                [at],
            )
        ]
        for exception_id in expired:
            db.execute(
                "UPDATE exceptions SET ended_at = ?, ended_by = 'system', end_reason = 'expired' WHERE id = ?",
                [at, exception_id],
            )
            audit.record(db, "suppression_expired", scan_id=scan_id, at=at, details={"exception_id": exception_id})
        sync.expired = expired
        sync.reopened = _reopen_uncovered(db, at, "system", "suppression ended")
        covered = list(
            db.query(
                f"SELECT f.id, (SELECT e.id FROM exceptions e WHERE {_COVERS} ORDER BY e.id LIMIT 1) AS exception_id,"
                f" (SELECT e.created_by FROM exceptions e WHERE {_COVERS} ORDER BY e.id LIMIT 1) AS by"
                " FROM findings f WHERE f.state IN (:open, :ack)"
                f" AND EXISTS (SELECT 1 FROM exceptions e WHERE {_COVERS})",
                {"at": at, "open": OPEN, "ack": ACKNOWLEDGED},
            )
        )
        for row in covered:
            if _set_state(db, [row["id"]], SUPPRESSED, row["by"], at, (OPEN, ACKNOWLEDGED)):
                sync.suppressed.append(row["id"])
                audit.record(db, "suppressed", row["by"], finding_id=row["id"], scan_id=scan_id, at=at,
                             details={"exception_id": row["exception_id"], "by_existing_exception": True})
    return sync


def list_exceptions(
    db: sqlite_utils.Database, at: str, active: bool = True, expiring_before: str | None = None
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM exceptions"
    where: list[str] = []
    params: list[Any] = []
    if active:
        where.append("ended_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
        params.append(at)
    if expiring_before:
        where.append("expires_at IS NOT NULL AND expires_at <= ?")
        params.append(expiring_before)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return list(db.query(sql + " ORDER BY expires_at IS NULL, expires_at, id", params))


def exception_for(db: sqlite_utils.Database, finding: dict[str, Any], at: str) -> dict[str, Any] | None:
    """The live exception covering a finding (for showing who/why/until on its message)."""
    rows = list(
        db.query(
            f"SELECT e.* FROM exceptions e, (SELECT :rule AS rule_id, :res AS resource_id, :prov AS provider,"
            f" :acct AS account_id) f WHERE {_COVERS} ORDER BY e.id LIMIT 1",
            {"rule": finding["rule_id"], "res": finding["resource_id"], "prov": finding["provider"],
             "acct": finding["account_id"], "at": at},
        )
    )
    return rows[0] if rows else None


@dataclass(frozen=True)
class CodeSuppression:
    """One entry of suppressions.yml."""

    rule_id: str
    reason: str
    created_by: str
    expires_at: str | None
    provider: str = "aws"
    account_id: str | None = None
    resource_id: str | None = None

    @property
    def scope(self) -> str:
        return "resource" if self.resource_id else "rule"

    @property
    def key(self) -> str:
        ident = "\0".join([self.rule_id, self.provider, self.account_id or "*", self.resource_id or "*"])
        return hashlib.sha256(ident.encode()).hexdigest()[:20]


def sync_code_suppressions(db: sqlite_utils.Database, entries: Iterable[CodeSuppression], at: str) -> ExceptionSync:
    """Make the 'code' exceptions equal to the file: add, update, end the removed ones; then apply."""
    wanted = {entry.key: entry for entry in entries}
    with _immediate(db):
        current = {row["code_key"]: row for row in db.query("SELECT * FROM exceptions WHERE source = 'code'")}
        for key, entry in wanted.items():
            row = current.get(key)
            if row is None:
                exception_id = _insert_exception(
                    db, entry.scope, entry.rule_id, entry.provider, entry.account_id or "*", entry.resource_id, None,
                    entry.reason, entry.created_by, at, entry.expires_at, "code", key,
                )
                audit.record(db, "suppression_added", entry.created_by, at=at,
                             details={"exception_id": exception_id, "source": "suppressions.yml"})
            elif (row["reason"], row["created_by"], row["expires_at"]) != (
                entry.reason, entry.created_by, entry.expires_at
            ) or row["end_reason"] == "removed from suppressions.yml":
                db.execute(
                    "UPDATE exceptions SET reason = ?, created_by = ?, expires_at = ?, ended_at = NULL,"
                    " ended_by = NULL, end_reason = NULL WHERE id = ?",
                    [entry.reason, entry.created_by, entry.expires_at, row["id"]],
                )
                audit.record(db, "suppression_changed", entry.created_by, at=at,
                             details={"exception_id": row["id"], "source": "suppressions.yml"})
        for key, row in current.items():
            if key not in wanted and row["ended_at"] is None:
                db.execute(
                    "UPDATE exceptions SET ended_at = ?, ended_by = 'suppressions.yml',"
                    " end_reason = 'removed from suppressions.yml' WHERE id = ?",
                    [at, row["id"]],
                )
                audit.record(db, "suppression_removed", "suppressions.yml", at=at, details={"exception_id": row["id"]})
    return apply_exceptions(db, at)
