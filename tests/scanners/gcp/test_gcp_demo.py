"""The GCP demo estate scans end to end and shows failures and passes across the pack."""

from __future__ import annotations

from skywarden.bot.demo.gcp_estate import DATA, SANDBOX, WEB
from skywarden.bot.demo.gcp_scan import run_gcp_demo_scan
from skywarden.rules.loader import BUILTIN_PACKS, load_rules
from skywarden.storage.findings import query_findings


def test_demo_estate_scan(fresh_db):
    rules = load_rules([BUILTIN_PACKS / "gcp"])
    outcome = run_gcp_demo_scan(fresh_db, rules)
    assert outcome.status == "succeeded" and not outcome.report.errors
    assert sorted(outcome.inventory.accounts) == sorted([DATA, WEB, SANDBOX])
    assert len(outcome.inventory.coverage) == 3 * 14  # three projects, fourteen asset-type groups
    failing = {f.rule.id for f in outcome.report.failures}
    assert len(failing) >= 25  # the estate shows most of the pack
    findings = query_findings(fresh_db, states=("open",), provider="gcp")
    assert {f["account_id"] for f in findings} == {WEB, DATA, SANDBOX}
    public = {f["resource_id"] for f in findings if f["rule_id"] == "gcp-storage-bucket-not-public"}
    assert public == {"//storage.googleapis.com/acme-storefront-assets", "//storage.googleapis.com/acme-sandbox-share"}
    assert outcome.summary["outcomes"]["pass"] > 0  # the data project is mostly right
    datasets = {f["resource_id"] for f in findings if f["rule_id"] == "gcp-bigquery-dataset-not-public"}
    assert datasets == {"//bigquery.googleapis.com/projects/acme-sandbox/datasets/sandbox_share"}
    alerted = {f["account_id"] for f in findings if f["rule_id"] == "gcp-monitoring-alert-audit-config-changes"}
    assert alerted == {WEB, SANDBOX}  # the data project has the metric and an alert policy on it
