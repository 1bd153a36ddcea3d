"""`findings` (open findings, paged, filtered by account and severity) and `suppressions` (active ones), limited
to the accounts the asker may read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skywarden.bot.commands.base import MAX_PAGE, Reply, UsageError, Who, _refuse, parse_number
from skywarden.bot.slack import blocks
from skywarden.rules.model import SEVERITIES
from skywarden.storage import finding_views
from skywarden.storage import suppressions as exceptions
from skywarden.storage.db import now
from skywarden.storage.suppressions import find_finding

if TYPE_CHECKING:
    from skywarden.bot.services import Services

PER_PAGE = 20


def _findings(services: Services, args: list[str], who: Who) -> Reply:
    account = severity = None
    page = 1
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word.lower() == "page":
            if not rest:
                raise UsageError("page needs a number: findings page 2")
            page = parse_number(rest.pop(0), "page", 1, MAX_PAGE)
        elif word.lower() in SEVERITIES and severity is None:
            severity = word.lower()
        elif account is None:
            account = services.config.account_id(word)
        else:
            raise UsageError(f"unexpected {word!r}: findings [account] [severity] [page N]")
    readable = services.access.read_accounts(who.user)
    if account:
        allowed, why = services.access.can_read(who.user, account)
        if not allowed:
            return _refuse(services, who, "findings", why, account=account)
    db = services.db
    total = finding_views.count_open(db, readable, account, severity)
    rows = [find_finding(db, fid) for fid in
            finding_views.page_open(db, readable, account, severity, PER_PAGE, (page - 1) * PER_PAGE)]
    title = "Open findings" + (f" in {services.config.account_name(account)}" if account else "") + (
        f", {severity}" if severity else "")
    return Reply(blocks.findings_list([r for r in rows if r], services.rules, total, page, PER_PAGE, title))


def _suppressions(services: Services, args: list[str], who: Who) -> Reply:
    readable = services.access.read_accounts(who.user)
    rows = [row for row in exceptions.list_exceptions(services.db, now())
            if readable is None or row["account_id"] in readable]
    return Reply(blocks.suppressions_list(rows))

