"""Remediation from chat: the plan modal, approval requests posted to the approvers, decisions applied in the
background, and the outcome written back on the approval message and the finding's own messages.

The rules (four-eyes, approvers, sandbox self-approval, expiry, exactly-once, re-plan before apply, audit)
live in bot/core/remediation.py; this module only asks it and delivers the answers. An approval never runs in a
listener thread: it is handed to a small pool, so the click is acknowledged at once however long AWS takes.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from skywarden.bot.commands.base import Reply, Who, _refuse
from skywarden.bot.core.remediation import ApprovalPolicy, RemediationService
from skywarden.bot.slack import blocks
from skywarden.bot.slack import remediation_blocks as rblocks
from skywarden.bot.slack.posting import SlackPublisher, render_finding
from skywarden.scanners.errors import SkywardenError
from skywarden.storage import audit, outbox, remediations, slack_messages
from skywarden.storage.findings import ACTIVE_STATES
from skywarden.storage.suppressions import find_finding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from slack_sdk import WebClient

    from skywarden.bot.core.ports import Publisher
    from skywarden.bot.core.settings import Access, BotConfig
    from skywarden.rules.model import Rule
    from skywarden.rules.remediation.environments import RemediationEnvironment
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)

OFF = ("Remediation from Slack is off: no remediation approvers are configured "
       "(permissions.remediation_approvers in skywarden.yml). Nothing was changed.")


def approval_messages(request: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the approval request was posted. One channel, or one direct message per approver: the request's
    approval_channel/approval_ts columns then hold space-separated lists, in the same order."""
    channels = (request.get("approval_channel") or "").split()
    stamps = (request.get("approval_ts") or "").split()
    return list(zip(channels, stamps, strict=False))


