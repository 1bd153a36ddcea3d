"""The App Home: what one user may see (posture, open findings, accounts and their last scans) and its buttons'
decisions (what they may scan, where the results will go). Reads go through storage/; scans go through the same
command as `/warden scan` (``commands.dispatch``), so access checks, refusals and audit are the command's."""

from __future__ import annotations

import json
import shlex
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from skywarden.bot import commands
from skywarden.bot.slack import blocks, home_blocks
from skywarden.bot.slack.home_blocks import AccountLine, HomeData, ScanChoice
from skywarden.bot.slack.routing import account_channels
from skywarden.rules.model import SEVERITIES
from skywarden.scanners.providers import PROVIDERS
from skywarden.storage import finding_views
from skywarden.storage.db import now
from skywarden.storage.scans import last_scan_per_account
from skywarden.storage.suppressions import find_finding, list_exceptions

if TYPE_CHECKING:
    from skywarden.bot.services import Services

EVERY = "*"  # the account part of a scan choice meaning "every account of the cloud"


def _read_key(services: Services) -> str:
    return "permissions.read" if services.config.read is not None else "permissions.scan"


def provider_of(services: Services, account_id: str, seen: str | None = None) -> str | None:
    """The cloud of an account: the configuration's, else the one a scan found it in, else the first whose
    account ids look like it."""
    account = services.config.account(account_id)
    if account is not None:
        return account.provider
    if seen:
        return seen
    for name, cloud in PROVIDERS.items():
        if cloud.account_id.fullmatch(account_id):
            return name
    return None


def home_data(services: Services, user: str | None, channel: str | None = None) -> HomeData:
    """What ``user`` may see (None: everything, for tools and tests); ``channel``: their App Home channel."""
    db, config = services.db, services.config
    readable = services.access.read_accounts(user) if user is not None else None
    metadata = json.dumps({"channel": channel}) if channel else ""
    at = services.clock()
    if readable == set():
        return HomeData(user, at, "", no_access=f"You may not see any account ({_read_key(services)})",
                        metadata=metadata)
    by_severity: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for row in finding_views.open_counts(db, readable):
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + row["n"]
        counts.setdefault(row["account_id"], {})[row["severity"]] = row["n"]
    scans = last_scan_per_account(db, readable)
    known = {a.id for a in config.accounts} | set(counts) | set(scans)
    ids_ = sorted(known if readable is None else readable)  # a granted account shows even before its first scan
    lines = [AccountLine(a, config.account_name(a), provider_of(services, a, (scans.get(a) or {}).get("provider")),
                         counts.get(a, {}), scans.get(a)) for a in ids_]
    # Most pressing first: critical count, then high, ...; then by name.
    lines.sort(key=lambda line: (*(-line.counts.get(s, 0) for s in SEVERITIES), line.name, line.account_id))
    expiring = [row for row in list_exceptions(db, now(), expiring_before=(at + timedelta(days=7)).isoformat(
        timespec="seconds")) if readable is None or row["account_id"] in readable]
    scope = "every account" if readable is None else f"{len(readable)} account(s) you may see"
    return HomeData(user, at, scope, by_severity, lines, commands.postures(services, readable), expiring,
                    metadata=metadata)


def home_view(services: Services, user: str | None = None, channel: str | None = None) -> dict[str, Any]:
    return home_blocks.home_view(home_data(services, user, channel))


def publish(services: Services, client: Any, user: str, channel: str | None = None) -> None:
    client.views_publish(user_id=user, view=home_view(services, user, channel))


def home_channel(view: dict[str, Any] | None) -> str | None:
    """The App Home channel a view's private_metadata carries (set when the Home was published)."""
    try:
        channel = json.loads((view or {}).get("private_metadata") or "{}").get("channel")
    except (ValueError, AttributeError):
        return None
    return channel if isinstance(channel, str) and channel else None


