"""Role assumption on the worker is cached per process until shortly before the credentials expire."""

from __future__ import annotations

import time

import boto3
from moto import mock_aws

from skywarden.bot.worker.roles import REFRESH_MARGIN_S, RoleCache
from skywarden.scanners.aws.session import AccountSpec

SPEC = AccountSpec("210000000009", "member", "arn:aws:iam::210000000009:role/SkywardenReadOnly")


@mock_aws
def test_an_assumed_role_is_reused_until_shortly_before_it_expires():
    now = [time.time()]
    calls: list[str] = []
    base = boto3.Session(region_name="us-east-1")
    base.events.register("before-call.sts.AssumeRole", lambda **_: calls.append("AssumeRole"))
    cache = RoleCache(base=lambda: base, clock=lambda: now[0])

    first = cache.target(SPEC)
    assert first.error is None and first.clients is not None and first.clients.account_id == SPEC.id
    assert cache.target(SPEC).clients.session is first.clients.session  # a second unit of the account
    assert calls == ["AssumeRole"]

    now[0] += 3600 - REFRESH_MARGIN_S - 60  # moto's credentials last an hour: still well before expiry
    assert cache.target(SPEC).clients.session is first.clients.session
    now[0] += 120  # now inside the refresh margin
    renewed = cache.target(SPEC)
    assert renewed.clients.session is not first.clients.session and calls == ["AssumeRole", "AssumeRole"]


@mock_aws
def test_an_account_without_a_role_must_be_the_workers_own():
    cache = RoleCache(base=lambda: boto3.Session(region_name="us-east-1"))
    other = cache.target(AccountSpec("210000000008", "other"))
    assert other.clients is None and other.error[0] == "AccessDenied" and "210000000008" in other.error[1]
    own = cache.target(AccountSpec(None, "default"))
    assert own.error is None and own.clients is not None
