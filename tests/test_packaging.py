"""The wheel: only the `skywarden` namespace, every subpackage and every data file in it.

A subpackage missing from pyproject's package list still imports in an editable install but silently drops
out of the wheel, so this builds the real wheel (offline, with the installed setuptools) and reads it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("bot", "rules", "scanners", "storage")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for top in TOPS:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("skywarden-*.whl")
    return zipfile.ZipFile(path)


def _names(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def test_every_package_folder_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = _names(wheel)
    missing = [str(init.relative_to(ROOT)) for top in TOPS for init in sorted((ROOT / top).rglob("__init__.py"))
               if f"skywarden/{init.relative_to(ROOT).as_posix()}" not in names]
    assert missing == [], "add these packages to [tool.setuptools] packages in pyproject.toml"
    modules = [p.relative_to(ROOT).as_posix() for top in TOPS for p in (ROOT / top).rglob("*.py")]
    assert [m for m in modules if f"skywarden/{m}" not in names] == []


def test_only_the_skywarden_namespace_is_installed(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in _names(wheel)}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"skywarden"}
    assert "skywarden/__init__.py" not in _names(wheel)  # a namespace: other distributions may share it


def test_package_data_ships(wheel: zipfile.ZipFile) -> None:
    names = _names(wheel)
    data = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "rules").rglob("*.yaml"))]
    data.append("bot/demo/aws_amis.json")
    assert len(data) > 10
    assert [d for d in data if f"skywarden/{d}" not in names] == []


def test_console_script_and_license(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in _names(wheel) if n.endswith(".dist-info/entry_points.txt")]
    assert "skywarden = skywarden.bot.cli:main" in wheel.read(entry_points).decode()
    (metadata,) = [n for n in _names(wheel) if n.endswith(".dist-info/METADATA")]
    assert "License-Expression: Apache-2.0" in wheel.read(metadata).decode().splitlines()
