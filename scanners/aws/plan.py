"""An AWS scan's plan: the accounts a scope names (accounts file, organization, or the credentials' own),
their sessions, and how to collect them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import (
    AccountsFile,
    AccountSpec,
    base_session,
    discover_organization,
    load_accounts_file,
    resolve_targets,
)
from skywarden.scanners.errors import ConfigError
from skywarden.scanners.model import CollectionResult, Inventory
from skywarden.scanners.scan_plan import ScanPlan, ScanTarget


@dataclass
class AwsScope:
    """What to scan in AWS: accounts (ids or names from the accounts file), regions, where credentials come from."""

    accounts: Sequence[str] = ()
    regions: Sequence[str] = ()
    accounts_file: Path | None = None
    organization_role: str | None = None
    profile: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "accounts_file": str(self.accounts_file) if self.accounts_file else None,
            "organization_role": self.organization_role,
        }


def select_accounts(scope: AwsScope, session: Any) -> list[AccountSpec]:
    """The account specs a scope names; with no accounts file, the credentials' own account."""
    specs: list[AccountSpec] = []
    file: AccountsFile | None = load_accounts_file(scope.accounts_file) if scope.accounts_file else None
    if file is not None:
        specs.extend(file.accounts)
    org_role = scope.organization_role or (file.organization_role if file else None)
    if org_role:
        exclude = file.organization_exclude if file else ()
        known = {spec.id for spec in specs}
        specs.extend(spec for spec in discover_organization(session, org_role, exclude) if spec.id not in known)
    if not specs:
        # No accounts file: the credentials' own account; an explicit id must then be that account.
        if scope.accounts:
            return [AccountSpec(id=_account_id(a), name=a) for a in scope.accounts]
        return [AccountSpec(id=None, name="default")]
    if scope.accounts:
        wanted = set(scope.accounts)
        chosen = [spec for spec in specs if spec.id in wanted or spec.name in wanted]
        missing = sorted(wanted - {spec.id for spec in chosen} - {spec.name for spec in chosen})
        if missing:
            raise ConfigError(f"unknown account {missing[0]!r}: not in the accounts file or the organization")
        specs = chosen
    if file is not None and file.regions and not scope.regions:
        specs = [spec if spec.regions else _with_regions(spec, file.regions) for spec in specs]
    return specs


def _account_id(selector: str) -> str:
    if not (selector.isdigit() and len(selector) == 12):
        raise ConfigError(f"unknown account {selector!r}: name accounts in an accounts file (--accounts-file)")
    return selector


def _with_regions(spec: AccountSpec, regions: Sequence[str]) -> AccountSpec:
    return dataclasses.replace(spec, regions=tuple(regions))


def plan_aws(
    scope: AwsScope,
    session: Any | None = None,
    max_workers: int = 16,
    on_plan: Callable[[int], None] | None = None,
    on_result: Callable[[CollectionResult], None] | None = None,
) -> ScanPlan:
    """Raises CollectionError when the credentials are unusable."""
    session = session or base_session(scope.profile)
    specs = select_accounts(scope, session)
    targets = resolve_targets(session, specs)  # raises CollectionError when the credentials are unusable

    def collect(resource_types: frozenset[str]) -> Inventory:
        return collect_aws(
            targets,
            regions=list(scope.regions) or None,
            resource_types=resource_types,
            max_workers=max_workers,
            on_result=on_result,
            on_plan=on_plan,
        )

    return ScanPlan(scope.describe(), collect)


def plan_scan(target: ScanTarget) -> ScanPlan:
    """The provider seam's entry: ``target.options`` may carry accounts_file (and session, max_workers)."""
    options = dict(target.options)
    scope = AwsScope(accounts=target.accounts, regions=target.regions, accounts_file=options.pop("accounts_file", None))
    return plan_aws(scope, **options)
