"""The two values a cloud's ``plan_scan`` trades with the bot: what was asked, and how to collect it. A leaf,
so each cloud's plan module and the provider table can both import it without a circle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skywarden.scanners.model import Inventory


@dataclass(frozen=True)
class ScanTarget:
    """What a person or a schedule asked to scan: account ids (as typed), regions, provider-specific options
    (credentials, endpoints, an accounts file) from the configuration or the demo."""

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanPlan:
    """A scan ready to run: the scope as stored with the scan, and ``collect(resource_types) -> Inventory``."""

    description: dict[str, Any]
    collect: Callable[[frozenset[str]], Inventory]