# ---------------------------------------------------------------- Scan
def scan_choices(services: Services, user: str) -> list[ScanChoice]:
    """What ``user`` may scan, as `/warden scan` would allow it: each account (configured, or granted), and,
    for someone who may scan everything, each cloud as a whole where that needs no account."""
    config = services.config
    allowed = services.access.scan_accounts(user)
    if allowed is None:
        targets = [(a.provider, a.id) for a in config.accounts]
        clouds = {"aws"} | {a.provider for a in config.accounts}
        targets += [(p, EVERY) for p in PROVIDERS if p in clouds and not PROVIDERS[p].needs_account]
    else:
        targets = [(provider_of(services, a) or "aws", a) for a in sorted(allowed)]
    choices = []
    for cloud, account in targets:
        if account != EVERY and not services.access.can_scan(user, [account])[0]:
            continue
        name = home_blocks.CLOUD_NAMES.get(cloud, cloud)
        if account == EVERY:
            label = f"Every {name} {PROVIDERS[cloud].scope_word} the credentials reach"
        else:
            shown = config.account_name(account)
            label = f"{shown} · {account} ({name})" if shown != account else f"{account} ({name})"
        choices.append(ScanChoice(f"{cloud}|{account}", label))
    return choices


def parse_choice(value: str | None) -> tuple[str, str | None] | None:
    """(provider, account or None for every one) from a scan choice's value; None when malformed."""
    provider, sep, account = (value or "").partition("|")
    if not sep or provider not in PROVIDERS or not account:
        return None
    return provider, None if account == EVERY else account


def result_channels(services: Services, provider: str, account: str | None, fallback: str | None) -> list[str]:
    """Where a scan's digest and findings go, as the publisher routes them (bot/slack/routing.py)."""
    config = services.config
    accounts = [account] if account else [a.id for a in config.accounts if a.provider == provider]
    targets: set[str] = set()
    for account_id in accounts or [""]:  # "": an account the configuration does not name
        targets |= account_channels(config, account_id, fallback)
    return sorted(targets)


def where_results_go(channels: list[str], home: str | None) -> str:
    """mrkdwn: the channels as links (a configured #name as escaped text), the App Home channel by its name."""
    if not channels:
        return (":warning: No channel is set for these results (no route matches and there is no "
                "`default_channel`): run `/warden scan` in a channel instead.")
    named = ["your messages with Skywarden (the *Messages* tab)" if c == home else blocks.channel_ref(c)
             for c in channels]
    return "Results will be posted to " + ", ".join(named) + "."


def request_scan(services: Services, user: str, home: str | None,
                 value: str | None) -> tuple[commands.Reply, str | None] | None:
    """Submit the chosen scan through `/warden scan` itself: (its reply, where the results will go, or None when
    nothing was submitted); None when the choice is malformed. The scan's origin is the user's App Home channel,
    so a failure, or the fallback when no route matches, is told there."""
    choice = parse_choice(value)
    if choice is None:
        return None
    provider, account = choice
    who = commands.Who(user, home)
    reply = commands.dispatch(services, "scan " + shlex.join([provider, *([account] if account else [])]), who)
    if reply.submission is None:
        return reply, None
    return reply, where_results_go(result_channels(services, provider, account, home), home)


# ---------------------------------------------------------------- Open findings
def findings_modal(services: Services, user: str) -> dict[str, Any]:
    db = services.db
    readable = services.access.read_accounts(user)
    if readable == set():
        return home_blocks.notice_modal("Open findings", f"You may not see any account ({_read_key(services)}).")
    total = finding_views.count_open(db, readable)
    rows = [find_finding(db, fid) for fid in finding_views.page_open(db, readable, None, None,
                                                                     home_blocks.MODAL_FINDINGS, 0)]
    findings = [r for r in rows if r]
    names = {f["account_id"]: services.config.account_name(f["account_id"]) for f in findings}
    return home_blocks.findings_modal(findings, total, names)
