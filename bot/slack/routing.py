"""Where a finding goes: the routes of skywarden.yml, else the default channel, else where the request came from.
Shared by posting (digests, finding messages) and charts (what a channel may see)."""

from __future__ import annotations

from skywarden.bot.core.settings import BotConfig
from skywarden.rules.model import SEVERITIES


def channels_for(config: BotConfig, account_id: str, severity: str, fallback: str | None) -> list[str]:
    """Every route whose given criteria all match; else the default channel, else where the request came from."""
    account = config.account(account_id)
    tags = set(account.tags) if account else set()
    matched = []
    for route in config.routes:
        if route.accounts and account_id not in route.accounts:
            continue
        if route.tags and not tags.intersection(route.tags):
            continue
        if route.severities and severity not in route.severities:
            continue
        if route.channel not in matched:
            matched.append(route.channel)
    if matched:
        return matched
    target = config.default_channel or fallback
    return [target] if target else []


def account_channels(config: BotConfig, account_id: str, fallback: str | None) -> set[str]:
    """Every channel that may receive some finding of this account (any severity): what "the account is routed
    to the channel" means for a digest, which names an account and its coverage gaps only where its findings go.
    """
    return {channel for severity in SEVERITIES for channel in channels_for(config, account_id, severity, fallback)}
