"""The remediation flow shared by Slack and the CLI: request, four-eyes approval, apply, verify, undo.

Every step is written to the audit log with who, when, the plan and the API responses or errors. A request
moves through its states with conditional updates, so a double click or two approvers at once apply once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from skywarden.rules.engine import evaluate_one
from skywarden.rules.model import Outcome, Rule
from skywarden.rules.remediation.base import (
    ACTIONS,
    Plan,
    RemediationAction,
    RemediationEnvironment,
    load_actions,
)
from skywarden.scanners.errors import RemediationError
from skywarden.storage import audit, remediations
from skywarden.storage.findings import ACTIVE_STATES, OPEN, REMEDIATED, RESOLVED, get_finding, set_state

log = logging.getLogger(__name__)

DEFAULT_EXPIRY = timedelta(hours=24)


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve. ``approvers`` None means anyone but the requester (four-eyes still holds)."""

    approvers: frozenset[str] | None = None
    self_approval_accounts: frozenset[str] = frozenset()
    expiry: timedelta = DEFAULT_EXPIRY


@dataclass
class Decision:
    ok: bool
    message: str
    request_id: int | None = None
    refused: bool = False
    state: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class RemediationService:
    def __init__(
        self,
        db: sqlite_utils.Database | Callable[[], sqlite_utils.Database],
        rules: Sequence[Rule],
        environment: RemediationEnvironment,
        policy: ApprovalPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        audit_context: Mapping[str, Any] | None = None,
    ) -> None:
        load_actions()
        # Added to every audit event this service writes: how the decision reached us (e.g. the CLI
        # break-glass path and the OS user who ran it).
        self.audit_context = dict(audit_context or {})
        # A callable gives each thread its own connection (as the bot's Services do): one sqlite-utils
        # Database must not be used by two threads at once, its queries run inside named savepoints.
        self._db = db
        self.rules = {rule.id: rule for rule in rules}
        self.env = environment
        self.policy = policy or ApprovalPolicy()
        self.clock = clock

    def _record(self, action: str, actor: str, finding_id: str | None, details: dict[str, Any],
                at: str | None = None) -> None:
        audit.record(self.db, action, actor, finding_id, details={**details, **self.audit_context}, at=at)

    def _env(self, finding: Mapping[str, Any]) -> RemediationEnvironment:
        return self.env.for_provider(finding["provider"])

    @property
    def db(self) -> sqlite_utils.Database:
        return self._db() if callable(self._db) else self._db

    # -------------------------------------------------------------- planning and requests
    def _finding(self, ref: str) -> dict[str, Any]:
        finding = get_finding(self.db, ref)
        if finding is None:
            raise RemediationError(f"no finding {ref!r}")
        return finding

    def _action(self, finding: Mapping[str, Any]) -> tuple[Rule, RemediationAction]:
        rule = self.rules.get(finding["rule_id"])
        if rule is None or not rule.remediation_action:
            raise RemediationError(f"rule {finding['rule_id']} has no automated remediation")
        return rule, ACTIONS.get(rule.remediation_action)

    def plan(self, ref: str) -> tuple[dict[str, Any], Plan]:
        """A fresh dry run for the finding, read with the remediation credentials."""
        finding = self._finding(ref)
        _, action = self._action(finding)
        if finding["state"] not in ACTIVE_STATES:
            raise RemediationError(f"finding #{finding['number']} is {finding['state']}: nothing to remediate")
        resource = self._env(finding).collect(finding)
        if resource is None:
            raise RemediationError(f"{finding['resource_id']} no longer exists")
        try:
            return finding, action.plan(resource, self._env(finding).clients(finding["account_id"]))
        except self._env(finding).errors as exc:
            error_class, message = self._env(finding).classify(exc)
            raise RemediationError(f"cannot plan {action.name}: {error_class}: {message}") from exc

    def request(self, ref: str, requested_by: str) -> tuple[int, Plan]:
        finding, plan = self.plan(ref)
        if plan.noop:
            raise RemediationError(f"finding #{finding['number']}: the resource is already compliant, nothing to do")
        now = self.clock()
        request_id = remediations.create(
            self.db, finding["id"], plan.action, plan.to_dict(), requested_by, now.isoformat(),
            (now + self.policy.expiry).isoformat(),
        )
        self._record("remediation_requested", requested_by, finding["id"],
                     details={"request_id": request_id, "plan": plan.to_dict()}, at=now.isoformat())
        return request_id, plan

    def request_undo(self, ref: str, requested_by: str) -> tuple[int, Plan]:
        finding = self._finding(ref)
        fix = remediations.last_verified_fix(self.db, finding["id"])
        if fix is None or finding["state"] != REMEDIATED:
            raise RemediationError(f"finding #{finding['number']} has no applied remediation to undo")
        action = ACTIONS.get(fix["action"])
        original = Plan.from_dict(fix["plan"])
        undo_calls = action.undo_calls(original, fix["undo_state"])
        undo_plan = Plan(original.action, original.resource_id, original.resource_type, original.account_id,
                         original.region, f"Undo: {original.summary}", undo_calls, original.after, original.before,
                         original.context)
        now = self.clock()
        request_id = remediations.create(
            self.db, finding["id"], fix["action"], undo_plan.to_dict(), requested_by, now.isoformat(),
            (now + self.policy.expiry).isoformat(), kind="undo", undo_of=fix["id"], undo_state=fix["undo_state"],
        )
        self._record("undo_requested", requested_by, finding["id"],
                     details={"request_id": request_id, "undo_of": fix["id"], "plan": undo_plan.to_dict()},
                     at=now.isoformat())
        return request_id, undo_plan

    # -------------------------------------------------------------- decisions
    def _refuse(self, request: Mapping[str, Any] | None, who: str, reason: str) -> Decision:
        self._record("remediation_refused", who, request["finding_id"] if request else None,
                     details={"request_id": request["id"] if request else None, "reason": reason},
                     at=self.clock().isoformat())
        return Decision(False, reason, request["id"] if request else None, refused=True,
                        state=request["state"] if request else None)

    def refuse(self, request_id: int, who: str, reason: str) -> Decision:
        """Refuse a decision the caller ruled out (e.g. made outside the approval channel), audited the same way."""
        return self._refuse(remediations.get(self.db, request_id), who, reason)

    def check_approver(self, request: Mapping[str, Any], approver: str) -> str | None:
        """Why ``approver`` may not decide this request, or None."""
        if self.policy.approvers is not None and approver not in self.policy.approvers:
            return f"{approver} is not a remediation approver"
        if approver == request["requested_by"]:
            account = request["plan"]["account_id"]
            if account not in self.policy.self_approval_accounts:
                return "four-eyes: the requester cannot approve their own remediation"
        return None

    def approve(self, request_id: int, approver: str) -> Decision:
        request = remediations.get(self.db, request_id)
        if request is None:
            return self._refuse(None, approver, f"no remediation request {request_id}")
        if request["state"] != remediations.REQUESTED:
            by = f" by {request['decided_by']}" if request["decided_by"] else ""
            return self._refuse(request, approver, f"request {request_id} is already {request['state']}{by}")
        now = self.clock()
        if now >= datetime.fromisoformat(request["expires_at"]):
            remediations.transition(self.db, request_id, remediations.REQUESTED, remediations.EXPIRED)
            return self._refuse(request, approver, f"request {request_id} expired at {request['expires_at']}")
        reason = self.check_approver(request, approver)
        if reason:
            return self._refuse(request, approver, reason)
        if not remediations.transition(self.db, request_id, remediations.REQUESTED, remediations.APPROVED,
                                       decided_by=approver, decided_at=now.isoformat()):
            latest = remediations.get(self.db, request_id) or request
            return self._refuse(latest, approver, f"request {request_id} was already {latest['state']}")
        self._record("remediation_approved", approver, request["finding_id"],
                     details={"request_id": request_id, "kind": request["kind"]}, at=now.isoformat())
        if request["kind"] == "undo":
            return self._execute_undo(request, approver)
        return self._execute(request, approver)

    def reject(self, request_id: int, who: str, reason: str = "") -> Decision:
        request = remediations.get(self.db, request_id)
        if request is None:
            return self._refuse(None, who, f"no remediation request {request_id}")
        refusal = self.check_approver(request, who) if who != request["requested_by"] else None
        if refusal:
            return self._refuse(request, who, refusal)
        now = self.clock().isoformat()
        if not remediations.transition(self.db, request_id, remediations.REQUESTED, remediations.REJECTED,
                                       decided_by=who, decided_at=now, message=reason or "rejected"):
            latest = remediations.get(self.db, request_id) or request
            return self._refuse(latest, who, f"request {request_id} is already {latest['state']}")
        self._record("remediation_rejected", who, request["finding_id"],
                     details={"request_id": request_id, "reason": reason}, at=now)
        return Decision(True, f"rejected by {who}", request_id, state=remediations.REJECTED)

    # -------------------------------------------------------------- apply and verify
    def _finish(self, request: Mapping[str, Any], state: str, message: str, actor: str, event: str,
                **fields: Any) -> Decision:
        remediations.transition(self.db, request["id"], remediations.APPROVED, state, message=message, **fields)
        self._record(event, actor, request["finding_id"],
                     details={"request_id": request["id"], "message": message,
                              **{k: v for k, v in fields.items() if k in ("result", "verification")}},
                     at=self.clock().isoformat())
        return Decision(state in (remediations.VERIFIED, remediations.NOOP, remediations.UNDONE), message,
                        request["id"], state=state, details=fields)

    def _execute(self, request: Mapping[str, Any], approver: str) -> Decision:
        finding = self._finding(request["finding_id"])
        rule, action = self._action(finding)
        approved_plan = Plan.from_dict(request["plan"])
        client = self._env(finding).clients(finding["account_id"])
        resource = self._env(finding).collect(finding)
        if resource is None:
            return self._finish(request, remediations.FAILED, "refused: the resource no longer exists",
                                approver, "remediation_refused")
        try:
            fresh = action.plan(resource, client)
        except self._env(finding).errors as exc:
            error_class, text = self._env(finding).classify(exc)
            return self._finish(request, remediations.FAILED, f"{error_class}: could not re-read the resource: {text}",
                                approver, "remediation_failed")
        if fresh.noop:
            verification = self._verify(rule, finding)
            if verification["passed"]:
                set_state(self.db, finding["id"], RESOLVED, "system", self.clock().isoformat(), ACTIVE_STATES)
            return self._finish(request, remediations.NOOP, "no-op: the resource is already compliant",
                                approver, "remediation_noop", verification=verification)
        if dict(fresh.before) != dict(approved_plan.before):
            return self._finish(request, remediations.FAILED,
                                "refused: the resource changed since the plan was approved; request a new plan",
                                approver, "remediation_refused",
                                result={"approved_before": approved_plan.before, "current_before": fresh.before})
        applied = action.apply(approved_plan, client)
        remediations.set_fields(self.db, request["id"], result=applied.to_dict(), undo_state=applied.undo)
        if not applied.ok:
            return self._finish(request, remediations.FAILED, f"{applied.error_class}: {applied.error}",
                                approver, "remediation_failed", result=applied.to_dict())
        self._record("remediation_applied", approver, finding["id"],
                     details={"request_id": request["id"], "result": applied.to_dict()}, at=self.clock().isoformat())
        verification = self._verify(rule, finding)
        if not verification["passed"]:
            return self._finish(request, remediations.FAILED,
                                f"verification failed: {rule.id} is {verification['outcome']} after the change",
                                approver, "remediation_verification_failed", verification=verification)
        set_state(self.db, finding["id"], REMEDIATED, approver, self.clock().isoformat())
        return self._finish(request, remediations.VERIFIED, "remediated and verified by a rescan of the resource",
                            approver, "remediation_verified", verification=verification)

    def _execute_undo(self, request: Mapping[str, Any], approver: str) -> Decision:
        finding = self._finding(request["finding_id"])
        rule, action = self._action(finding)
        fix = remediations.get(self.db, request["undo_of"])
        assert fix is not None
        result = action.undo(Plan.from_dict(fix["plan"]), request["undo_state"],
                             self._env(finding).clients(finding["account_id"]))
        if not result.ok:
            return self._finish(request, remediations.FAILED, f"{result.error_class}: {result.error}", approver,
                                "undo_failed", result=result.to_dict())
        verification = self._verify(rule, finding)
        remediations.transition(self.db, fix["id"], remediations.VERIFIED, remediations.UNDONE)
        set_state(self.db, finding["id"], OPEN, approver, self.clock().isoformat())
        return self._finish(request, remediations.UNDONE, "previous state restored; the finding is open again",
                            approver, "undo_applied", result=result.to_dict(), verification=verification)

    def _verify(self, rule: Rule, finding: Mapping[str, Any]) -> dict[str, Any]:
        resource = self._env(finding).collect(finding)
        if resource is None:
            return {"passed": False, "outcome": "missing", "detail": "resource not found when re-collected"}
        outcome, detail = evaluate_one(rule, resource, resource.properties, resource.properties.get("_errors"))
        return {"passed": outcome in (Outcome.PASS, Outcome.NOT_APPLICABLE), "outcome": outcome.value,
                "detail": detail}
