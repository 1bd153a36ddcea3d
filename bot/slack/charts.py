"""Charts in Slack: the posture per framework and the findings trend as PNGs uploaded with files_upload_v2
(files.getUploadURLExternal, the bytes to the returned URL, files.completeUploadExternal).

A chart posted in a channel is seen by everyone there, so it covers only the accounts routed to that channel
(the same rule the scan digest follows), and, when someone asked for it, only those they may read too.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from skywarden.bot.core.charts import render_posture_png, render_trend_png
from skywarden.bot.core.compliance import Posture, framework_postures
from skywarden.bot.slack import blocks
from skywarden.bot.slack.routing import account_channels
from skywarden.storage.check_results import latest_check_results
from skywarden.storage.db import now
from skywarden.storage.trend import daily_finding_counts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from slack_sdk import WebClient

    from skywarden.bot.core.settings import BotConfig
    from skywarden.rules.model import Framework, Rule
    from skywarden.storage.ledger import Ledger

log = logging.getLogger(__name__)

TREND_DAYS = 28


class ChannelCharts:
    """The charts of one workspace: what they read (ledger, routing, rules, catalogues) and where they go."""

    def __init__(self, ledger: Ledger, config: BotConfig, rules: Mapping[str, Rule],
                 catalogues: Mapping[str, Framework], client: WebClient | None) -> None:
        self.ledger = ledger
        self.config = config
        self.rules = rules
        self.catalogues = catalogues
        self.client = client

    def channel_accounts(self, channel: str, accounts: Collection[str],
                         readable: set[str] | None = None) -> set[str]:
        """Of these accounts, those whose findings go to ``channel`` (and that the reader may see)."""
        config = self.config
        return {a for a in accounts
                if channel in account_channels(config, a, channel)
                and (readable is None or a in readable)}

    def channel_postures(self, channel: str, readable: set[str] | None = None) -> list[Posture]:
        """One posture per framework over the stored verdicts of the accounts this channel (and reader) may see."""
        results = latest_check_results(self.ledger.db)
        mine = self.channel_accounts(channel, {r["account_id"] for r in results}, readable)
        results = [r for r in results if r["account_id"] in mine]
        if not results:
            return []
        return framework_postures(self.catalogues.values(), list(self.rules.values()), results, now())

    def posture_png(self, channel: str, readable: set[str] | None = None) -> bytes | None:
        """The posture bars of the accounts this channel may see; None when no stored verdict is theirs."""
        postures = self.channel_postures(channel, readable)
        return render_posture_png(postures) if postures else None

    def trend_png(self, channel: str, accounts: Collection[str], readable: set[str] | None = None,
                  days: int = TREND_DAYS) -> bytes:
        mine = self.channel_accounts(channel, accounts, readable)
        return render_trend_png(daily_finding_counts(self.ledger.db, days=days, accounts=sorted(mine)),
                                title=f"Findings over the last {days} days")

    def upload(self, channel: str, png: bytes, title: str, filename: str,
               comment: str | None = None) -> bool:
        """One PNG to one channel; False (logged, never raised) when Slack refuses it: a chart is a bonus on top of
        the text that was already sent."""
        client = self.client
        if client is None:
            return False
        try:
            client.files_upload_v2(channel=channel, content=png, filename=filename, title=title,
                                   initial_comment=comment, alt_txt=title)
        except (SlackApiError, URLError, OSError) as exc:
            log.warning("could not upload %s to %s: %s", filename, channel, exc)
            return False
        return True

    def scanned_accounts(self) -> set[str]:
        return {r["account_id"] for r in latest_check_results(self.ledger.db)}

    def post_posture(self, channel: str, user: str | None, readable: set[str] | None) -> bool:
        """For `/warden posture`: the posture chart the asker may see, restricted to what the channel may see."""
        png = self.posture_png(channel, readable)
        if png is None:
            return False
        return self.upload(channel, png, "Compliance posture", "posture.png",
                      comment=f"Posture requested by {blocks.mention(user)}" if user else None)

    def post_weekly_digest(self, channel: str) -> dict[str, Any]:
        """The weekly posture digest of one channel: the posture bars and the findings trend of its accounts."""
        sent = {"posture": False, "trend": False}
        accounts = self.scanned_accounts()
        png = self.posture_png(channel)
        if png is not None:
            sent["posture"] = self.upload(channel, png, "Weekly compliance posture", "posture.png",
                                     comment="Weekly posture digest")
        if self.channel_accounts(channel, accounts):
            sent["trend"] = self.upload(channel, self.trend_png(channel, accounts),
                                   f"Findings over the last {TREND_DAYS} days", "trend.png")
        return sent
