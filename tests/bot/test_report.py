"""`skywarden report`: the demo estate scanned with every shipped rule, then reported per CIS AWS 3.0 control.

The HTML is read back with a real parser (html.parser): every catalogue control must be there with the
status the stored verdicts imply and the resources behind it, checked against the findings table.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from html.parser import HTMLParser

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main
from skywarden.bot.core.compliance import build_report
from skywarden.bot.core.report import render_html, render_markdown
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.demo.aws_estate import DEMO_REGIONS, seed_demo_estate
from skywarden.rules.frameworks import load_catalogues
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Control, Framework, Rule
from skywarden.storage.check_results import latest_check_results
from skywarden.storage.db import open_db
from skywarden.storage.findings import ACTIVE_STATES, query_findings

FRAMEWORK = "cis-aws-3.0"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    patch = pytest.MonkeyPatch()
    patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    path = str(tmp_path_factory.mktemp("report") / "demo.db")
    db = open_db(path)
    try:
        with mock_aws():
            session = boto3.Session(region_name="us-east-1")
            seed_demo_estate(session)
            scan_aws(db, load_rules(), AwsScope(regions=DEMO_REGIONS), session=session)
    finally:
        db.close()
        patch.undo()
    return path


class _ReportParser(HTMLParser):
    """Controls (tr.control: data-control, data-status) and the verdicts listed under each (li data-result
    with the resource id in code.resource); also every src/href, to prove nothing is loaded from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, str] = {}
        self.resources: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.links: list[str] = []
        self.tags: list[str] = []
        self._control: str | None = None
        self._result: str | None = None
        self._in_resource = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]
        if tag == "tr" and "control" in (attributes.get("class") or "").split():
            self._control = attributes["data-control"]
            self.controls[self._control] = attributes["data-status"] or ""
        elif tag == "li" and "data-result" in attributes:
            self._result = attributes["data-result"]
        elif tag == "code" and "resource" in (attributes.get("class") or "").split():
            self._in_resource, self._text = True, []

    def handle_data(self, data: str) -> None:
        if self._in_resource:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._in_resource:
            self._in_resource = False
            assert self._control and self._result
            self.resources[self._control].add((self._result, "".join(self._text)))


