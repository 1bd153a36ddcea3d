"""GCP projects as distributed units: a real `skywarden worker` reaches the loopback Cloud Asset stand-in with
credentials and endpoint from its own environment (the task carries neither), and the stored scan equals the
in-process one."""

from __future__ import annotations

import json

import pytest

from skywarden.bot.core.scanning_gcp import scan_gcp
from skywarden.bot.demo.gcp_estate import DATA, SANDBOX, WEB, serve_demo_estate
from skywarden.rules.loader import load_rules
from skywarden.scanners.gcp.credentials import asset_client
from skywarden.scanners.gcp.scan import GcpScope
from skywarden.storage.db import open_db
from tests.distributed.conftest import start_worker, stop_worker
from tests.distributed.test_distributed_scan import stored


@pytest.fixture
def standin():
    with serve_demo_estate() as standin:
        yield standin


def test_gcp_projects_are_collected_and_evaluated_by_a_worker(tmp_path, standin, redis_url, moto_endpoint,
                                                              monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2.credentials import Credentials

    rules = [rule for rule in load_rules() if rule.provider == "gcp"]
    scope = GcpScope(projects=[WEB, DATA, SANDBOX])
    local, remote = open_db(tmp_path / "local.db"), open_db(tmp_path / "remote.db")
    embedded = scan_gcp(local, rules, scope, client=asset_client(Credentials(token="t"), standin.endpoint))

    # The worker's own credentials: a fresh service account key whose token endpoint is the stand-in.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    credentials = tmp_path / "key.json"
    credentials.write_text(json.dumps({"type": "service_account", "project_id": WEB, "private_key_id": "k1",
                                       "private_key": pem, "client_email": f"scanner@{WEB}.iam.gserviceaccount.com",
                                       "client_id": "1", "token_uri": f"{standin.endpoint}/token"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    monkeypatch.setenv("SKYWARDEN_GCP_ASSET_ENDPOINT", standin.endpoint)
    broker = redis_url.rsplit("/", 1)[0] + "/6"
    worker = start_worker(broker, moto_endpoint, "gcp", concurrency=2)
    # Only the worker may know them: the scanning process has no GCP credentials and no endpoint.
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    monkeypatch.delenv("SKYWARDEN_GCP_ASSET_ENDPOINT")
    bearers_before = set(standin.authorizations)
    try:
        distributed = scan_gcp(remote, rules, scope, broker=broker)
    finally:
        stop_worker(worker)
    assert set(standin.authorizations) - bearers_before  # the worker's own credentials were used
    assert distributed.status == embedded.status and not distributed.gaps
    assert json.loads(remote["scans"].get(distributed.scan_id)["scope"])["distributed"] is True
    findings, checks, resources = stored(remote)
    assert findings and resources and (findings, checks, resources) == stored(local)
    row = remote["scans"].get(distributed.scan_id)
    assert (row["units_done"], row["units_total"]) == (3, 3)
    assert distributed.inventory.accounts == embedded.inventory.accounts
