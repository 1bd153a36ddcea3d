"""The limited YAML loader: same data as yaml.safe_load for real files, one clear error for hostile ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from skywarden.scanners import safe_yaml
from skywarden.scanners.safe_yaml import YamlLimitError, YamlLimits, load_file, safe_load

ROOT = Path(__file__).resolve().parents[2]


def billion_laughs(levels: int = 9) -> str:
    """Ten aliases per level: 10**levels values once expanded, in under a kilobyte."""
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def merge_chain(length: int) -> str:
    """Each mapping merges the previous one: merge keys recurse through the whole chain when constructed."""
    lines = ["m0: &m0 {k0: 0}"]
    lines += [f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: {i}}}" for i in range(1, length)]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=sorted(safe_yaml.LOADERS))
def parser(request, monkeypatch):
    """Every parser PyYAML offers here (pure Python always; libyaml when built with it) keeps the limits."""
    monkeypatch.setattr(safe_yaml, "PARSER", request.param)
    return request.param


def test_shipped_files_load_exactly_as_safe_load(parser):
    files = sorted((ROOT / "rules").rglob("*.yaml")) + [ROOT / "manifest.yml"]
    assert len(files) > 20
    for path in files:
        assert load_file(path) == yaml.safe_load(path.read_text()), path


def test_ordinary_anchors_merge_keys_and_types_still_work(parser):
    text = "base: &b {region: eu-west-1, on: true}\nprod: {<<: *b, until: 2026-12-31}\nlist: [*b, *b]\n"
    assert safe_load(text) == yaml.safe_load(text)


def test_billion_laughs_is_refused_at_once(parser):
    started = time.monotonic()
    with pytest.raises(YamlLimitError, match=r"alias \*l\d expands to more than 500,000 values"):
        safe_load(billion_laughs(), "bomb.yml")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    "{a: " * 10_000 + "1" + "}" * 10_000,
    "- " * 10_000 + "x\n",
], ids=["lists", "maps", "block-lists"])
def test_deep_nesting_is_refused_without_recursion_error(parser, text):
    with pytest.raises(YamlLimitError, match=r"nesting deeper than 64 levels \(line 1, column"):
        safe_load(text)


def test_nesting_through_aliases_counts(parser):
    # Each link is shallow in the text, but the merge-key constructor recurses down the whole chain.
    with pytest.raises(YamlLimitError, match=r"nesting deeper than 64 levels through alias \*m\d+"):
        safe_load(merge_chain(2_000))
    assert safe_load(merge_chain(20))["m19"]["k0"] == 0


def test_self_referencing_alias_is_refused(parser):
    with pytest.raises(YamlLimitError, match=r"alias \*a refers to a node that contains it \(line 1, column 11\)"):
        safe_load("a: &a [1, *a]")


def test_limits_are_exact(parser):
    limits = YamlLimits(max_bytes=100, max_depth=3, max_nodes=10)
    assert safe_load("[[x]]", limits=limits) == [["x"]]
    with pytest.raises(YamlLimitError, match="deeper than 3"):
        safe_load("[[[x]]]", limits=limits)
    assert safe_load("[1, 2, 3, 4, 5, 6, 7, 8, 9]", limits=limits) == list(range(1, 10))
    with pytest.raises(YamlLimitError, match="grows to more than 10 values"):
        safe_load("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", limits=limits)
    with pytest.raises(YamlLimitError, match="101 bytes is over the 100-byte limit"):
        safe_load("x" * 101, limits=limits)


def test_huge_file_is_refused_after_reading_only_the_limit(parser, tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text("k: " + "x" * (4 * 1024 * 1024) + "\n")
    with pytest.raises(YamlLimitError, match="the file is over the 4,194,304-byte limit"):
        load_file(path)


def test_syntax_errors_name_the_file(parser, tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("a: [1, 2\n")
    with pytest.raises(yaml.YAMLError, match=str(path)):
        load_file(path)
