"""The GCP part of ``skywarden demo``: scan the embedded estate of bot/demo/gcp_estate.py.

The estate is served by the loopback Cloud Asset stand-in in this process; the real client reaches it
with a fixed bearer token, so no credentials are looked up and nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils

from skywarden.bot.core.scanning import ScanOutcome
from skywarden.bot.core.scanning_gcp import scan_gcp
from skywarden.bot.demo.gcp_estate import DEMO_ORGANIZATION, serve_demo_estate
from skywarden.rules.model import Rule
from skywarden.scanners.gcp.credentials import asset_client
from skywarden.scanners.gcp.scan import GcpScope
from skywarden.scanners.model import CollectionResult


def run_gcp_demo_scan(
    db: sqlite_utils.Database,
    rules: Sequence[Rule],
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> ScanOutcome:
    """Scan the demo organization (three projects) and store the results like any GCP scan."""
    from google.oauth2.credentials import Credentials

    with serve_demo_estate() as standin:
        # A static token: it never expires and never refreshes, so no token endpoint is contacted.
        client = asset_client(Credentials(token="skywarden-demo"), standin.endpoint)
        return scan_gcp(
            db,
            rules,
            GcpScope(organization=DEMO_ORGANIZATION),
            client=client,
            trigger="demo",
            on_plan=on_plan,
            on_result=on_result,
        )
