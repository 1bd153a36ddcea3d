"""Assumed-role sessions share one parsed copy of the service models (scale: hundreds of accounts per scan)."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import boto3
import pytest
from botocore.loaders import JSONFileLoader
from moto import mock_aws

from skywarden.scanners.aws.session import AccountSpec, _shared_loader, base_session, resolve_targets
from skywarden.scanners.errors import CollectionError

MEMBERS = ["210000000001", "210000000002", "210000000003"]


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        yield base_session(region="us-east-1")


def _specs() -> list[AccountSpec]:
    return [AccountSpec(id=a, name=f"m{a[-1]}", role_arn=f"arn:aws:iam::{a}:role/Audit") for a in MEMBERS]


def test_member_sessions_parse_each_service_model_once(session: boto3.Session) -> None:
    loaded: list[str] = []
    real = JSONFileLoader.load_file

    def counting(self: JSONFileLoader, file_path: str) -> object:
        data = real(self, file_path)
        if data is not None:  # None: not on this search path, the loader tries the next
            loaded.append(file_path)
        return data

    targets = resolve_targets(session, _specs())
    with mock.patch.object(JSONFileLoader, "load_file", counting):
        for target in targets:
            assert target.clients is not None
            target.clients.client("ec2", "eu-west-1")
    ec2_models = [path for path in loaded if "/ec2/" in path and path.endswith("service-2")]
    # Without the shared loader each member session parses EC2's model again (3 times here).
    assert len(ec2_models) <= 1


def test_member_sessions_keep_their_own_credentials(session: boto3.Session) -> None:
    targets = resolve_targets(session, _specs())
    seen = set()
    for target in targets:
        assert target.clients is not None
        seen.add(target.clients.client("sts", "us-east-1").get_caller_identity()["Account"])
    assert seen == set(MEMBERS)


def test_the_shared_search_path_does_not_grow_per_session(session: boto3.Session) -> None:
    before = list(_shared_loader().search_paths)
    for _ in range(5):
        resolve_targets(session, _specs())
    assert _shared_loader().search_paths == before
    assert len(before) == len(set(before))


def test_an_unknown_profile_is_still_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with pytest.raises(CollectionError, match="no-such-profile"):
        base_session("no-such-profile")
