"""Rule files: valid packs load; every problem names the file, the rule and the field; nothing is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import main
from skywarden.rules.loader import load_rules
from skywarden.rules.model import Control, Framework
from skywarden.scanners.errors import RulePackError

CATALOGUES = {
    "cis-aws-3.0": Framework(
        "cis-aws-3.0", "CIS", "3.0.0", {"2.1.4": Control("2.1.4", "Block public access", "2", True)}
    ),
    "nist-800-53-r5": Framework(
        "nist-800-53-r5", "NIST", "r5", {"AC-3": Control("AC-3", "Access Enforcement", "AC", True)}
    ),
}

GOOD = """
rules:
  - id: test-s3-block
    title: S3 bucket blocks public access
    severity: high
    resource: aws.s3.bucket
    check: {key: public_access_block.BlockPublicAcls, op: eq, value: true}
    frameworks: {cis-aws-3.0: ["2.1.4"], nist-800-53-r5: [AC-3]}
    remediation: {guidance: "Turn it on.", action: aws.s3.block_public_access}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_pack_loads(tmp_path):
    rules = load_rules([write(tmp_path, "good.yaml", GOOD)], catalogues=CATALOGUES)
    assert [r.id for r in rules] == ["test-s3-block"]
    rule = rules[0]
    assert rule.frameworks == {"cis-aws-3.0": ("2.1.4",), "nist-800-53-r5": ("AC-3",)}
    assert rule.remediation_action == "aws.s3.block_public_access"
    assert rule.reads == frozenset({"public_access_block"})
    assert rule.provider == "aws"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("severity: high", "severity: urgent"), "severity", "'urgent' is not one of"),
        (("    severity: high\n", ""), "severity", "missing required field"),
        (("op: eq", "op: equals"), "check.op", "unknown operator"),
        (("key: public_access_block.BlockPublicAcls", "key: 'a[['"), "check.key", "bad JMESPath"),
        (("cis-aws-3.0:", "cis-aws-9.9:"), "frameworks.cis-aws-9.9", "unknown framework key"),
        (('["2.1.4"]', '["9.9.9"]'), "frameworks.cis-aws-3.0", "'9.9.9' is not in the cis-aws-3.0 catalogue"),
        (("resource: aws.s3.bucket", "resource: bucket"), "resource", "not a resource type"),
        (("    title:", "    colour: red\n    title:"), "colour", "unknown field"),
    ],
)
def test_errors_name_file_rule_and_field(tmp_path, change, field, message):
    path = write(tmp_path, "bad.yaml", GOOD.replace(*change))
    with pytest.raises(RulePackError) as info:
        load_rules([path], catalogues=CATALOGUES)
    errors = info.value.errors
    assert any(e.file == str(path) and e.rule_id == "test-s3-block" and e.field == field and message in e.message
               for e in errors), [str(e) for e in errors]


def test_unknown_remediation_action_is_reported(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD)
    with pytest.raises(RulePackError) as info:
        load_rules([path], catalogues=CATALOGUES, known_actions={"aws.other"})
    assert "remediation.action" in str(info.value)


def test_all_errors_are_collected_and_no_rule_is_skipped_silently(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "bad.yaml", GOOD.replace("test-s3-block", "other-rule").replace("op: eq", "op: nope")
          .replace("severity: high", "severity: huge"))
    with pytest.raises(RulePackError) as info:
        load_rules([tmp_path], catalogues=CATALOGUES)
    fields = {e.field for e in info.value.errors}
    assert {"check.op", "severity"} <= fields


def test_duplicate_ids_and_invalid_yaml(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)
    write(tmp_path, "c.yaml", "rules: [\n")
    with pytest.raises(RulePackError) as info:
        load_rules([tmp_path], catalogues=CATALOGUES)
    text = str(info.value)
    assert "duplicate rule id" in text
    assert "c.yaml: invalid YAML" in text


def test_cli_validate_reports_and_exits_non_zero(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("op: eq", "op: equals"))
    result = CliRunner().invoke(main, ["rules", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path} rule test-s3-block field check.op: unknown operator 'equals'" in result.output
    assert "Traceback" not in result.output


def test_cli_validate_missing_path(tmp_path):
    result = CliRunner().invoke(main, ["rules", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such file" in result.output
