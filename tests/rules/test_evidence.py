"""Every FAIL says what is wrong (headline) and why (evidence); templates are safe and validated at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywarden.rules.engine import Engine
from skywarden.rules.evidence import TemplateError, compile_template
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Control, Framework
from skywarden.scanners.errors import RulePackError
from skywarden.scanners.model import Resource

CATALOGUES = {"nist-800-53-r5": Framework("nist-800-53-r5", "NIST", "r5", {"AC-3": Control("AC-3", "x", "AC", True)})}


def rules_from(tmp_path: Path, body: str):
    path = tmp_path / "pack.yaml"
    path.write_text("rules:\n" + body)
    return load_rules([path], catalogues=CATALOGUES, known_actions=[])


def rule_yaml(check: str, extra: str = "", resource: str = "aws.s3.bucket") -> str:
    return (
        "  - id: t-rule\n    title: S3 bucket is not public\n    severity: high\n"
        f"    resource: {resource}\n    check: {check}\n    frameworks: {{nist-800-53-r5: [AC-3]}}\n{extra}"
    )


def bucket(name: str, tags: dict | None = None, **props) -> Resource:
    return Resource("aws", "111111111111", "us-east-1", "aws.s3.bucket", f"arn:aws:s3:::{name}", name,
                    tags or {}, props)


def fail_of(rules, resource: Resource):
    report = Engine(rules).evaluate([resource])
    assert len(report.failures) == 1, report.counts
    return report.failures[0]


def test_templates_render_headline_and_evidence(tmp_path):
    rules = rules_from(tmp_path, rule_yaml(
        "{key: acl_public, op: eq, value: false}",
        "    failure: 'S3 bucket {name} is publicly readable'\n"
        "    message: '{name} in {region} ({tags.team}): ACL grants {properties.grants[0].permission} to"
        " {properties.grants[0].grantee}; owner {tags.missing}'\n",
    ))
    found = fail_of(rules, bucket("acme-logs", {"team": "data"}, acl_public=True,
                                  grants=[{"permission": "READ", "grantee": "AllUsers"}]))
    assert found.failure == "S3 bucket acme-logs is publicly readable"
    assert found.detail == "acme-logs in us-east-1 (data): ACL grants READ to AllUsers; owner (not set)"


def test_without_templates_the_condition_explains_the_failure(tmp_path):
    rules = rules_from(tmp_path, rule_yaml(
        "{all: [{key: versioning, op: eq, value: Enabled}, {key: logging, op: present}]}"))
    found = fail_of(rules, bucket("acme-logs", versioning="Suspended", logging={"bucket": "x"}))
    assert found.failure == "acme-logs fails: S3 bucket is not public"
    # Only the leaf that failed is named, with its actual value and the requirement.
    assert found.detail == "acme-logs: versioning is Suspended (required: eq Enabled)"


def test_every_item_names_the_offending_elements(tmp_path):
    rules = rules_from(tmp_path, rule_yaml(
        "{every_item: statements, match: {key: principal, op: ne, value: '*'}}"))
    found = fail_of(rules, bucket("acme-logs", statements=[
        {"Sid": "Internal", "principal": "arn:aws:iam::1:root"},
        {"Sid": "PublicRead", "principal": "*"},
    ]))
    assert "PublicRead (principal is * (required: ne *))" in found.detail
    assert "Internal" not in found.detail


def test_not_any_item_names_the_matching_elements(tmp_path):
    rules = rules_from(tmp_path, rule_yaml(
        "{not: {any_item: rules, match: {key: cidr, op: eq, value: 0.0.0.0/0}}}"))
    found = fail_of(rules, bucket("acme-logs", rules=[{"name": "office", "cidr": "10.0.0.0/8"},
                                                      {"name": "allow-all", "cidr": "0.0.0.0/0"}]))
    assert "allow-all" in found.detail and "office" not in found.detail


def test_python_check_evidence_is_carried(tmp_path):
    body = rule_yaml("{python: nacl_admin_ports_closed_to_world}", resource="aws.ec2.network_acl")
    rules = rules_from(tmp_path, body)
    acl = Resource("aws", "1", "us-east-1", "aws.ec2.network_acl", "acl-1", "acl-1", {}, {"ingress": [
        {"rule_number": 100, "protocol": "tcp", "from_port": 22, "to_port": 22, "action": "allow",
         "cidrs": ["0.0.0.0/0"]}]})
    found = fail_of(rules, acl)
    assert found.detail == "acl-1: rule 100 allows tcp/22 from 0.0.0.0/0"


def test_hostile_values_cannot_reach_format_machinery(tmp_path):
    rules = rules_from(tmp_path, rule_yaml("{key: ok, op: eq, value: true}",
                                           "    message: '{name} has {properties.note}'\n"))
    found = fail_of(rules, bucket("{name.__class__}", ok=False, note="{0.__globals__}"))
    assert found.detail == "{name.__class__} has {0.__globals__}"


@pytest.mark.parametrize("template, problem", [
    ("{name.__class__}", "unknown placeholder"),
    ("{properties.a[}", "bad placeholder"),
    ("open {name", "unclosed"),
    ("close }", "unmatched"),
    ("{0}", "unknown placeholder"),
    ("", "non-empty"),
])
def test_bad_templates_are_rejected_naming_file_rule_and_field(tmp_path, template, problem):
    with pytest.raises(RulePackError) as info:
        rules_from(tmp_path, rule_yaml("{key: ok, op: eq, value: true}", f"    message: {template!r}\n"))
    text = str(info.value)
    assert "pack.yaml" in text and "t-rule" in text and "message" in text and problem in text


def test_literal_braces_and_long_values():
    render = compile_template("{{literal}} {properties.blob}")
    text = render(bucket("b", blob="x" * 500))
    assert text.startswith("{literal} x") and text.endswith("…") and len(text) < 200
    with pytest.raises(TemplateError):
        compile_template("{tags}")


SHIPPED = {rule.id: rule for rule in load_rules()}


def test_a_public_bucket_says_which_grant_and_which_statement():
    public = bucket(
        "acme-logs", is_public=True,
        acl={"Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                         "Permission": "READ"},
                        {"Grantee": {"Type": "CanonicalUser", "ID": "owner"}, "Permission": "FULL_CONTROL"}]},
        policy={"Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                               "Resource": "arn:aws:s3:::acme-logs/*"},
                              {"Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                               "Action": "s3:*"}]},
        policy_status={"IsPublic": True},
        effective_public_access_block={"IgnorePublicAcls": False, "RestrictPublicBuckets": False})
    found = fail_of([SHIPPED["aws-s3-bucket-not-public"]], public)
    assert found.failure == "S3 bucket acme-logs is publicly accessible"
    assert found.detail.startswith(
        "acme-logs: ACL grants [READ to http://acs.amazonaws.com/groups/global/AllUsers]; policy statements"
        " allowing Principal *: [PublicRead allows s3:GetObject]; AWS rates the policy public: true")
    assert "FULL_CONTROL" not in found.detail and "Ops" not in found.detail


def test_a_template_value_that_cannot_be_computed_reads_not_set():
    default_sg = Resource("aws", "1", "us-east-1", "aws.ec2.security_group", "sg-1", "default", {},
                          {"is_default": True, "ingress": [{"protocol": "-1"}], "egress": None})
    found = fail_of([SHIPPED["aws-ec2-default-sg-restricts-all-traffic"]], default_sg)
    assert found.detail.startswith("default: 1 inbound and (not set) outbound rule(s)")


def test_list_items_are_named_by_their_identifying_key(tmp_path):
    rules = rules_from(tmp_path, rule_yaml("{every_item: keys, match: {key: active, op: eq, value: false}}"))
    found = fail_of(rules, bucket("u", keys=[{"slot": 1, "active": False}, {"slot": 2, "active": True}]))
    assert found.detail == "u: keys: slot 2 (active is true (required: eq false))"


def test_a_full_admin_policy_names_the_statement_by_its_sid():
    policy = Resource("aws", "1", "global", "aws.iam.policy", "arn:aws:iam::1:policy/admin", "admin", {}, {
        "AttachmentCount": 1,
        "document": {"Statement": [{"Sid": "ReadLogs", "Effect": "Allow", "Action": "logs:Get*", "Resource": "*"},
                                   {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
                                   {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}})
    found = fail_of([SHIPPED["aws-iam-policy-no-full-admin"]], policy)
    assert found.failure == "IAM policy admin allows every action on every resource"
    assert found.detail == "admin: statement(s) 1 (Sid Everything), 2 allow every action on every resource"
