"""The provider seam: everything the layers above need to know about a cloud, in one entry per cloud.

Code that used to branch on the provider name (which scan to run, the word for one account, whether a scan
takes regions, what an account id looks like) looks the provider up in ``PROVIDERS``. Adding a cloud: a
folder under scanners/ (collectors and a ``plan_scan``), one under rules/packs/, one under
rules/remediation/, and one entry below. See docs/architecture.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from skywarden.scanners.scan_plan import ScanPlan, ScanTarget

__all__ = ["PROVIDERS", "CloudProvider", "ScanPlan", "ScanTarget", "provider"]


@dataclass(frozen=True)
class CloudProvider:
    name: str
    scope_word: str  # what one account is called in this cloud: account, subscription, project
    account_id: re.Pattern[str]
    account_id_description: str
    regional: bool  # False: the inventory APIs answer for every location at once
    plan_scan: Callable[[ScanTarget], ScanPlan]
    needs_account: bool = False  # True: a scan must name one (GCP: there is no "every project" default)

    def describe_scope(self, accounts: tuple[str, ...], regions: tuple[str, ...] = ()) -> str:
        where = f" {self.scope_word} {', '.join(accounts)}" if accounts else ""
        return f"{self.name}{where}{' in ' + ', '.join(regions) if regions else ''}"


def _aws(target: ScanTarget) -> ScanPlan:
    from skywarden.scanners.aws.plan import plan_scan  # SDKs load only when a scan of this cloud runs

    return plan_scan(target)


def _azure(target: ScanTarget) -> ScanPlan:
    from skywarden.scanners.azure.plan import plan_scan

    return plan_scan(target)


def _gcp(target: ScanTarget) -> ScanPlan:
    from skywarden.scanners.gcp.plan import plan_scan

    return plan_scan(target)


PROVIDERS: dict[str, CloudProvider] = {
    p.name: p
    for p in (
        CloudProvider("aws", "account", re.compile(r"\d{12}"), "a 12-digit AWS account id", regional=True,
                      plan_scan=_aws),
        CloudProvider("azure", "subscription", re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
                      "an Azure subscription id (GUID)", regional=False, plan_scan=_azure),
        CloudProvider("gcp", "project", re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"), "a GCP project id",
                      regional=False, plan_scan=_gcp, needs_account=True),
    )
}


def provider(name: str) -> CloudProvider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}: one of {', '.join(PROVIDERS)}") from None


# What an account id looks like per cloud, as (pattern, description) for the configuration checks.
ACCOUNT_ID_PATTERNS = {name: (p.account_id, p.account_id_description) for name, p in PROVIDERS.items()}
