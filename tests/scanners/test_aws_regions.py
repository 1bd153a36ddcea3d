"""Opt-in regions the account has not enabled are skipped and shown as skipped, never failed (rules-review)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, enabled_regions, resolve_targets
from skywarden.scanners.model import SKIPPED

# moto answers DescribeRegions(AllRegions=True) as AWS does for a fresh account: ap-east-1 (Hong Kong) is
# an opt-in region with OptInStatus "not-opted-in".
DISABLED = "ap-east-1"


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def _scan(session: boto3.Session, regions: list[str] | None, calls: list[str]) -> Any:
    session.events.register("before-call.ec2", lambda model, context, **_: calls.append(context["client_region"]))
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    return collect_aws(targets, regions=regions, resource_types=["aws.ec2.regional_settings"], max_workers=2)


def test_enabled_regions_reads_each_regions_opt_in_status(session: boto3.Session) -> None:
    answer = session.client("ec2").describe_regions(AllRegions=True)["Regions"]
    assert {"RegionName": DISABLED, "OptInStatus": "not-opted-in"}.items() <= next(
        r for r in answer if r["RegionName"] == DISABLED
    ).items()
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    enabled = enabled_regions(targets[0].clients)
    assert "us-east-1" in enabled and DISABLED not in enabled


def test_a_requested_disabled_region_is_skipped_not_failed(session: boto3.Session) -> None:
    calls: list[str] = []
    inventory = _scan(session, ["us-east-1", DISABLED], calls)
    by_region = {unit.region: unit for unit in inventory.coverage}
    assert by_region["us-east-1"].status == "ok"
    skipped = by_region[DISABLED]
    assert skipped.status == SKIPPED and skipped.error_class == "RegionDisabled"
    assert DISABLED in (skipped.message or "")
    assert inventory.gaps == [] and inventory.skipped == [skipped]
    assert DISABLED not in calls  # nothing was sent to the disabled region
    assert [r.region for r in inventory.resources] == ["us-east-1"]


def test_the_cli_shows_the_skipped_region_and_the_scan_succeeds(tmp_path: Any, session: boto3.Session) -> None:
    rules = str(Path(__file__).parents[1] / "data" / "rules")
    db = str(tmp_path / "s.db")
    args = ["--db", db, "scan", "aws", "--regions", f"us-east-1,{DISABLED}", "--rules", rules]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"skipped region: account 123456789012 {DISABLED}: not enabled" in result.output
    assert "coverage gap" not in result.output
    status = CliRunner().invoke(main, ["--db", db, "status"])
    assert "succeeded" in status.output
