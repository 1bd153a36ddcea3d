"""Posture and coverage: controls in numeric id order with titles, and totals that add up (issue 12, item 7)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import main
from skywarden.rules.frameworks import control_sort_key, framework_coverage, load_catalogues, posture, posture_summary
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Control, Framework
from tests.rules.test_engine import make_rule

FW = Framework("fw", "Test FW", "1", {
    cid: Control(cid, f"Title of {cid}", "1", automated)
    for cid, automated in [("1.10", True), ("1.2", True), ("2.1.4", True), ("2.1.3", True), ("9.1", False),
                           ("3.1", True)]
})


def rule(rule_id: str, controls: tuple[str, ...], resource_type: str = "aws.s3.bucket"):
    base = make_rule(rule_id, {"key": "ok", "op": "eq", "value": True}, resource_type=resource_type)
    return type(base)(**{**{f: getattr(base, f) for f in base.__slots__}, "frameworks": {"fw": controls}})


RULES = [rule("r-a", ("1.10", "9.1")), rule("r-b", ("1.2",)), rule("r-c", ("2.1.4",)),
         rule("r-d", ("2.1.3",), resource_type="aws.rds.db_instance")]


def test_controls_are_sorted_numerically_with_titles_and_statuses():
    view = posture(FW, RULES, {"r-a": 2}, evaluated_types={"aws.s3.bucket"})
    assert list(view["controls"]) == ["1.2", "1.10", "2.1.3", "2.1.4"]
    assert view["controls"]["1.10"] == {"title": "Title of 1.10", "rules": ["r-a"], "failing": 2, "status": "failing"}
    assert view["controls"]["2.1.3"]["status"] == "not evaluated"  # no RDS instance was ever collected
    assert view["controls"]["1.2"]["status"] == "passing"


def test_totals_add_up_and_manual_controls_are_not_counted():
    view = posture(FW, RULES, {"r-a": 2}, evaluated_types={"aws.s3.bucket"})
    assert (view["passing"], view["failing"], view["not_evaluated"]) == (2, 1, 1)
    assert view["passing"] + view["failing"] + view["not_evaluated"] == view["controls_checked"] == 4
    assert view["controls_checked"] + view["uncovered"] == view["automated"] == 5  # 3.1 has no rule
    assert view["automated"] + view["manual"] == len(FW.controls)
    assert "9.1" not in view["controls"]  # cited by r-a, but manual: supporting evidence only
    assert posture_summary(view) == (
        "2 of 4 checked controls passing (50.0%), 1 failing, 1 not evaluated; 1 automated without a rule;"
        " 1 manual (not checkable by a cloud API)")
    assert framework_coverage(FW, RULES)["manual_cited"] == ["9.1"]


def test_sort_key_orders_dotted_and_nist_ids():
    ids = ["1.10", "A1.1", "AC-10", "1.2", "AC-2(1)", "10.2.1", "2.1.4", "AC-2", "2.1.3", "12"]
    assert sorted(ids, key=control_sort_key) == [
        "1.2", "1.10", "2.1.3", "2.1.4", "10.2.1", "12", "A1.1", "AC-2", "AC-2(1)", "AC-10"]


@pytest.mark.parametrize("key", sorted(load_catalogues()))
def test_shipped_catalogue_numbers_add_up(key):
    framework = load_catalogues()[key]
    coverage = framework_coverage(framework, load_rules())
    assert coverage["automated"] + coverage["manual"] == coverage["controls"] == len(framework.controls)
    assert len(coverage["checked"]) + len(coverage["automated_uncovered"]) == coverage["automated"]
    assert coverage["checked"] == sorted(coverage["checked"], key=control_sort_key)


def test_cli_frameworks_numbers_add_up():
    output = CliRunner().invoke(main, ["frameworks"]).output
    pci = next(line for line in output.splitlines() if line.startswith("pci-dss-4.0:"))
    total, automated, manual, checked, without = map(int, re.findall(
        r"(\d+) controls = (\d+) automated .*\+ (\d+) manual; (\d+) automated checked by a rule, (\d+) without",
        pci)[0])
    assert (total, automated, manual) == (364, 72, 292)
    assert checked + without == automated
