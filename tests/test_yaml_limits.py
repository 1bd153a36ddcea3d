"""Hostile YAML through every real entry point: one clear line naming the file, never a crash or a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main
from skywarden.rules.frameworks import load_catalogues
from skywarden.rules.loader import load_rules
from skywarden.scanners.errors import ConfigError, RulePackError

RULES = str(Path(__file__).parent / "data" / "rules")

BOMB = 'l0: &l0 "lol"\n' + "".join(
    f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]\n" for n in range(1, 10)
)
DEEP = "k: " + "[" * 10_000 + "]" * 10_000 + "\n"
HOSTILE = {
    "billion-laughs": (BOMB, "expands to more than 500,000 values"),
    "deep-nesting": (DEEP, "nesting deeper than 64 levels"),
    "huge": ("k: " + "x" * (4 * 1024 * 1024 + 10) + "\n", "over the 4,194,304-byte limit"),
}


@pytest.fixture(params=sorted(HOSTILE))
def hostile(request, tmp_path) -> tuple[Path, str]:
    text, message = HOSTILE[request.param]
    path = tmp_path / f"{request.param}.yml"
    path.write_text(text)
    return path, message


def invoke(args: list[str]) -> tuple[object, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, args, input="")
    return result, time.monotonic() - started


def assert_refused(result, elapsed: float, path: Path, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not MemoryError/RecursionError
    assert f"{path}" in result.output and message in result.output
    assert "Traceback" not in result.output and "Error:" in result.output
    assert elapsed < 20


def test_rules_validate_refuses_hostile_pack(hostile):
    path, message = hostile
    result, elapsed = invoke(["rules", "validate", str(path)])
    assert_refused(result, elapsed, path, message)


def test_rule_loader_lists_hostile_file_with_the_others(hostile, tmp_path):
    path, message = hostile
    (tmp_path / "broken.yaml").write_text("rules: [\n")
    with pytest.raises(RulePackError) as info:
        load_rules([tmp_path], catalogues={})
    text = str(info.value)
    assert f"{path}: refused: " in text and message in text
    assert "broken.yaml: invalid YAML" in text


def test_suppressions_validate_refuses_hostile_file(hostile):
    path, message = hostile
    result, elapsed = invoke(["suppressions", "validate", str(path)])
    assert_refused(result, elapsed, path, message)


@pytest.mark.parametrize("command", [["chat"], ["schedule", "list"]])
def test_bot_configuration_refuses_hostile_file(hostile, tmp_path, command):
    path, message = hostile
    result, elapsed = invoke(["--db", str(tmp_path / "s.db"), *command, "--config", str(path)])
    assert_refused(result, elapsed, path, message)
    assert "cannot read configuration" in result.output


def test_scan_refuses_hostile_accounts_file(hostile, tmp_path):
    path, message = hostile
    with mock_aws():
        result, elapsed = invoke(["--db", str(tmp_path / "s.db"), "scan", "aws", "--accounts-file", str(path),
                                  "--rules", RULES])
    assert_refused(result, elapsed, path, message)


def test_framework_catalogue_refuses_hostile_file(hostile, tmp_path):
    source, message = hostile
    folder = tmp_path / "catalogues"  # catalogues are the *.yaml files of one directory
    folder.mkdir()
    path = folder / "cis-hostile.yaml"
    path.write_bytes(source.read_bytes())
    with pytest.raises(ConfigError, match="cannot read framework catalogue") as info:
        load_catalogues(folder)
    assert str(path) in str(info.value) and message in str(info.value)
