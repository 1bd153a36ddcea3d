"""The findings table fits the terminal, colours severities there, and is plain ASCII when piped; --version."""

from __future__ import annotations

import io
import re
from importlib.metadata import version
from typing import Any

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import formats, main

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _row(number: int, severity: str, name: str = "acme-data-exports") -> dict[str, Any]:
    return {
        "id": f"f{number}", "number": number, "rule_id": "aws-s3-bucket-versioning", "title": "S3 bucket versioning",
        "severity": severity, "provider": "aws", "account_id": "123456789012", "region": "us-east-1",
        "resource_type": "aws.s3.bucket", "resource_id": f"arn:aws:s3:::{name}", "resource_name": name,
        "state": "open", "frameworks": {}, "first_seen": "2026-01-01T00:00:00+00:00",
        "last_seen": "2026-01-01T00:00:00+00:00", "failure": f"S3 bucket {name} has versioning off",
        "detail": f"{name}: versioning.Status is (not set) (required: eq Enabled)",
    }  # fmt: skip


ROWS = [_row(1, "critical"), _row(2, "low", "[red]not-markup[/red]")]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("columns", [80, 200])
def test_the_table_fits_the_terminal_width(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    style = formats.TableStyle.for_stream(_Terminal())
    assert style.width == columns and style.color and style.boxes
    text = ANSI.sub("", formats.render(ROWS, "table", style=style))
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= columns
    assert max(widths) > 80 if columns == 200 else max(widths) == 80  # it uses the room it has
    assert "critical" in text and "123456789012" in text and "us-east-1" in text  # short values are never split
    if columns == 80:
        assert "account / region" in text  # one column for both leaves the prose room to read
    else:
        assert "acme-data-exports has versioning off" in text and "[red]not-markup[/red]" in text


def test_severities_are_coloured_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = formats.render(ROWS, "table", style=formats.TableStyle.for_stream(_Terminal()))
    assert "\x1b[1;31mcritical" in coloured and "\x1b[36mlow" in coloured
    assert "not-markup" in ANSI.sub("", coloured)  # a resource name is never read as rich markup
    monkeypatch.setenv("NO_COLOR", "1")
    plain = formats.render(ROWS, "table", style=formats.TableStyle.for_stream(_Terminal()))
    assert "\x1b" not in plain and "┃" in plain  # still a terminal: boxes, but no colour


def test_piped_output_is_plain_ascii(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from skywarden.storage.db import open_db

    monkeypatch.delenv("COLUMNS", raising=False)
    db = open_db(tmp_path / "f.db")
    stored = {"frameworks": "{}", "state_changed_at": "2026-01-01", "state_changed_by": "system", "reopened_count": 0}
    db["findings"].insert_all([{**row, **stored} for row in ROWS], pk="id", alter=True)
    db.close()
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "f.db"), "findings", "--state", "open"])
    assert result.exit_code == 0, result.output
    assert "acme-data-exports" in result.output and "critical" in result.output
    assert "\x1b" not in result.output
    assert result.output.isascii()  # no box-drawing characters
    assert "+----" in result.output and "| #" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"skywarden, version {version('skywarden')}"