class SlackRemediation:
    def __init__(self, ledger: Ledger, client: WebClient | None, config: BotConfig, access: Access,
                 rules: Mapping[str, Rule], environment: RemediationEnvironment | None, publisher: Publisher,
                 clock: Callable[[], datetime], workers: int = 2) -> None:
        self.ledger = ledger
        self.client = client
        self.config = config
        self.access = access
        self.rules = rules
        self.environment = environment  # None: remediation from chat is unavailable
        self.publisher = publisher
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skywarden-remediation")
        self._lock = threading.Lock()
        self._pending: set[Future[Reply]] = set()

    # ------------------------------------------------------------ configuration
    def disabled_reason(self) -> str | None:
        if not self.config.remediation_approvers:
            return OFF
        if self.environment is None:
            return "Remediation is not wired to a cloud environment in this bot (no remediation_env). Nothing changed."
        return None

    def policy(self) -> ApprovalPolicy:
        approvers = self.access.remediation_approvers()  # groups resolved now (cached a few minutes)
        config = self.config
        return ApprovalPolicy(frozenset(approvers) if approvers is not None else None,
                              frozenset(config.self_approval_accounts), timedelta(hours=config.request_expiry_hours))

    def service(self) -> RemediationService:
        """A service on the calling thread's connection, with the approvers as configured right now."""
        assert self.environment is not None
        ledger = self.ledger
        return RemediationService(lambda: ledger.db, list(self.rules.values()), self.environment, self.policy(),
                                  clock=lambda: self.clock())

    def approvers_text(self) -> str:
        config = self.config
        names = ", ".join(rblocks.who(p) if not p.startswith("S") else f"<!subteam^{p}>"
                          for p in config.remediation_approvers if p != "*")
        names = names or "anyone"
        return f"approvers: {names}" + (f", asked in <#{config.approval_channel}>" if config.approval_channel else "")

    # ------------------------------------------------------------ planning and requests
    def _precheck(self, who: Who, ref: str) -> tuple[dict[str, Any] | None, Reply | None]:
        reason = self.disabled_reason()
        if reason:
            return None, Reply(blocks.notice(reason), ok=False)
        finding = find_finding(self.ledger.db, ref)
        if finding is None:
            return None, Reply(blocks.notice(f"no finding {ref}"), ok=False)
        rule = self.rules.get(finding["rule_id"])
        if not getattr(rule, "remediation_action", None):
            return None, Reply(blocks.notice(f"finding #{finding['number']} has no automated remediation"), ok=False)
        allowed, why = self.access.can_request_remediation(who.user, finding["account_id"])
        if not allowed:
            return None, _refuse(self.ledger, who, "remediate", why, finding["id"])
        return finding, None

    def open_plan(self, client: Any, trigger_id: str, who: Who, ref: str) -> Reply | None:
        """The Remediate button: a modal at once, then the plan read from the account (or why there is none)."""
        finding, problem = self._precheck(who, ref)
        if problem:
            return problem
        assert finding is not None
        opened = client.views_open(trigger_id=trigger_id, view=rblocks.planning_modal(finding))
        client.views_update(view_id=opened["view"]["id"], view=self.plan_view(who, finding))
        return None

    def plan_view(self, who: Who, finding: dict[str, Any]) -> dict[str, Any]:
        if finding["state"] not in ACTIVE_STATES:
            return rblocks.plan_problem_modal(finding, f"the finding is {finding['state']}; nothing to remediate")
        try:
            _, plan = self.service().plan(finding["id"])
        except SkywardenError as exc:  # RemediationError, or an account the configuration cannot reach
            return rblocks.plan_problem_modal(finding, str(exc))
        if plan.noop:
            return rblocks.plan_problem_modal(
                finding, "the resource is already compliant; the next scan will resolve the finding.",
                already_compliant=True)
        metadata = json.dumps({"finding": finding["id"], "channel": who.channel})
        return rblocks.plan_modal(finding, plan.to_dict(), self.approvers_text(),
                                  self.config.request_expiry_hours, metadata)

    def request(self, who: Who, ref: str, undo: bool = False) -> Reply:
        """Create the request (the service re-plans and audits it) and post it to the approvers."""
        finding, problem = self._precheck(who, ref)
        if problem:
            return problem
        assert finding is not None
        service = self.service()
        try:
            if undo:
                request_id, _ = service.request_undo(finding["id"], who.user)
            else:
                request_id, _ = service.request(finding["id"], who.user)
        except SkywardenError as exc:
            return Reply(blocks.notice(f"Cannot request {'the undo' if undo else 'remediation'}: {exc}"), ok=False)
        where = self._post_approval(request_id)
        request = remediations.get(self.ledger.db, request_id)
        assert request is not None
        self._refresh_finding(request)
        kind = "Undo" if undo else "Remediation"
        return Reply(blocks.Message(f"{kind} request {request_id} sent", [
            blocks.section(f"{kind} request {request_id} for finding #{finding['number']} {where}. "
                           "Nothing changes until an approver other than you approves it."),
            *rblocks.plan_blocks(request["plan"]),
        ]))

    def _post_approval(self, request_id: int) -> str:
        db, client, config = self.ledger.db, self.client, self.config
        request = remediations.get(db, request_id)
        assert request is not None
        if client is None:
            return f"is waiting for approval (`approve {request_id}` / `reject {request_id}`)"
        finding = find_finding(db, request["finding_id"])
        assert finding is not None
        if config.approval_channel:
            targets = [config.approval_channel]
        else:
            approvers = sorted(self.access.remediation_approvers() or ())
            targets = [u for u in approvers if u != request["requested_by"]] or approvers
        payload = rblocks.approval_message(request, finding).payload()
        posted: list[tuple[str, str]] = []
        for target in targets:
            try:
                response = client.chat_postMessage(channel=target, **payload)
            except SlackApiError as exc:
                log.error("approval request %s to %s failed: %s", request_id, target, exc.response.get("error"))
                continue
            posted.append((str(response.get("channel") or target), str(response["ts"])))
        remediations.set_fields(db, request_id, approval_channel=" ".join(c for c, _ in posted) or None,
                                approval_ts=" ".join(t for _, t in posted) or None)
        audit.record(db, "remediation_approval_posted", "system", request["finding_id"],
                     details={"request_id": request_id, "targets": targets, "posted": posted})
        if not posted:
            return (f"was recorded, but the approval request could not be posted to Slack (see the bot's log); "
                    f"an approver can type `approve {request_id}`")
        if config.approval_channel:
            return f"was posted for approval in <#{config.approval_channel}>"
        return "was sent for approval to " + ", ".join(rblocks.who(t) for t in targets)

    # ------------------------------------------------------------ decisions
    def decide(self, who: Who, request_id: int, approve: bool) -> Future[Reply]:
        """Approve or reject in the background; a refusal is told privately to the person who clicked."""
        future = self._pool.submit(self._decide, who, request_id, approve)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Reply]) -> None:
        with self._lock:
            self._pending.discard(future)

    def sweep_expired(self) -> list[int]:
        """Mark requests past their expiry as expired and show it on their messages (a scheduler may call this
        periodically; every decision calls it too). Returns the ids it expired."""
        db = self.ledger.db
        at = self.clock().isoformat()
        expired = []
        for request_id in remediations.due_to_expire(db, at):
            if remediations.transition(db, request_id, remediations.REQUESTED, remediations.EXPIRED):
                request = remediations.get(db, request_id)
                assert request is not None
                audit.record(db, "remediation_expired", "system", request["finding_id"],
                             details={"request_id": request["id"], "expires_at": request["expires_at"]}, at=at)
                self._show(request)
                expired.append(request_id)
        return expired

    def _decide(self, who: Who, request_id: int, approve: bool) -> Reply:
        try:
            reason = self.disabled_reason()
            if reason:
                reply = Reply(blocks.notice(reason), ok=False)
            else:
                reply = self._decide_now(who, request_id, approve)
        except Exception as exc:
            log.exception("remediation request %s: deciding failed", request_id)
            reply = Reply(blocks.notice(f"Request {request_id}: internal error ({type(exc).__name__}); "
                                        "see the bot's log."), ok=False)
        if not reply.ok:
            self.tell(who, reply)
        try:
            self.sweep_expired()
        except Exception:
            log.exception("sweeping expired remediation requests failed")
        return reply

    def decide_button(self, who: Who, value: str, approve: bool) -> Future[Reply] | None:
        """An Approve/Reject click: decided only when the button's token is its request's own."""
        request_id, problem = remediations.parse_button_value(self.ledger.db, value)
        if problem is None and request_id is not None:
            return self.decide(who, request_id, approve)
        request = remediations.get(self.ledger.db, request_id) if request_id is not None else None
        audit.record(self.ledger.db, "remediation_refused", who.user, request["finding_id"] if request else None,
                     details={"request_id": request_id, "reason": problem, "button": value[:80]})
        self.tell(who, Reply(blocks.notice(f"Not allowed: {problem}."), ok=False))
        return None

    def misplaced(self, who: Who) -> str | None:
        """Why a decision made from ``who.channel`` does not count: with an approval channel, only there."""
        channel = self.config.approval_channel
        if channel and who.channel != channel:
            return f"approvals and rejections are accepted only in <#{channel}>, where the request was posted"
        return None

    def _decide_now(self, who: Who, request_id: int, approve: bool) -> Reply:
        service = self.service()
        misplaced = self.misplaced(who)
        if misplaced:
            decision = service.refuse(request_id, who.user, misplaced)
        else:
            decision = service.approve(request_id, who.user) if approve else service.reject(request_id, who.user)
        request = remediations.get(self.ledger.db, request_id)
        if decision.refused:
            if request and request["state"] == remediations.EXPIRED and "expired" in decision.message:
                self._show(request)
            if misplaced:
                # Our own sentence around a configured channel id (validated as C...): a link the person can follow.
                text = f"Not allowed: {misplaced}."
                return Reply(blocks.Message(text, [blocks.section(text)]), ok=False)
            return Reply(blocks.notice(f"Not allowed: {decision.message}."), ok=False)
        assert request is not None
        self._show(request)
        # status_line is our own mrkdwn (untrusted parts already escaped, the approver a real mention): a section,
        # not a plain-text notice, or the mention would show as "<@U0BOB>".
        text = f"Request {request_id}: {rblocks.status_line(request)}"
        return Reply(blocks.Message(text, [blocks.section(text)]), ok=True)

    def _show(self, request: dict[str, Any]) -> None:
        self._update_approval(request)
        self._refresh_finding(request)

    def _update_approval(self, request: dict[str, Any]) -> None:
        db = self.ledger.db
        finding = find_finding(db, request["finding_id"])
        if finding is None:
            return
        payload = rblocks.approval_message(request, finding).payload()
        for channel, ts in approval_messages(request):
            outbox.enqueue(db, "chat.update", channel, {"channel": channel, "ts": ts, **payload})
        self.publisher.flush()

    def _refresh_finding(self, request: dict[str, Any]) -> None:
        """The finding's own messages: its state (remediated or still open) and what happened to the request."""
        db = self.ledger.db
        finding = find_finding(db, request["finding_id"])
        if finding is None:
            return
        rendered = render_finding(db, self.rules, finding, note=rblocks.finding_note(request))
        for message in slack_messages.live_for(db, finding["id"]):
            if message["ts"]:
                publisher = self.publisher  # a group's message shows every resource's state
                group = publisher.group_payload(message) if isinstance(publisher, SlackPublisher) else None
                outbox.enqueue(db, "chat.update", message["channel"],
                               {"channel": message["channel"], "ts": message["ts"], **(group or rendered.payload())})
        self.publisher.flush()

    def tell(self, who: Who, reply: Reply) -> None:
        client = self.client
        if client is None or who.source != "slack":
            return
        try:
            if who.channel:
                client.chat_postEphemeral(channel=who.channel, user=who.user, **reply.message.payload())
            else:
                client.chat_postMessage(channel=who.user, **reply.message.payload())
        except SlackApiError as exc:
            log.warning("cannot tell %s: %s", who.user, exc.response.get("error"))

    # ------------------------------------------------------------ lifecycle
    def wait_idle(self, timeout: float = 60.0) -> None:
        with self._lock:
            futures = list(self._pending)
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
