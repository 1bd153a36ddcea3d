"""Role assumption on the worker, cached per worker process: the units of one account (its global services
and its region batches) reuse one assumed-role session until shortly before its credentials expire, instead
of calling STS for every unit. The base credentials are the worker's own chain; nothing comes from the task."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from skywarden.scanners.aws.context import CLIENT_CONFIG, AwsAccountClients
from skywarden.scanners.aws.errors import classify
from skywarden.scanners.aws.session import SESSION_NAME, AccountSpec, Target, base_session, caller_account, new_session

REFRESH_MARGIN_S = 300.0  # a cached session is replaced this long before its credentials expire


class RoleCache:
    def __init__(self, base: Callable[[], boto3.Session] = base_session, margin_s: float = REFRESH_MARGIN_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._base_factory = base
        self._margin_s = margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._base: tuple[boto3.Session, str, str] | None = None  # session, caller account, partition
        self._sessions: dict[tuple[str, str | None], tuple[boto3.Session, float]] = {}

    def _caller(self) -> tuple[boto3.Session, str, str]:
        with self._lock:
            if self._base is None:
                session = self._base_factory()
                self._base = (session, *caller_account(session))
            return self._base

    def target(self, spec: AccountSpec) -> Target:
        """The account reached through its role (or the worker's own account), or why it could not be."""
        session, caller_id, partition = self._caller()
        if spec.role_arn is None:
            if spec.id not in (None, caller_id):
                return Target(spec, error=("AccessDenied", f"no role_arn for {spec.id} and the worker's "
                                                           f"credentials are for {caller_id}"))
            return Target(spec, AwsAccountClients(session, caller_id, spec.name, partition))
        try:
            assumed = self._assumed(session, spec.role_arn, spec.external_id)
        except (ClientError, BotoCoreError) as exc:
            return Target(spec, error=classify(exc))
        account_id = spec.id or spec.role_arn.split(":")[4]
        return Target(spec, AwsAccountClients(assumed, account_id, spec.name, partition))

    def _assumed(self, base: boto3.Session, role_arn: str, external_id: str | None) -> boto3.Session:
        key = (role_arn, external_id)
        with self._lock:
            cached = self._sessions.get(key)
            if cached is not None and cached[1] - self._margin_s > self._clock():
                return cached[0]
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME}
        if external_id:
            params["ExternalId"] = external_id
        creds = base.client("sts", config=CLIENT_CONFIG).assume_role(**params)["Credentials"]
        session = new_session(aws_access_key_id=creds["AccessKeyId"],
                              aws_secret_access_key=creds["SecretAccessKey"],
                              aws_session_token=creds["SessionToken"], region_name=base.region_name)
        with self._lock:
            self._sessions[key] = (session, creds["Expiration"].timestamp())
        return session
