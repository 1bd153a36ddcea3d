"""The demo estate, scanned end to end with every shipped rule: a realistic mix of failures and passes.

One moto session for the module: seed once, scan once into a temporary database, then assert on the scan.
The assertions are written against whatever collectors and rules exist, so new packs only make them stronger,
but each one demands concrete behaviour (a named bad resource fails where its good twin passes).
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from skywarden.bot.core.scanning import AwsScope, ScanOutcome, scan_aws
from skywarden.bot.demo.aws_estate import DEMO_REGIONS, seed_demo_estate
from skywarden.rules.engine import Engine
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Outcome, Rule
from skywarden.scanners.model import Resource
from tests.support.aws import outcomes

# Services moto does not implement at all: their units fail with moto's "Not yet implemented" 404.
MOTO_UNIMPLEMENTED = {"accessanalyzer"}
# Rule errors that come from moto, not from the estate: (resource type, error text). moto's credential
# report has no <root_account> row, so root activity cannot be read.
MOTO_ERRORS = {("aws.iam.root", "NotInCredentialReport")}

# (resource type, a deliberately bad resource, its well-configured twin), matched on resource name.
TWINS = [
    ("aws.s3.bucket", "acme-data-exports", "acme-prod-logs"),
    ("aws.s3.bucket", "acme-marketing-assets", "payments-invoices-archive"),
    ("aws.ec2.security_group", "bastion-sg", "acme-prod-web-sg"),
    ("aws.ec2.security_group", "windows-jump-sg", "acme-eu-web-sg"),
    ("aws.ec2.instance", "legacy-reporting-01", "api-server-01"),
    ("aws.ec2.volume", "legacy-reporting-scratch", "api-data-01"),
    ("aws.ec2.vpc", "acme-staging-vpc", "acme-prod-vpc"),
    ("aws.ec2.network_acl", "acme-eu-staging-public-nacl", "acme-prod-private-nacl"),
    ("aws.iam.user", "bob.contractor", "alice.nguyen"),
    ("aws.iam.user", "ci-deploy", "carol.smith"),
    ("aws.iam.user", "legacy-etl", "dave.okafor"),
    ("aws.iam.policy", "acme-full-admin", "acme-developer-access"),
    ("aws.kms.key", "alias/acme-legacy-app", "alias/acme-prod-data"),
    ("aws.rds.db_instance", "payments-db", "orders-db"),
    ("aws.rds.db_snapshot", "payments-db-pre-migration", "orders-db-weekly"),
    ("aws.efs.file_system", "shared-media-efs", "ml-datasets-efs"),
    ("aws.cloudtrail.trail", "acme-legacy-audit-trail", "acme-org-trail"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    from skywarden.storage.db import open_db

    patch = pytest.MonkeyPatch()
    # moto's ~1,300 default AMIs come with backing snapshots it reports as ours; the estate needs none of them.
    patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    rules = load_rules()
    db = open_db(tmp_path_factory.mktemp("demo") / "demo.db")
    try:
        with mock_aws():
            session = boto3.Session(region_name="us-east-1")
            seeded = seed_demo_estate(session)
            outcome = scan_aws(db, rules, AwsScope(regions=DEMO_REGIONS), session=session)
        yield seeded, rules, outcome
    finally:
        db.close()
        patch.undo()


@pytest.fixture(scope="module")
def results(demo) -> dict[tuple[str, str], Outcome]:
    _, rules, outcome = demo
    return outcomes(rules, outcome.inventory.resources)


def named(outcome: ScanOutcome, resource_type: str, name: str) -> Resource | None:
    matches = [r for r in outcome.inventory.resources if r.type == resource_type and name in (r.name, r.id)]
    return matches[0] if matches else None


def test_seed_reports_what_it_created(demo):
    seeded, _, _ = demo
    assert seeded["regions"] == list(DEMO_REGIONS)
    assert seeded["total"] >= 60
    assert seeded["counts"]["s3.bucket"] >= 8 and seeded["counts"]["iam.user"] >= 5


def test_scan_covers_a_realistic_estate_over_two_regions(demo):
    _, _, outcome = demo
    resources = outcome.inventory.resources
    assert len(resources) >= 60
    regions = {r.region for r in resources}
    assert set(DEMO_REGIONS) <= regions
    assert len({r.type for r in resources}) >= 8


def test_no_coverage_gaps(demo):
    _, _, outcome = demo
    gaps = [(g.service, g.region, g.error_class, g.message) for g in outcome.gaps]
    unexpected = [g for g in gaps if g[0] not in MOTO_UNIMPLEMENTED]
    assert unexpected == []
    # The only tolerated gap is moto's own, and it must say so (not e.g. AccessDenied).
    assert all("not yet implemented" in (message or "").lower() for *_, message in gaps)
    assert outcome.status in ("succeeded", "partial") and (outcome.status == "succeeded") == (not gaps)


def test_no_rule_errors_on_the_demo(demo):
    _, _, outcome = demo
    unexpected = [
        (e.rule.id, e.resource.id, e.detail)
        for e in outcome.report.errors
        if not any(e.resource.type == kind and text in (e.detail or "") for kind, text in MOTO_ERRORS)
        and e.resource.id.split(":")[2] not in MOTO_UNIMPLEMENTED
    ]
    assert unexpected == []


def test_findings_span_severities_including_critical_and_high(demo):
    _, _, outcome = demo
    severities = {f.rule.severity for f in outcome.report.failures}
    assert {"critical", "high"} <= severities
    assert len(severities) >= 3
    assert outcome.summary["outcomes"]["fail"] == len(outcome.report.failures) >= 20


def test_good_resources_pass_where_bad_twins_fail(demo, results):
    """For each type with rules, some rule fails the bad resource and passes its twin."""
    _, rules, outcome = demo
    engine = Engine(rules)
    checked = 0
    for resource_type, bad_name, good_name in TWINS:
        if not engine.rules_for(resource_type):
            continue  # that pack has not landed yet
        bad, good = named(outcome, resource_type, bad_name), named(outcome, resource_type, good_name)
        assert bad is not None and good is not None, f"{resource_type} {bad_name}/{good_name} not collected"
        discriminating = [
            rule.id
            for rule in engine.rules_for(resource_type)
            if results.get((rule.id, bad.id)) is Outcome.FAIL and results.get((rule.id, good.id)) is Outcome.PASS
        ]
        assert discriminating, f"no rule fails {bad_name} and passes {good_name}"
        checked += 1
    assert checked >= 10


def test_many_rules_both_pass_and_fail(demo, results):
    _, rules, _ = demo
    by_rule: dict[str, set[Outcome]] = {}
    for (rule_id, _), result in results.items():
        by_rule.setdefault(rule_id, set()).add(result)
    mixed = sorted(rule_id for rule_id, seen in by_rule.items() if {Outcome.PASS, Outcome.FAIL} <= seen)
    passing_only = [rule_id for rule_id, seen in by_rule.items() if Outcome.FAIL not in seen and Outcome.PASS in seen]
    assert len(mixed) >= 15, mixed
    # Some rules find nothing wrong on the estate at all.
    assert passing_only


@pytest.mark.parametrize(
    ("resource_type", "name", "rule_id"),
    [
        ("aws.s3.bucket", "acme-marketing-assets", "aws-s3-bucket-not-public"),
        ("aws.s3.bucket", "acme-public-website", "aws-s3-bucket-not-public"),
        ("aws.ec2.security_group", "bastion-sg", "aws-ec2-sg-no-admin-ports-from-ipv4-world"),
        ("aws.ec2.security_group", "windows-jump-sg", "aws-ec2-sg-no-admin-ports-from-ipv6-world"),
        ("aws.ec2.snapshot", "eu-batch-scratch-nightly", "aws-ec2-snapshot-not-public"),
        ("aws.rds.db_snapshot", "payments-db-pre-migration", "aws-rds-snapshot-not-public"),
        ("aws.rds.db_instance", "payments-db", "aws-rds-instance-not-public"),
        ("aws.iam.policy", "acme-full-admin", "aws-iam-policy-no-full-admin"),
        ("aws.iam.user", "ci-deploy", "aws-iam-user-single-active-access-key"),
        ("aws.iam.user", "bob.contractor", "aws-iam-user-console-mfa"),
        ("aws.efs.file_system", "shared-media-efs", "aws-efs-file-system-encrypted"),
    ],
)
def test_headline_misconfigurations_are_found(demo, results, resource_type, name, rule_id):
    _, rules, outcome = demo
    if rule_id not in {rule.id for rule in rules}:
        pytest.fail(f"rule {rule_id} is not shipped")
    resource = named(outcome, resource_type, name)
    assert resource is not None, f"{name} not collected"
    assert results[(rule_id, resource.id)] is Outcome.FAIL


@pytest.mark.parametrize(
    "rule_id",
    ["aws-ec2-ebs-default-encryption", "aws-config-recorder-enabled", "aws-securityhub-enabled"],
)
def test_region_level_settings_differ_between_regions(demo, results, rule_id):
    """EBS default encryption, AWS Config and Security Hub are on in the primary region only."""
    _, rules, outcome = demo
    rule: Rule = next(r for r in rules if r.id == rule_id)
    by_region = {
        r.region: results[(rule.id, r.id)] for r in outcome.inventory.resources if r.type == rule.resource_type
    }
    assert by_region == {"us-east-1": Outcome.PASS, "eu-west-1": Outcome.FAIL}


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        ("aws-cloudwatch-alarm-unauthorized-api-calls", Outcome.PASS),  # filter, alarm, subscribed topic
        ("aws-cloudwatch-alarm-root-usage", Outcome.PASS),
        ("aws-cloudwatch-alarm-console-signin-without-mfa", Outcome.FAIL),  # filter but no alarm
        ("aws-cloudwatch-alarm-vpc-changes", Outcome.FAIL),  # no filter at all
        ("aws-cloudtrail-multi-region-logging", Outcome.PASS),
        ("aws-cloudtrail-s3-data-events-write", Outcome.PASS),
        ("aws-cloudtrail-s3-data-events-read", Outcome.FAIL),
    ],
)
def test_account_level_monitoring_is_partly_in_place(demo, results, rule_id, expected):
    _, rules, outcome = demo
    rule: Rule = next(r for r in rules if r.id == rule_id)
    found = [results[(rule.id, r.id)] for r in outcome.inventory.resources if r.type == rule.resource_type]
    assert found == [expected]
