"""Reaching AWS for remediation: write clients from each account's remediation role, read-only re-collects."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from skywarden.rules.remediation.base import ClientFactory, RemediationEnvironment, collect_region
from skywarden.scanners.aws.context import CLIENT_CONFIG
from skywarden.scanners.aws.errors import classify
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, assume_role, caller_account, resolve_targets
from skywarden.scanners.errors import RemediationError
from skywarden.scanners.model import Resource


class AwsRemediationEnvironment(RemediationEnvironment):
    errors = (ClientError, BotoCoreError)

    def classify(self, exc: BaseException) -> tuple[str, str]:
        return classify(exc)

    def __init__(self, session: boto3.Session, specs: Sequence[AccountSpec] = ()) -> None:
        self.session = session
        self.specs = {spec.id: spec for spec in specs if spec.id}
        self._caller: str | None = None
        self._lock = threading.Lock()

    def _spec(self, account_id: str) -> AccountSpec:
        if account_id in self.specs:
            return self.specs[account_id]
        if self._caller is None:
            self._caller = caller_account(self.session)[0]
        if account_id == self._caller:
            return AccountSpec(id=account_id, name=account_id)
        raise RemediationError(f"account {account_id} is not configured: list it in the accounts file")

    def clients(self, account_id: str) -> ClientFactory:
        spec = self._spec(account_id)
        session = self.session
        if spec.remediation_role_arn:
            try:
                session = assume_role(self.session, spec.remediation_role_arn, spec.external_id,
                                      session_name="skywarden-remediation")
            except (ClientError, BotoCoreError) as exc:
                error_class, message = classify(exc)
                raise RemediationError(
                    f"cannot assume the remediation role of {account_id}: {error_class}: {message}"
                ) from exc
        cache: dict[tuple[str, str | None], Any] = {}
        default_region = session.region_name or "us-east-1"

        def client(service: str, region: str | None) -> Any:
            key = (service, region)
            with self._lock:
                if key not in cache:
                    cache[key] = session.client(service, region_name=region or default_region, config=CLIENT_CONFIG)
                return cache[key]

        return client

    def collect(self, finding: Mapping[str, Any]) -> Resource | None:
        """Re-collect the finding's resource with the read-only scan credentials."""
        target = resolve_targets(self.session, [self._spec(finding["account_id"])])[0]
        if target.clients is None:
            error_class, message = target.error or ("Unreachable", "")
            raise RemediationError(f"cannot reach account {finding['account_id']}: {error_class}: {message}")
        region = collect_region(finding, target.clients.default_region)
        inventory = collect_aws([target], regions=[region], resource_types=[finding["resource_type"]], max_workers=4)
        if inventory.gaps:
            gap = inventory.gaps[0]
            raise RemediationError(f"cannot re-collect {finding['resource_id']}: {gap.error_class}: {gap.message}")
        return next((r for r in inventory.resources if r.id == finding["resource_id"]), None)
