"""Helpers for GCP tests: a real AssetServiceClient pointed at the loopback stand-in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from skywarden.scanners.gcp.errors import RetryPolicy
from skywarden.scanners.gcp.scan import GcpScope, collect_gcp
from skywarden.scanners.model import Inventory


class RecordedSleep:
    """Stands in for time.sleep: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(standin: CloudAssetStandIn) -> Any:
    """AnonymousCredentials send no Authorization header: tests only, never production."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import asset_v1

    return asset_v1.AssetServiceClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=standin.endpoint),
        credentials=AnonymousCredentials(),
    )


def fast_retry(sleep: RecordedSleep | None = None, attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=30.0, sleep=sleep or RecordedSleep())


def collect(
    standin: CloudAssetStandIn,
    scope: GcpScope,
    resource_types: Iterable[str] | None = None,
    retry: RetryPolicy | None = None,
) -> Inventory:
    return collect_gcp(
        client_for(standin), scope, resource_types=resource_types, max_workers=4, retry=retry or fast_retry()
    )
