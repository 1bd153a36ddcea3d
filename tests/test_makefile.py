"""`make demo` installs only what the demo needs; `make test` the tools as well; each from a fresh clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(tmp_path: Path, target: str) -> str:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)  # a fresh clone: no .venv, no stamps
    done = subprocess.run(["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_demo_installs_the_demo_extra_only(tmp_path: Path) -> None:
    plan = _dry_run(tmp_path, "demo")
    assert "-m venv .venv" in plan and "install --quiet -e '.[demo]'" in plan and "[dev]" not in plan
    assert ".venv/bin/skywarden demo" in plan and ". .venv/bin/activate" in plan  # how to run it afterwards


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_test_installs_the_dev_extra_even_after_the_demo(tmp_path: Path) -> None:
    assert "install --quiet -e '.[dev]'" in _dry_run(tmp_path, "test")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()
    (tmp_path / ".venv" / ".installed-demo").touch()  # `make demo` ran first
    plan = _dry_run(tmp_path, "test")
    assert "-m venv" not in plan and "install --quiet -e '.[dev]'" in plan
