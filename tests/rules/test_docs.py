"""The rule-language reference documents every operator the registry knows, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from skywarden.rules.operators import OPERATORS

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-language.md"


def test_every_operator_is_documented():
    table = [line for line in DOC.read_text().splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])}
    assert documented == set(OPERATORS)
