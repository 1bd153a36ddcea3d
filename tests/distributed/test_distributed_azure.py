"""Azure subscriptions as distributed units: a real `skywarden worker` reaches the loopback ARM stand-in with
its own managed-identity credential (a loopback token endpoint), ARM/Graph URLs and CA bundle, all from its own
environment (the task carries none of them); the stored scan equals the in-process one."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from skywarden.bot.core.scanning_azure import AzureScope, scan_azure
from skywarden.bot.demo.azure_estate import PROD, RESTRICTED, SANDBOX, demo_arm
from skywarden.bot.demo.azure_standin import StaticToken
from skywarden.rules.loader import load_rules
from skywarden.storage.db import open_db
from tests.distributed.conftest import start_worker, stop_worker
from tests.distributed.test_distributed_scan import stored


@pytest.fixture
def identity_endpoint():
    """An App Service managed-identity endpoint on loopback: the token azure-identity asks the host for."""
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            served.append(self.headers.get("X-IDENTITY-HEADER") or "")
            body = json.dumps({"access_token": "worker-token", "expires_on": str(int(time.time()) + 3600),
                               "resource": "https://management.azure.com", "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/msi/token", served
    finally:
        server.shutdown()
        server.server_close()


def test_azure_subscriptions_are_collected_and_evaluated_by_a_worker(tmp_path, identity_endpoint, redis_url,
                                                                     moto_endpoint, monkeypatch):
    rules = [rule for rule in load_rules() if rule.provider == "azure"]
    scope = AzureScope(subscriptions=[PROD, SANDBOX, RESTRICTED])
    local, remote = open_db(tmp_path / "local.db"), open_db(tmp_path / "remote.db")
    endpoint, served = identity_endpoint
    with demo_arm() as (arm, settings):
        embedded = scan_azure(local, rules, scope, settings=settings, credential=StaticToken())
        for name, value in {"SKYWARDEN_AZURE_AUTH": "managed-identity", "SKYWARDEN_AZURE_ARM_URL": arm.base_url,
                            "SKYWARDEN_AZURE_GRAPH_URL": arm.base_url, "REQUESTS_CA_BUNDLE": str(arm.cert_path),
                            "IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": "worker-secret"}.items():
            monkeypatch.setenv(name, value)
        broker = redis_url.rsplit("/", 1)[0] + "/7"
        worker = start_worker(broker, moto_endpoint, "azure", concurrency=2)
        for name in ("SKYWARDEN_AZURE_ARM_URL", "SKYWARDEN_AZURE_GRAPH_URL", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
            monkeypatch.delenv(name)  # the scanning process knows neither the endpoints nor the credential
        try:
            distributed = scan_azure(remote, rules, scope, broker=broker)
        finally:
            stop_worker(worker)
    assert served and set(served) == {"worker-secret"}  # the worker's own credential fetched the tokens
    assert distributed.status == embedded.status == "partial"  # the restricted subscription answers 403
    assert {(g.account_id, g.service) for g in distributed.gaps} == {(g.account_id, g.service) for g in embedded.gaps}
    assert json.loads(remote["scans"].get(distributed.scan_id)["scope"])["distributed"] is True
    findings, checks, resources = stored(remote)
    assert findings and resources and (findings, checks, resources) == stored(local)
    assert distributed.inventory.accounts == embedded.inventory.accounts
