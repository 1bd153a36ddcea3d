"""docs/rules-review.md covers every shipped AWS rule, and every test it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

from skywarden.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[1]
REVIEW = ROOT / "docs" / "rules-review.md"
# `scanners/test_aws_s3.py::test_x` or `scanners/test_aws_s3.py` (paths relative to tests/); `::test_y` cites a
# test in the file named last before it.
CITATION = re.compile(r"`((?:[\w/]+/)?test_\w+\.py)?(::test_\w+)?(?:\[[^\]]*\])?`")


def test_every_aws_rule_is_reviewed() -> None:
    text = REVIEW.read_text()
    missing = [
        rule.id
        for rule in load_rules()
        if rule.provider == "aws" and f"`{rule.id}`" not in text and not _covered_by_prefix(rule.id, text)
    ]
    assert missing == []


def _covered_by_prefix(rule_id: str, text: str) -> bool:
    # A family reviewed together is written `aws-cloudwatch-alarm-*`.
    return any(rule_id.startswith(prefix + "-") for prefix in re.findall(r"`(aws-[a-z0-9-]+)-\*`", text))


def test_every_cited_test_exists() -> None:
    current: Path | None = None
    missing = []
    for line in REVIEW.read_text().splitlines():
        for path, name in CITATION.findall(line):
            if path:
                current = ROOT / "tests" / path
                if not current.exists():
                    missing.append(path)
                    continue
            if name and (current is None or f"def {name[2:]}(" not in current.read_text()):
                missing.append(f"{current}{name}")
    assert missing == []
