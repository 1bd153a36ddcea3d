"""Collection behaviour against the stand-in: paging, throttling, per-project failures, scopes, credentials."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from skywarden.bot.core.scanning_gcp import scan_gcp
from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from skywarden.rules.loader import BUILTIN_PACKS, load_rules
from skywarden.scanners.errors import CollectionError, ConfigError
from skywarden.scanners.gcp.credentials import ASSET_ENDPOINT_ENV, GcpSettings
from skywarden.scanners.gcp.scan import GcpScope
from skywarden.storage.findings import query_findings
from skywarden.storage.scans import coverage_for, get_scan
from tests.scanners.gcp import estate
from tests.scanners.gcp.support import RecordedSleep, client_for, collect, fast_retry

RULES = load_rules([BUILTIN_PACKS / "gcp"])
BAD_PARENT, GOOD_PARENT = f"projects/{estate.BAD}", f"projects/{estate.GOOD}"


@pytest.fixture
def standin():
    with CloudAssetStandIn() as server:
        estate.seed(server)
        yield server


def _units(inventory, project):
    return {u.service: u for u in inventory.coverage if u.account_id == project}


def test_pagination_follows_next_page_token(standin):
    standin.page_limit = 2
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.compute.firewall", "gcp.compute.instance"})
    tokens = [(q.get("pageToken") or [""])[0] for q in standin.requests_for(BAD_PARENT)]
    assert tokens == ["", "2", "4"]  # 3 firewalls + 2 instances, two per page
    names = sorted(r.name for r in inventory.resources)
    assert names == ["allow-all-world", "allow-rdp-range", "allow-ssh-world", "batch-1", "web-1"]
    assert _units(inventory, estate.BAD)["compute"].resource_count == 5


def test_429_with_retry_after_is_waited_out_and_retried(standin):
    standin.fail(BAD_PARENT, 429, times=1, retry_after="7")
    sleep = RecordedSleep()
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.sql.instance"}, retry=fast_retry(sleep))
    assert sleep.waits == [7.0]
    assert len(standin.requests_for(BAD_PARENT)) == 2
    assert _units(inventory, estate.BAD)["sql"].ok
    assert sorted(r.name for r in inventory.resources) == ["mssql-1", "mysql-1", "pg-public"]


def test_a_throttled_page_mid_listing_is_retried_alone(standin):
    standin.page_limit = 1
    sleep = RecordedSleep()
    original = standin._take_fault

    def second_page_throttled(parent):  # only the request carrying a page token is throttled, once
        last = standin.requests[-1][1]
        if parent == BAD_PARENT and last.get("pageToken") == ["1"] and not sleep.waits:
            return type("F", (), {"status": 429, "retry_after": "1", "message": "slow down"})()
        return original(parent)

    standin._take_fault = second_page_throttled
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.sql.instance"}, retry=fast_retry(sleep))
    tokens = [(q.get("pageToken") or [""])[0] for q in standin.requests_for(BAD_PARENT)]
    assert tokens == ["", "1", "1", "2"] and sleep.waits == [1.0]
    assert len(inventory.resources) == 3 and not inventory.gaps


def test_persistent_throttling_is_a_coverage_gap(standin):
    standin.fail(BAD_PARENT, 429, retry_after="1")
    sleep = RecordedSleep()
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.sql.instance"}, retry=fast_retry(sleep))
    unit = _units(inventory, estate.BAD)["sql"]
    assert (unit.status, unit.error_class) == ("failed", "Throttling")
    assert "429" in unit.message and sleep.waits == [1.0, 1.0]


def test_a_retry_after_longer_than_the_cap_is_not_waited(standin):
    standin.fail(BAD_PARENT, 429, times=1, retry_after="3600")
    sleep = RecordedSleep()
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.sql.instance"}, retry=fast_retry(sleep))
    assert sleep.waits == [] and _units(inventory, estate.BAD)["sql"].error_class == "Throttling"


def test_server_errors_back_off_then_fail_as_server_error(standin):
    standin.fail(BAD_PARENT, 503)
    started = time.monotonic()
    inventory = collect(standin, GcpScope(projects=[estate.BAD]), {"gcp.storage.bucket"})
    assert time.monotonic() - started < 5  # the SDK's own minute-long retry is off (retry=None)
    unit = _units(inventory, estate.BAD)["storage"]
    assert (unit.status, unit.error_class) == ("failed", "ServerError")
    assert len(standin.requests_for(BAD_PARENT)) == 3  # fast_retry: 3 attempts


def test_403_on_one_project_is_its_coverage_gap_and_leaves_its_findings_alone(standin, fresh_db):
    scope = GcpScope(projects=[estate.BAD, estate.GOOD])
    first = scan_gcp(fresh_db, RULES, scope, client=client_for(standin), retry=fast_retry())
    assert first.status == "succeeded" and first.reconcile.summary()["new"] > 0
    bad_open = {f["id"] for f in query_findings(fresh_db, states=("open",), accounts=[estate.BAD])}
    assert bad_open

    standin.fail(BAD_PARENT, 403, message="Permission 'cloudasset.assets.listResource' denied")
    second = scan_gcp(fresh_db, RULES, scope, client=client_for(standin), retry=fast_retry())
    assert second.status == "partial"
    gaps = {(g.account_id, g.error_class) for g in second.gaps}
    assert gaps == {(estate.BAD, "AccessDenied")}
    assert {g.service for g in second.gaps} == {
        "storage",
        "compute",
        "sql",
        "kms",
        "iam",
        "logging",
        "dns",
        "dataproc",
        "bigquery",
        "monitoring",
        "apikeys",
        "serviceusage",
        "accessapproval",
        "essentialcontacts",
    }
    assert second.reconcile.summary()["resolved"] == 0
    assert {f["id"] for f in query_findings(fresh_db, states=("open",), accounts=[estate.BAD])} == bad_open
    stored = coverage_for(fresh_db, second.scan_id, failed_only=True)
    assert {row["account_id"] for row in stored} == {estate.BAD}
    assert all("cloudasset.assets.listResource" in row["message"] for row in stored)


def test_folder_scope_discovers_its_active_projects(standin):
    standin.add_project(
        "acme-deleted", "1003", ancestors=("folders/200", "organizations/100"), lifecycle_state="DELETE_REQUESTED"
    )
    inventory = collect(standin, GcpScope(folder="200"), {"gcp.storage.bucket"})
    assert inventory.accounts == {estate.BAD: "Acme (bad)"}
    assert [q.get("assetTypes") for q in standin.requests_for("folders/200")] == [
        ["cloudresourcemanager.googleapis.com/Project"]
    ]
    assert {r.name for r in inventory.resources} == {"bad-public", "bad-logs"}


def test_organization_scope_covers_every_project(standin):
    inventory = collect(standin, GcpScope(organization="organizations/100"), {"gcp.logging.project_sinks"})
    assert sorted(inventory.accounts) == [estate.BAD, estate.GOOD]
    assert sorted(u.account_id for u in inventory.coverage if u.ok) == [estate.BAD, estate.GOOD]


def test_an_unreadable_organization_is_a_gap_naming_it(standin):
    standin.fail("organizations/100", 403)
    inventory = collect(standin, GcpScope(organization="100"), {"gcp.storage.bucket"})
    assert [(u.account_id, u.error_class) for u in inventory.coverage] == [("organizations/100", "AccessDenied")]


def test_scope_needs_exactly_one_kind():
    with pytest.raises(ConfigError, match="choose one GCP scope"):
        GcpScope(projects=["a"], folder="1")
    with pytest.raises(ConfigError):
        GcpScope()


def test_missing_credentials_fail_fast_with_the_scope_named_and_recorded(fresh_db):
    started = time.monotonic()
    with pytest.raises(CollectionError, match=r"projects/acme-bad.*GOOGLE_APPLICATION_CREDENTIALS"):
        scan_gcp(fresh_db, RULES, GcpScope(projects=[estate.BAD]), settings=GcpSettings())
    assert time.monotonic() - started < 10
    scan = get_scan(fresh_db, 1)
    assert scan["status"] == "failed" and scan["provider"] == "gcp"
    gaps = coverage_for(fresh_db, 1, failed_only=True)
    assert gaps and {(g["account_id"], g["error_class"]) for g in gaps} == {(estate.BAD, "NoCredentials")}


def test_a_missing_credentials_file_is_named(fresh_db, tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(CollectionError, match=f"folders/7: credentials file {missing} .from --credentials-file"):
        scan_gcp(fresh_db, RULES, GcpScope(folder="7"), settings=GcpSettings(credentials_file=str(missing)))


def _key_file(tmp_path, standin):
    """A freshly generated service account key whose token endpoint is the stand-in: nothing leaves loopback."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "key.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": estate.GOOD,
                "private_key_id": "k1",
                "private_key": pem.decode(),
                "client_email": f"scanner@{estate.GOOD}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"{standin.endpoint}/token",
            }
        )
    )
    return path


