"""Remediation requests and their state machine; each transition is one conditional UPDATE, so a double
click or two approvers at the same moment change the state once."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import sqlite_utils

from skywarden.storage.db import dumps, loads

REQUESTED = "requested"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
VERIFIED = "verified"
FAILED = "failed"
NOOP = "noop"
UNDONE = "undone"


def create(
    db: sqlite_utils.Database,
    finding_id: str,
    action: str,
    plan: dict[str, Any],
    requested_by: str,
    requested_at: str,
    expires_at: str,
    kind: str = "fix",
    undo_of: int | None = None,
    undo_state: dict[str, Any] | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO remediations (finding_id, kind, undo_of, action, plan, state, requested_by, requested_at,"
        " expires_at, undo_state, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [finding_id, kind, undo_of, action, dumps(plan), REQUESTED, requested_by, requested_at, expires_at,
         dumps(undo_state) if undo_state is not None else None, secrets.token_urlsafe(16)],
    )
    return int(cursor.lastrowid or 0)


def button_value(request: dict[str, Any]) -> str:
    """What the request's Approve/Reject buttons carry: its id and its own token."""
    return f"{request['id']}:{request['token']}" if request.get("token") else str(request["id"])


def parse_button_value(db: sqlite_utils.Database, value: str) -> tuple[int | None, str | None]:
    """(request id, None) when ``value`` is a button of that request; (id or None, why not) otherwise."""
    ident, _, token = value.partition(":")
    if not ident.isdigit():
        return None, "this button does not name a remediation request"
    request = get(db, int(ident))
    if request is None:
        return int(ident), f"no remediation request {ident}"
    if not request.get("token") or not hmac.compare_digest(token.encode(), str(request["token"]).encode()):
        # A missing token (a request from before tokens) or another request's: never guess which was meant.
        return int(ident), f"this button does not belong to request {ident}; type `approve {ident}` instead"
    return int(ident), None


def get(db: sqlite_utils.Database, request_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM remediations WHERE id = ?", [request_id]))
    return _decode(rows[0]) if rows else None


def for_finding(db: sqlite_utils.Database, finding_id: str) -> list[dict[str, Any]]:
    return [_decode(r) for r in db.query("SELECT * FROM remediations WHERE finding_id = ? ORDER BY id", [finding_id])]


def last_verified_fix(db: sqlite_utils.Database, finding_id: str) -> dict[str, Any] | None:
    rows = list(db.query(
        "SELECT * FROM remediations WHERE finding_id = ? AND kind = 'fix' AND state = ? ORDER BY id DESC LIMIT 1",
        [finding_id, VERIFIED],
    ))
    return _decode(rows[0]) if rows else None


def transition(db: sqlite_utils.Database, request_id: int, from_state: str, to_state: str,
               **fields: Any) -> bool:
    """Move a request from one state to another; False when someone else moved it first."""
    values = {key: dumps(value) if key in ("result", "verification", "undo_state") else value
              for key, value in fields.items()}
    assignments = ", ".join(["state = ?"] + [f"{key} = ?" for key in values])
    cursor = db.execute(
        f"UPDATE remediations SET {assignments} WHERE id = ? AND state = ?",
        [to_state, *values.values(), request_id, from_state],
    )
    return cursor.rowcount == 1


def set_fields(db: sqlite_utils.Database, request_id: int, **fields: Any) -> None:
    values = {key: dumps(value) if key in ("result", "verification", "undo_state") else value
              for key, value in fields.items()}
    assignments = ", ".join(f"{key} = ?" for key in values)
    db.execute(f"UPDATE remediations SET {assignments} WHERE id = ?", [*values.values(), request_id])


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("plan", "result", "undo_state", "verification"):
        row[key] = loads(row[key])
    return row
