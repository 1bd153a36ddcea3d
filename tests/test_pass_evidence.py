"""Pass evidence: `scan --include-passed` in every format, OCSF checked by py-ocsf-models, verdicts stored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from skywarden.bot.cli import main
from skywarden.storage.check_results import latest_check_results
from skywarden.storage.db import open_db

RULES = str(Path(__file__).parent / "data" / "rules")


def _keys() -> dict[str, str]:
    kms = boto3.client("kms", region_name="us-east-1")
    unrotated = kms.create_key(Description="unrotated")["KeyMetadata"]["KeyId"]
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    disabled = kms.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    return {"unrotated": unrotated, "rotated": rotated, "disabled": disabled}


def _scan(db: str, fmt: str, *extra: str) -> str:
    result = CliRunner().invoke(main, ["--db", db, "scan", "aws", "--regions", "us-east-1", "--rules", RULES,
                                       "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def _validate(records: list[dict]) -> None:
    for record in records:
        model = DetectionFinding.model_validate(record)
        assert model.cloud is not None and model.cloud.account is not None
        assert model.cloud.account.name and int(model.cloud.account.type_id) == 10
        assert model.class_uid == 2004 and int(model.type_uid) == 200400 + record["activity_id"]
        assert model.metadata.product.vendor_name == "Skywarden"


@pytest.mark.parametrize("include_passed", [False, True])
def test_ocsf_records_validate_with_py_ocsf_models(tmp_path, include_passed):
    with mock_aws():
        keys = _keys()
        records = json.loads(_scan(str(tmp_path / "s.db"), "ocsf", *(["--include-passed"] if include_passed else [])))
    _validate(records)
    by_code = {r["status_code"]: r for r in records}
    assert by_code["FAIL"]["resources"][0]["uid"].endswith(keys["unrotated"])
    assert by_code["FAIL"]["status_id"] == 1 and by_code["FAIL"]["status"] == "New"
    if include_passed:
        assert len(records) == 2  # the disabled key is not applicable: neither passed nor failed
        assert by_code["PASS"]["resources"][0]["uid"].endswith(keys["rotated"])
        assert by_code["PASS"]["status_id"] == 99 and by_code["PASS"]["unmapped"]["compliance"] == {
            "cis-aws-3.0": ["3.6"]}
    else:
        assert len(records) == 1


def test_json_and_csv_include_passed(tmp_path):
    with mock_aws():
        keys = _keys()
        db = str(tmp_path / "s.db")
        plain = json.loads(_scan(db, "json"))
        records = json.loads(_scan(db, "json", "--include-passed"))
        table = CliRunner().invoke(main, ["--db", db, "scan", "aws", "--regions", "us-east-1", "--rules", RULES,
                                          "--include-passed"], env={"COLUMNS": "250"}).stdout
        rows = list(csv.DictReader(io.StringIO(_scan(db, "csv", "--include-passed"))))
    assert [r["status"] for r in plain] == ["FAIL"]
    assert [(r["status"], r["resource_id"].split("/")[-1]) for r in records] == [
        ("FAIL", keys["unrotated"]), ("PASS", keys["rotated"])]
    passed = records[1]
    assert passed["number"] is None and passed["state"] is None and passed["frameworks"] == {"cis-aws-3.0": ["3.6"]}
    assert [(r["status"], r["resource_id"].split("/")[-1]) for r in rows] == [
        ("FAIL", keys["unrotated"]), ("PASS", keys["rotated"])]
    assert "pass" in table and keys["rotated"] in table and f"{keys['rotated']} passes:" in table


def test_every_verdict_is_stored_and_replaced_by_the_next_scan(tmp_path):
    db = str(tmp_path / "s.db")
    with mock_aws():
        keys = _keys()
        _scan(db, "json")
        first = {r["resource_id"].split("/")[-1]: r["status"] for r in latest_check_results(open_db(db))}
        boto3.client("kms", region_name="us-east-1").enable_key_rotation(KeyId=keys["unrotated"])
        _scan(db, "json")
        conn = open_db(db)
        second = {r["resource_id"].split("/")[-1]: (r["status"], r["scan_id"]) for r in latest_check_results(conn)}
    assert first == {keys["unrotated"]: "fail", keys["rotated"]: "pass", keys["disabled"]: "not_applicable"}
    assert second == {key: (status, 2) for key, status in
                      ((keys["unrotated"], "pass"), (keys["rotated"], "pass"), (keys["disabled"], "not_applicable"))}