def _report(db: str, fmt: str, *extra: str) -> str:
    result = CliRunner().invoke(main, ["--db", db, "report", "--framework", FRAMEWORK, "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def _expected(db_path: str) -> tuple[dict[str, str], dict[str, set[tuple[str, str]]]]:
    """Status and failing resources per control, from the catalogue, the rules and the findings table."""
    framework = load_catalogues()[FRAMEWORK]
    rules = [r for r in load_rules() if FRAMEWORK in r.frameworks]
    db = open_db(db_path, readonly=True)
    failing = defaultdict(set)
    for finding in query_findings(db, states=ACTIVE_STATES):
        for control in finding["frameworks"].get(FRAMEWORK, ()):
            failing[control].add(("fail", finding["resource_id"]))
    verdicts = defaultdict(set)
    for row in latest_check_results(db):
        verdicts[row["rule_id"]].add(row["status"])
    db.close()
    status = {}
    for control in framework.controls.values():
        mapped = [r.id for r in rules if control.id in r.frameworks[FRAMEWORK]]
        seen = set().union(*(verdicts[r] for r in mapped)) if mapped else set()
        if not control.automated:
            status[control.id] = "manual"
        elif "fail" in seen:
            status[control.id] = "fail"
        elif "pass" in seen and "error" not in seen:
            status[control.id] = "pass"
        else:
            status[control.id] = "not evaluated"
    return status, failing


def test_html_report_lists_every_control_with_its_status_and_resources(demo_db):
    html = _report(demo_db, "html")
    parser = _ReportParser()
    parser.feed(html)
    status, failing = _expected(demo_db)
    assert parser.controls == status  # every control of the catalogue, automated or manual, and its status
    counts = {s: list(status.values()).count(s) for s in ("pass", "fail", "manual", "not evaluated")}
    assert counts["fail"] >= 10 and counts["pass"] >= 3 and counts["manual"] >= 5
    for control, expected_status in status.items():
        listed_failures = {item for item in parser.resources.get(control, set()) if item[0] == "fail"}
        assert listed_failures == failing.get(control, set()), control
        if expected_status == "pass":
            assert parser.resources[control] and all(result == "pass" for result, _ in parser.resources[control])
    # The twins: MFA for console users (1.10) fails on bob.contractor and passes on alice.nguyen.
    users = {(result, rid.rsplit("/", 1)[-1]) for result, rid in parser.resources["1.10"]}
    assert ("fail", "bob.contractor") in users and ("pass", "alice.nguyen") in users
    # Self-contained: the only thing loaded is the inline chart; no script at all.
    assert parser.links and all(link.startswith("data:image/png;base64,") for link in parser.links)
    assert "script" not in parser.tags and "link" not in parser.tags


def test_csv_and_markdown_cover_every_control(demo_db):
    status, failing = _expected(demo_db)
    rows = list(csv.DictReader(io.StringIO(_report(demo_db, "csv"))))
    assert {row["control_id"]: row["control_status"] for row in rows} == status
    csv_failures = defaultdict(set)
    for row in rows:
        if row["result"] == "fail":
            csv_failures[row["control_id"]].add(("fail", row["resource_id"]))
    assert csv_failures == failing
    markdown = _report(demo_db, "md")
    header = ("| Control", "| ---")
    table = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith(header)]
    assert {line.split(" | ")[0][2:]: line.split(" | ")[2] for line in table} == status


def test_report_limited_to_an_account_and_unknown_framework(demo_db, tmp_path):
    other = _report(demo_db, "csv", "--account", "999999999999")
    assert {row["control_status"] for row in csv.DictReader(io.StringIO(other))} == {"manual", "not evaluated"}
    result = CliRunner().invoke(main, ["--db", demo_db, "report", "--framework", "cis-aws-9"])
    assert result.exit_code == 2 and "unknown framework 'cis-aws-9'" in result.output and "cis-aws-3.0" in result.output
    out = tmp_path / "r.html"
    written = CliRunner().invoke(main, ["--db", demo_db, "report", "--framework", FRAMEWORK, "--output", str(out)])
    assert written.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_hostile_names_are_escaped():
    framework = Framework("fw", "Frame<b>work</b>", "1", {
        "1.1": Control("1.1", "Title <i>x</i>", "1 <u>s</u>", True),
        "1.2": Control("1.2", "Manual | pipe", "1 <u>s</u>", False),
    })
    rule = Rule(id="r<1>", title="t", description="d", severity="high", resource_type="aws.s3.bucket",
                frameworks={"fw": ("1.1",)}, remediation_guidance="", remediation_action=None, source_file="x",
                check=lambda props, resource: True)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    row = {"rule_id": "r<1>", "resource_id": f"arn:aws:s3:::{hostile}", "resource_name": hostile,
           "account_id": "123456789012", "region": "us-east-1", "status": "fail", "detail": f"tag {hostile}"}
    report = build_report(framework, [rule], [row], "2026-12-04T06:00:00+00:00")
    parser = _ReportParser()
    parser.feed(render_html(report))
    assert parser.controls == {"1.1": "fail", "1.2": "manual"}
    assert parser.resources["1.1"] == {("fail", f"arn:aws:s3:::{hostile}")}  # shown as text, intact
    assert "script" not in parser.tags and parser.tags.count("img") == 1  # only the chart is an image
    markdown = render_markdown(report)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown and "Manual \\| pipe" in markdown


def test_report_on_a_database_from_before_check_results(tmp_path):
    import sqlite_utils

    from skywarden.storage.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    MIGRATIONS.apply(sqlite_utils.Database(path), stop_before="m009_check_results")
    result = CliRunner().invoke(main, ["--db", str(path), "report", "--framework", FRAMEWORK, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "no check results stored yet" in result.stderr
    statuses = {row["control_status"] for row in csv.DictReader(io.StringIO(result.stdout))}
    assert statuses == {"manual", "not evaluated"}


def test_chart_commands_write_pngs(demo_db, tmp_path):
    from PIL import Image

    from skywarden.bot.core.charts import posture_height_px

    db = open_db(demo_db, readonly=True)
    stored = {row["rule_id"] for row in latest_check_results(db)}
    db.close()
    spoken = {key for rule in load_rules() if rule.id in stored for key in rule.frameworks}
    posture, trend = tmp_path / "posture.png", tmp_path / "trend.png"
    for args in (["chart", "posture", "--output", str(posture)], ["chart", "trend", "--days", "3", "--output",
                                                                   str(trend)]):
        result = CliRunner().invoke(main, ["--db", demo_db, *args])
        assert result.exit_code == 0, result.output
    assert "cis-aws-3.0" in spoken and "cis-gcp-2.0" not in spoken
    with Image.open(posture) as image:
        assert image.size == (1000, posture_height_px(len(spoken)))
    with Image.open(trend) as image:
        assert image.size == (1000, 640)
    empty = tmp_path / "empty.db"
    open_db(empty).close()
    refused = CliRunner().invoke(main, ["--db", str(empty), "chart", "posture", "--output", str(tmp_path / "x.png")])
    assert refused.exit_code == 1 and "no scan results yet" in refused.output
