"""The service reaches each finding's cloud through the matching environment, and says so when none is set up."""

from __future__ import annotations

import pytest

from skywarden.bot.core.remediation import RemediationService
from skywarden.rules.remediation.environments import MultiCloudEnvironment, RemediationEnvironment
from skywarden.scanners.errors import RemediationError
from skywarden.storage.db import open_db
from tests.bot.helpers import RULES


class Recording(RemediationEnvironment):
    def __init__(self) -> None:
        self.collected: list[str] = []

    def collect(self, finding):
        self.collected.append(finding["resource_id"])
        return None  # "no longer exists": enough to see which environment was asked

    def clients(self, account_id):
        raise AssertionError("not reached")


def insert_finding(db, provider: str, number: int) -> None:
    db["findings"].insert({
        "id": f"f{number}", "number": number, "rule_id": "aws-s3-bucket-block-public-access",
        "resource_id": f"{provider}-resource", "resource_type": "aws.s3.bucket", "provider": provider,
        "account_id": "a", "region": "global", "severity": "high", "title": "t", "frameworks": "{}",
        "state": "open", "state_changed_at": "2026-01-01", "first_seen": "2026-01-01", "last_seen": "2026-01-01",
        "reopened_count": 0,
    })


def test_findings_go_to_their_own_cloud(tmp_path):
    db = open_db(tmp_path / "m.db")
    insert_finding(db, "azure", 1)
    insert_finding(db, "gcp", 2)
    azure, gcp = Recording(), Recording()
    service = RemediationService(db, list(RULES.values()), MultiCloudEnvironment({"azure": azure, "gcp": gcp}))
    for ref in ("1", "2"):
        with pytest.raises(RemediationError, match="no longer exists"):
            service.plan(ref)
    assert azure.collected == ["azure-resource"] and gcp.collected == ["gcp-resource"]


def test_a_cloud_without_an_environment_is_a_clear_error(tmp_path):
    db = open_db(tmp_path / "m.db")
    insert_finding(db, "gcp", 1)
    service = RemediationService(db, list(RULES.values()), MultiCloudEnvironment({"aws": Recording()}))
    with pytest.raises(RemediationError, match="not configured for gcp"):
        service.plan("1")


def test_an_environment_declares_its_own_cloud_errors(tmp_path):
    # The base used to catch and name AWS's errors for every cloud; now an AWS error from an environment that
    # did not declare it is a bug to surface, not a cloud answer to misreport.
    from botocore.exceptions import ClientError

    class Undeclared(Recording):
        def collect(self, finding):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketAcl")

    assert RemediationEnvironment.errors == ()
    db = open_db(tmp_path / "m.db")
    insert_finding(db, "gcp", 1)
    service = RemediationService(db, list(RULES.values()), MultiCloudEnvironment({"gcp": Undeclared()}))
    with pytest.raises(ClientError):
        service.plan("1")
