"""Posting to Slack: one digest per routed channel, one message per finding to decide on, chat.update when a
finding is decided on or resolved. Every send goes through the outbox (storage/outbox.py): written first,
then flushed with the WebClient's retry handlers (429 with Retry-After, 5xx); what still fails stays queued.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from skywarden.bot.core.ports import FlushResult
from skywarden.bot.slack import blocks
from skywarden.bot.slack.routing import account_channels, channels_for
from skywarden.rules.model import SEVERITIES
from skywarden.storage import finding_views, outbox, slack_messages
from skywarden.storage.db import now
from skywarden.storage.scans import coverage_for
from skywarden.storage.suppressions import ExceptionSync, exception_for, find_finding

if TYPE_CHECKING:
    import sqlite_utils
    from slack_sdk import WebClient

    from skywarden.bot.core.orchestrator import ScanRequest
    from skywarden.bot.core.settings import BotConfig
    from skywarden.bot.slack.charts import ChannelCharts
    from skywarden.rules.model import Rule
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)

THREAD_THRESHOLD = 5  # more finding messages than this go in the digest's thread
GROUP_THRESHOLD = 20  # more findings than this for one channel (a large first scan): one message per rule
TOP_RULES = 10  # rules the digest of a grouped scan lists
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Slack refuses the channel itself: every other message to it would be refused the same way.
CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived"}
PROGRESS_TIMEOUT_S = 5  # a progress update waits on Slack this long at most: collection waits behind it


def render_finding(db: sqlite_utils.Database, rules: Mapping[str, Rule], finding: Mapping[str, Any],
                   note: str | None = None, with_buttons: bool = True) -> blocks.Message:
    rule = rules.get(finding["rule_id"])
    exception = exception_for(db, finding, now()) if finding["state"] == "suppressed" else None
    return blocks.finding_message(
        finding,
        guidance=getattr(rule, "remediation_guidance", "") or "",
        remediation_action=getattr(rule, "remediation_action", None),
        exception=exception,
        note=note,
        with_buttons=with_buttons,
    )


class SlackPublisher:
    def __init__(self, ledger: Ledger, client: WebClient | None, config: BotConfig, rules: Mapping[str, Rule],
                 charts: ChannelCharts) -> None:
        self.ledger = ledger
        self.client = client
        self.config = config
        self.rules = rules
        self.charts = charts
        self._flush_lock = threading.Lock()  # one flusher at a time, or a message could go out twice
        # channel -> the request whose results are on their way there: who to tell if Slack refuses it
        self._requesters: dict[str, ScanRequest] = {}

    # ------------------------------------------------------------ scans
    def scan_finished(self, outcome: Any, sync: ExceptionSync, request: ScanRequest) -> None:
        db, config = self.ledger.db, self.config
        fallback = request.origin_channel
        result = outcome.reconcile
        for message in slack_messages.retire(db, result.resolved):
            finding = find_finding(db, message["finding_id"])
            if finding:
                self._update(message, render_finding(db, self.rules, finding, with_buttons=False))
        for message in slack_messages.retire(db, sync.reopened):
            finding = find_finding(db, message["finding_id"])
            if finding:
                self._update(message, render_finding(
                    db, self.rules, finding, note="The suppression ended; posted again below.", with_buttons=False))

        accounts = list(outcome.inventory.accounts)
        per_channel: dict[str, Counter[str]] = defaultdict(Counter)
        for row in finding_views.active_counts(db, outcome.inventory.provider, accounts):
            for channel in channels_for(config, row["account_id"], row["severity"], fallback):
                per_channel[channel][row["severity"]] += row["n"]

        news: dict[str, Counter[str]] = defaultdict(Counter)
        for kind, fids in (("new", result.new), ("reopened", result.reopened), ("resolved", result.resolved)):
            for fid in fids:
                finding = find_finding(db, fid)
                if finding:
                    for channel in channels_for(config, finding["account_id"], finding["severity"], fallback):
                        news[channel][kind] += 1

        to_post: dict[str, list[dict[str, Any]]] = defaultdict(list)
        candidates = finding_views.open_from_scan(db, outcome.scan_id)
        live = slack_messages.live_channels(db, [c["id"] for c in candidates])
        for row in candidates:
            finding = find_finding(db, row["id"])  # decoded frameworks
            assert finding is not None
            for channel in channels_for(config, finding["account_id"], finding["severity"], fallback):
                if (finding["id"], channel) not in live:
                    to_post[channel].append(finding)

        gaps = coverage_for(db, outcome.scan_id, failed_only=True)
        routed = {a: account_channels(config, a, fallback) for a in accounts}
        channels = list(dict.fromkeys([*per_channel, *news, *to_post]))
        if not channels:  # nothing to report anywhere: the all-clear goes where each account's findings would
            channels = sorted({channel for targets in routed.values() for channel in targets})
        for channel in channels:
            self._requesters[channel] = request
            # A channel reads only about the accounts routed to it: their names, counts and coverage gaps.
            mine = [a for a in accounts if channel in routed[a]]
            names = [f"{config.account_name(a)} ({a})" if config.account_name(a) != a else a for a in mine]
            findings = to_post.get(channel, [])
            threaded = len(findings) > THREAD_THRESHOLD
            groups = by_rule(findings) if len(findings) > GROUP_THRESHOLD else []
            top = [(g[0]["title"], g[0]["rule_id"], g[0]["severity"], len(g)) for g in groups[:TOP_RULES]]
            digest = blocks.digest_messages(
                outcome.scan_id, names, per_channel.get(channel, Counter()), news[channel]["new"],
                news[channel]["reopened"], news[channel]["resolved"], [g for g in gaps if g["account_id"] in mine],
                len(findings), threaded, outcome.status, provider=outcome.inventory.provider, top_rules=top,
            )
            parent = None
            for message in digest:
                outbox_id = outbox.enqueue(db, "chat.postMessage", channel, {"channel": channel, **message.payload()})
                parent = parent or outbox_id
            if groups:
                self._post_groups(channel, groups, parent)
                continue
            for finding in findings:
                slot = slack_messages.claim(db, finding["id"], channel)
                if slot is None:  # posted meanwhile by someone else: never twice
                    continue
                payload = {"channel": channel, **render_finding(db, self.rules, finding).payload()}
                outbox_id = outbox.enqueue(db, "chat.postMessage", channel, payload, parent if threaded else None)
                slack_messages.attach_outbox(db, slot, outbox_id)
        if not channels:
            log.warning("scan %s: no channel to post to (no routing matched and no default_channel)", outcome.scan_id)
        self.flush()

    def scan_failed(self, request: ScanRequest, message: str) -> None:
        target = request.origin_channel or self.config.default_channel
        if not target:
            return
        text = (f":x: The scan of {blocks.escape(request.describe())} requested by "
                f"{blocks.mention(request.requested_by)} failed: {blocks.escape(message)}")
        fallback = f"The scan of {request.describe()} failed: {message}"
        self._requesters[target] = request
        outbox.enqueue(self.ledger.db, "chat.postMessage", target,
                       {"channel": target, **blocks.Message(fallback, [blocks.section(text)]).payload()})

        self.flush()

    def scan_quiet(self, outcome: Any, request: ScanRequest) -> None:
        """``scans.quiet: line``: one quiet line for a scheduled scan that changed nothing."""
        target = request.origin_channel or self.config.default_channel
        if not target:
            return
        said = f"Scheduled scan #{outcome.scan_id} of {{}}: nothing new, reopened or resolved."
        shown = ":white_check_mark: " + said.format(blocks.escape(request.describe()))
        message = blocks.Message(said.format(request.describe()), [blocks.context(shown)])
        outbox.enqueue(self.ledger.db, "chat.postMessage", target, {"channel": target, **message.payload()})
        self.flush()

    def scan_progress(self, request: ScanRequest, done: int, total: int) -> None:
        """Replace the requester's "scan started" reply with how far collection is. Straight to Slack, not
        through the outbox: a progress line retried later would be stale. Refused or unreachable: logged,
        never raised (the scan goes on; its results are posted as usual)."""
        if not request.reply_url:
            return  # a mention's ephemeral reply or a schedule: no message this bot may edit
        message = blocks.scan_progress(request.describe(), done, total)
        body = {"response_type": "ephemeral", "replace_original": True, **message.payload()}
        try:
            response = WebhookClient(request.reply_url, timeout=PROGRESS_TIMEOUT_S).send_dict(body)
        except (URLError, OSError) as exc:  # the response_url is a secret of its own: never logged
            log.warning("scan progress %d/%d not shown: %s", done, total, type(exc).__name__)
            return
        if response.status_code != 200:
            log.warning("scan progress %d/%d refused by Slack: HTTP %s %s", done, total, response.status_code,
                        (response.body or "")[:100])

    def weekly_digest(self) -> dict[str, dict[str, bool]]:
        """scans.weekly_digest: posture and trend charts to every routed channel and the default channel,
        each covering only the accounts routed there. Returns what was uploaded per channel."""
        config = self.config
        targets = [route.channel for route in config.routes]
        if config.default_channel:
            targets.append(config.default_channel)
        return {channel: self.charts.post_weekly_digest(channel) for channel in dict.fromkeys(targets)}

    # ------------------------------------------------------------ decisions
    def refresh(self, finding_ids: Iterable[str]) -> None:
        """Show the current state of these findings on every live message."""
        db = self.ledger.db
        for fid in finding_ids:
            finding = find_finding(db, fid)
            if finding is None:
                continue
            rendered = render_finding(db, self.rules, finding)
            for message in slack_messages.live_for(db, fid):
                self._update(message, rendered)
        self.flush()

    def _post_groups(self, channel: str, groups: Sequence[list[dict[str, Any]]], parent: int | None) -> None:
        """One message per rule (paged by GROUP_SIZE resources), in the digest's thread; each finding's live
        slot points at its group's message, so it is never posted twice and a decision updates the group."""
        db = self.ledger.db
        for group in groups:
            claimed = [(f, slot) for f in group if (slot := slack_messages.claim(db, f["id"], channel)) is not None]
            chunks = [claimed[i : i + blocks.GROUP_SIZE] for i in range(0, len(claimed), blocks.GROUP_SIZE)]
            for part, chunk in enumerate(chunks, 1):
                members = [f for f, _ in chunk]
                payload = {"channel": channel, **self._render_group(members, part, len(chunks))}
                outbox_id = outbox.enqueue(db, "chat.postMessage", channel, payload, parent)
                for _, slot in chunk:
                    slack_messages.attach_outbox(db, slot, outbox_id)

    def _render_group(self, members: Sequence[Mapping[str, Any]], part: int, parts: int) -> dict[str, Any]:
        rule = self.rules.get(members[0]["rule_id"])
        message = blocks.finding_group_message(
            members, guidance=getattr(rule, "remediation_guidance", "") or "",
            remediation_action=getattr(rule, "remediation_action", None), part=part, parts=parts)
        return {**message.payload(), "metadata": blocks.group_metadata(members, part, parts)}

    def group_payload(self, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """For a finding's live message that shows a group: the group re-rendered with every member's current
        state (a one-finding rendering would overwrite the other resources); None for a one-finding message."""
        if not message["outbox_id"]:
            return None
        original = outbox.get(self.ledger.db, message["outbox_id"])
        members_ids, part, parts = blocks.grouped_ids(original["payload"]) if original else ([], 1, 1)
        members = [f for fid in members_ids if (f := find_finding(self.ledger.db, fid)) is not None]
        return self._render_group(members, part, parts) if members else None

    def _update(self, message: Mapping[str, Any], rendered: blocks.Message) -> None:
        group = self.group_payload(message)
        if group is not None:
            self._replace(message, group)
            return
        self._replace(message, rendered.payload())

    def _replace(self, message: Mapping[str, Any], payload: dict[str, Any]) -> None:
        db = self.ledger.db
        if message["ts"]:
            outbox.enqueue(db, "chat.update", message["channel"],
                           {"channel": message["channel"], "ts": message["ts"], **payload})
        elif message["outbox_id"]:
            original = outbox.get(db, message["outbox_id"])
            if original and original["status"] == outbox.PENDING:
                outbox.replace_payload(db, original["id"], {**original["payload"], **payload})

    # ------------------------------------------------------------ outbox
    def flush(self) -> FlushResult:
        result = FlushResult()
        client = self.client
        if client is None:
            return result
        with self._flush_lock:
            db = self.ledger.db
            refused: set[str] = set()
            for row in outbox.pending(db):
                if row["channel"] in refused:
                    continue  # closed with the first refusal
                payload = dict(row["payload"])
                if row["parent_id"]:
                    parent = outbox.get(db, row["parent_id"])
                    if parent and parent["status"] == outbox.PENDING:
                        result.pending += 1
                        continue  # its thread does not exist yet
                    if parent and parent["ts"]:
                        payload["thread_ts"] = parent["ts"]
                try:
                    if row["method"] == "chat.update":
                        response = client.chat_update(**payload)
                    else:
                        response = client.chat_postMessage(**payload)
                except SlackApiError as exc:
                    code = str(exc.response.get("error", "")) if exc.response is not None else ""
                    status = exc.response.status_code if exc.response is not None else 0
                    transient = status == 429 or status >= 500 or code in TRANSIENT_ERRORS
                    if code in CHANNEL_ERRORS:
                        refused.add(row["channel"])
                        result.failed += self._refused(row["channel"], code)
                        continue
                    outbox.mark_attempt(db, row["id"], code or f"HTTP {status}", permanent=not transient)
                    if transient:
                        result.pending += 1
                        log.warning("Slack %s failed (%s); kept in the outbox", row["method"], code or status)
                        break  # keep the order; the next flush retries
                    result.failed += 1
                    log.error("Slack %s to %s failed permanently: %s", row["method"], row["channel"], code)
                    continue
                except (URLError, OSError) as exc:
                    outbox.mark_attempt(db, row["id"], f"{type(exc).__name__}: {exc}", permanent=False)
                    result.pending += 1
                    log.warning("Slack unreachable (%s); messages kept in the outbox", exc)
                    break
                ts = response.get("ts") if row["method"] == "chat.postMessage" else row["payload"].get("ts")
                outbox.mark_sent(db, row["id"], ts)
                if row["method"] == "chat.postMessage" and ts:
                    slack_messages.record_ts(db, row["id"], str(response.get("channel") or row["channel"]), ts)
                result.sent += 1
        return result

    def _refused(self, channel: str, code: str) -> int:
        """Slack will not take messages for this channel: close them all (one call, not one per message),
        free their findings to be posted again later, and tell the requester once. Returns how many closed."""
        db = self.ledger.db
        closed = outbox.fail_channel(db, channel, f"{code}: undeliverable to {channel}")
        slack_messages.release_undelivered(db, closed)
        request = self._requesters.pop(channel, None)
        log.error("Slack refused channel %s (%s): %d message(s) marked undeliverable, not retried; "
                  "invite the bot with /invite @Skywarden", channel, code, len(closed))
        if request is not None:
            self._tell(request, blocks.undeliverable_notice(channel, code, len(closed)), channel)
        return len(closed)

    def _tell(self, request: ScanRequest, message: blocks.Message, refused_channel: str) -> None:
        """Ephemeral in the channel the request came from; a direct message when that is the refused channel."""
        client, user = self.client, request.requested_by
        if client is None or not blocks.is_user_id(user):
            return
        try:
            if request.origin_channel and request.origin_channel != refused_channel:
                client.chat_postEphemeral(channel=request.origin_channel, user=user, **message.payload())
            else:
                client.chat_postMessage(channel=user, **message.payload())
        except (SlackApiError, URLError, OSError) as exc:
            log.warning("could not tell %s that channel %s refused the bot's messages: %s", user, refused_channel, exc)


def by_rule(findings: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Findings grouped by rule, most severe rule first, then the rule with the most resources."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        groups[finding["rule_id"]].append(finding)
    rank = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(groups.values(), key=lambda g: (rank.get(g[0]["severity"], len(rank)), -len(g), g[0]["rule_id"]))


def severity_counts(rows: Sequence[Mapping[str, Any]]) -> Counter[str]:
    return Counter(row["severity"] for row in rows)
