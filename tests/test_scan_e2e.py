"""A whole scan through the real collectors and storage, against moto: scope, accounts, coverage gaps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Control, Framework
from skywarden.scanners.errors import CollectionError, ConfigError
from skywarden.storage.findings import query_findings

CATALOGUES = {
    "cis-aws-3.0": Framework("cis-aws-3.0", "CIS", "3.0.0", {"3.6": Control("3.6", "KMS rotation", "3", True)})
}
RULE = """
id: test-kms-rotation
title: KMS key rotation is enabled
severity: medium
resource: aws.kms.key
where: {all: [{key: customer_managed, op: eq, value: true}, {key: KeyState, op: eq, value: Enabled}]}
check: {key: rotation_enabled, op: eq, value: true}
frameworks: {cis-aws-3.0: ["3.6"]}
"""
REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture
def kms_rules(tmp_path):
    path = tmp_path / "kms.yaml"
    path.write_text(RULE)
    return load_rules([path], catalogues=CATALOGUES)


def deny_in(session: boto3.Session, region: str, operation: str = "ListKeys") -> None:
    """Make every `operation` call in `region` answer AccessDenied, as an SCP or missing permission would."""

    def refuse(params, context, **kwargs):
        if context.get("client_region") == region:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied by test"}}, operation)

    session.events.register(f"before-call.kms.{operation}", refuse)


def test_region_access_denied_keeps_its_findings(tmp_path, kms_rules):
    from skywarden.storage.db import open_db

    db = open_db(tmp_path / "s.db")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        for region in REGIONS:
            boto3.client("kms", region_name=region).create_key(Description=f"key in {region}")
        first = scan_aws(db, kms_rules, AwsScope(regions=REGIONS), session=session)
        assert first.status == "succeeded" and len(first.reconcile.new) == 2
        # Fix nothing, lose access to eu-west-1, and rotate the us-east-1 key.
        east_key = boto3.client("kms", region_name="us-east-1").list_keys()["Keys"][0]["KeyId"]
        boto3.client("kms", region_name="us-east-1").enable_key_rotation(KeyId=east_key)
        denied = boto3.Session(region_name="us-east-1")
        deny_in(denied, "eu-west-1")
        second = scan_aws(db, kms_rules, AwsScope(regions=REGIONS), session=denied)
    assert second.status == "partial"
    assert [(g.service, g.region, g.error_class) for g in second.gaps] == [("kms", "eu-west-1", "AccessDenied")]
    states = {row["region"]: row["state"] for row in query_findings(db, states=None)}
    assert states == {"us-east-1": "resolved", "eu-west-1": "open"}
    stored_gaps = list(db.query("SELECT region, error_class FROM coverage WHERE scan_id = ? AND status = 'failed'",
                                [second.scan_id]))
    assert stored_gaps == [{"region": "eu-west-1", "error_class": "AccessDenied"}]


def test_accounts_file_assumes_roles_in_each_account(tmp_path, kms_rules):
    from skywarden.storage.db import open_db

    accounts = tmp_path / "accounts.yml"
    accounts.write_text(
        "accounts:\n"
        "  - {id: '123456789012', name: management}\n"
        "  - {name: payments, role_arn: 'arn:aws:iam::222222222222:role/SkywardenReadOnly', regions: [eu-west-1]}\n"
    )
    db = open_db(tmp_path / "s.db")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        boto3.client("kms", region_name="us-east-1").create_key()
        creds = boto3.client("sts").assume_role(
            RoleArn="arn:aws:iam::222222222222:role/SkywardenReadOnly", RoleSessionName="seed"
        )["Credentials"]
        boto3.client("kms", region_name="eu-west-1", aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["SessionToken"]).create_key()
        outcome = scan_aws(db, kms_rules, AwsScope(accounts_file=accounts, regions=()), session=session,
                           max_workers=4)
        only = scan_aws(db, kms_rules, AwsScope(accounts=["payments"], accounts_file=accounts), session=session)
    assert outcome.inventory.accounts == {"123456789012": "management", "222222222222": "payments"}
    found = {(row["account_id"], row["region"]) for row in query_findings(db)}
    assert ("222222222222", "eu-west-1") in found and ("123456789012", "us-east-1") in found
    assert only.inventory.accounts == {"222222222222": "payments"}
    assert {u.region for u in only.inventory.coverage} == {"eu-west-1"}


def test_organizations_discovery(tmp_path, kms_rules):
    from skywarden.storage.db import open_db

    db = open_db(tmp_path / "s.db")
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        org.create_account(Email="a@example.com", AccountName="sandbox")
        outcome = scan_aws(db, kms_rules, AwsScope(organization_role="SkywardenReadOnly", regions=["us-east-1"]),
                           session=boto3.Session(region_name="us-east-1"))
    assert "sandbox" in outcome.inventory.accounts.values()
    assert len(outcome.inventory.accounts) == 2


def test_unknown_account_selector(tmp_path, kms_rules):
    from skywarden.storage.db import open_db

    with mock_aws(), pytest.raises(ConfigError, match="unknown account 'prod'"):
        scan_aws(open_db(tmp_path / "s.db"), kms_rules, AwsScope(accounts=["prod"]),
                 session=boto3.Session(region_name="us-east-1"))


def test_missing_credentials_fail_fast_with_a_clear_error(tmp_path, kms_rules, monkeypatch):
    from skywarden.storage.db import open_db

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    db = open_db(tmp_path / "s.db")
    with pytest.raises(CollectionError, match="NoCredentials"):
        scan_aws(db, kms_rules, AwsScope(regions=["us-east-1"]))
    assert list(db.query("SELECT * FROM scans")) == []


def test_cli_missing_credentials_exit_non_zero(tmp_path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "scan", "aws", "--regions", "us-east-1",
                                       "--rules", str(Path(__file__).parent / "data" / "rules")])
    assert result.exit_code == 1
    assert "AWS credentials are not usable (NoCredentials)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read accounts file"),
        ("accounts: [\n", "invalid YAML"),
        ("accounts:\n  - {id: '12', name: x}\n", "not a 12-digit AWS account id"),
        ("accounts:\n  - {name: x, colour: red, id: '123456789012'}\n", "accounts[0].colour is not a known key"),
        ("nothing: here\n", "unknown key 'nothing'"),
    ],
)
def test_cli_bad_accounts_file(tmp_path, content, message):
    path = tmp_path / "accounts.yml"
    if content is not None:
        path.write_text(content)
    with mock_aws():
        result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "scan", "aws", "--accounts-file",
                                           str(path), "--rules", str(Path(__file__).parent / "data" / "rules")])
    assert result.exit_code == 1
    assert message in result.output and str(path) in result.output
    assert "Traceback" not in result.output


def test_cli_scan_json_and_findings(tmp_path):
    rules = str(Path(__file__).parent / "data" / "rules")
    db = str(tmp_path / "s.db")
    with mock_aws():
        boto3.client("kms", region_name="us-east-1").create_key(Description="unrotated")
        result = CliRunner().invoke(main, ["--db", db, "scan", "aws", "--regions", "us-east-1", "--rules", rules,
                                           "--format", "json", "--output", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "out.json").read_text())
    assert len(records) == 1
    required = {"finding_id", "rule_id", "title", "severity", "provider", "account_id", "region", "resource_type",
                "resource_id", "state", "frameworks", "first_seen", "last_seen"}
    assert required <= set(records[0])
    assert records[0]["frameworks"]["cis-aws-3.0"] == ["3.6"]
    assert records[0]["state"] == "open" and records[0]["resource_type"] == "aws.kms.key"
    for fmt in ("csv", "ocsf", "table"):
        listed = CliRunner().invoke(main, ["--db", db, "findings", "--format", fmt])
        assert listed.exit_code == 0, listed.output
        assert records[0]["finding_id"] in listed.output or fmt == "table"
    ocsf = json.loads(CliRunner().invoke(main, ["--db", db, "findings", "--format", "ocsf"]).output)
    assert ocsf[0]["class_uid"] == 2004 and ocsf[0]["severity_id"] == 3 and ocsf[0]["status"] == "New"
    status = CliRunner().invoke(main, ["--db", db, "status"])
    assert "succeeded" in status.output