def _bearer_jwt_or_token(standin):
    """The GAPIC client signs its own JWT for service accounts; either way a real bearer went out."""
    headers = set(standin.authorizations)
    assert len(headers) == 1
    (header,) = headers
    assert header and header.startswith("Bearer ")
    return header


def test_credentials_file_and_endpoint_from_the_environment(standin, fresh_db, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_key_file(tmp_path, standin)))
    monkeypatch.setenv(ASSET_ENDPOINT_ENV, standin.endpoint)
    settings = GcpSettings.resolve()
    assert settings.asset_endpoint == standin.endpoint
    outcome = scan_gcp(fresh_db, RULES, GcpScope(projects=[estate.GOOD]), settings=settings, retry=fast_retry())
    assert outcome.status == "succeeded" and outcome.report.counts
    header = _bearer_jwt_or_token(standin)
    assert header == "Bearer standin-token" or header.count(".") == 2  # token endpoint, or self-signed JWT


def test_cli_scan_gcp(standin, tmp_path, monkeypatch):
    from skywarden.bot.cli import main

    monkeypatch.setenv(ASSET_ENDPOINT_ENV, standin.endpoint)
    creds = _key_file(tmp_path, standin)
    db = tmp_path / "cli.db"
    args = [
        "--db",
        str(db),
        "scan",
        "gcp",
        "--project",
        estate.BAD,
        "--credentials-file",
        str(creds),
        "--format",
        "json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "gcp-storage-bucket-not-public" in result.output and estate.BAD in result.output
    both = CliRunner().invoke(main, ["--db", str(db), "scan", "gcp", "--project", "a", "--folder", "1"])
    assert both.exit_code != 0 and "choose one GCP scope" in both.output


def test_credentials_file_types_other_than_keys_are_refused(fresh_db, tmp_path):
    path = tmp_path / "external.json"
    path.write_text(json.dumps({"type": "external_account", "credential_source": {"executable": {"command": "x"}}}))
    with pytest.raises(CollectionError, match="type 'external_account'.*GOOGLE_APPLICATION_CREDENTIALS"):
        scan_gcp(fresh_db, RULES, GcpScope(projects=["p"]), settings=GcpSettings(credentials_file=str(path)))
