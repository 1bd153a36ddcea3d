"""Test-wide safety: no real credentials, no metadata endpoints, no network beyond loopback."""

from __future__ import annotations

import os

# Set before any SDK is imported by a test module.
_SAFE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
}
os.environ.update(_SAFE_ENV)
# moto's ~1,300 default AMIs come with snapshots that describe_snapshots(OwnerIds=["self"]) reports as ours:
# one AMI keeps EC2 tests fast and their snapshot inventory meaningful. Read once, when moto's EC2 loads.
os.environ["MOTO_AMIS_PATH"] = os.path.join(os.path.dirname(__file__), "..", "bot", "demo", "aws_amis.json")
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SKYWARDEN_DB", "SKYWARDEN_BROKER_URL"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402


@pytest.fixture
def fresh_db(tmp_path):
    from skywarden.storage.db import open_db

    db = open_db(tmp_path / "test.db")
    yield db
    db.close()
