"""What an AWS collector receives: clients for one account, a memo shared by its collectors, and helpers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from skywarden.scanners.aws.errors import classify, error_code
from skywarden.scanners.model import ERRORS_KEY, GLOBAL_REGION, Resource

T = TypeVar("T")

# Adaptive mode adds client-side rate limiting on top of retries, which is what a scan fanning out over
# hundreds of calls per region needs when AWS starts throttling.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, max_pool_connections=32)


class AwsAccountClients:
    """Clients and memoised answers for one account, shared by every collector thread of a scan."""

    def __init__(self, session: boto3.Session, account_id: str, name: str, partition: str = "aws") -> None:
        self.session = session
        self.account_id = account_id
        self.name = name
        self.partition = partition
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._memo: dict[Any, Any] = {}
        self._memo_locks: dict[Any, threading.Lock] = {}
        self.default_region = session.region_name or "us-east-1"
        # The regions this scan covers in the account; global collectors that must look in every region
        # (CloudTrail's single-region trails) read it.
        self.regions: list[str] = [self.default_region]

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:  # boto3 sessions are not thread-safe while creating clients; clients are
            if key not in self._clients:
                self._clients[key] = self.session.client(service, region_name=key[1], config=CLIENT_CONFIG)
            return self._clients[key]

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Compute once per scan and account, even when several collectors ask at the same time."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            lock = self._memo_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._memo:
                    return self._memo[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self._memo[key] = value
            return value


class AwsContext:
    """The context for one collection unit: an account, and a region (``global`` for global services)."""

    provider = "aws"

    def __init__(self, account: AwsAccountClients, region: str) -> None:
        self.account = account
        self.account_id = account.account_id
        self.partition = account.partition
        self.region = region

    def client(self, service: str, region: str | None = None) -> Any:
        if region is None:
            region = None if self.region == GLOBAL_REGION else self.region
        return self.account.client(service, region)

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        return self.account.memo(key, compute)

    def paginate(self, client: Any, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(result_key, []))
        return items

    def arn(self, service: str, resource: str, region: str | None = None, account: bool = True) -> str:
        region_part = "" if region is None else region
        account_part = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region_part}:{account_part}:{resource}"

    def resource(
        self,
        type: str,
        id: str,
        name: str,
        properties: Mapping[str, Any],
        tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None = None,
        region: str | None = None,
    ) -> Resource:
        return Resource(
            provider="aws",
            account_id=self.account_id,
            region=region or self.region,
            type=type,
            id=id,
            name=name,
            tags=normalise_tags(tags),
            properties=jsonable(properties),
        )


def jsonable(value: Any) -> Any:
    """Botocore answers carry datetimes and bytes; inventory is stored and compared as plain JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def normalise_tags(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """AWS returns tags as [{'Key','Value'}] (or TagKey/TagValue); rules always see one dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    result = {}
    for tag in tags:
        key = tag.get("Key", tag.get("TagKey"))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("TagValue", "")))
    return result


def try_call(
    errors: dict[str, str],
    key: str,
    call: Callable[[], T],
    missing: Iterable[str] = (),
    default: Any = None,
) -> T | Any:
    """Read one part of a resource.

    An error whose code is in ``missing`` means "not configured" and gives ``default``; any other error is
    recorded under ``key`` in ``errors`` (which collectors store as ``properties['_errors']``) so rules
    that read ``key`` evaluate to ERROR instead of a false PASS or FAIL.
    """
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in set(missing):
            return default
        errors[key] = classify(exc)[0]
        return None
    except BotoCoreError as exc:  # an endpoint that cannot be reached for this one part (e.g. S3 Control)
        errors[key] = classify(exc)[0]
        return None


def with_errors(properties: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    if errors:
        properties[ERRORS_KEY] = dict(errors)
    return properties
