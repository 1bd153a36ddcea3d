"""The Azure part of ``skywarden demo``: scan the Acme estate served in-process by the loopback ARM stand-in.

No credentials, no network beyond 127.0.0.1: the stand-in speaks https with its own certificate and the scan
uses a static token the stand-in never checks. The restricted subscription answers 403, so the demo shows a
coverage gap too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils

from skywarden.bot.core.scanning import ScanOutcome
from skywarden.bot.core.scanning_azure import AzureScope, scan_azure
from skywarden.bot.demo.azure_estate import demo_arm
from skywarden.bot.demo.azure_standin import StaticToken
from skywarden.rules.model import Rule
from skywarden.scanners.model import CollectionResult


def scan_azure_demo(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> ScanOutcome:
    """Serve the demo estate, scan every subscription in it, and store the scan (trigger "demo")."""
    with demo_arm() as (_arm, settings):
        return scan_azure(db, rules, AzureScope(), settings=settings, credential=StaticToken(), trigger="demo",
                          on_plan=on_plan, on_result=on_result)
