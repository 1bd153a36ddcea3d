"""AWS setup mistakes get the fix in the error, and the right cause: a bad region is not a credentials problem."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main


def _scan(tmp_path: Any, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "scan", "aws", *args])


def test_an_unknown_region_is_named_with_the_fix(tmp_path: Any) -> None:
    with mock_aws():
        result = _scan(tmp_path, "--regions", "us-east-1,us-nowhere-1")
    assert result.exit_code == 1
    assert "us-nowhere-1 is not an AWS region" in result.output and "fix --regions" in result.output
    assert "not enabled" not in result.output and "credentials" not in result.output


def test_missing_credentials_say_how_to_configure_them(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = _scan(tmp_path)
    assert result.exit_code == 1
    assert "(NoCredentials): none were found" in result.output
    assert "aws configure" in result.output and "--profile" in result.output and "AWS_ACCESS_KEY_ID" in result.output


def test_an_unreachable_region_endpoint_points_at_the_region(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A closed loopback port stands in for a region whose endpoint does not exist: connection refused, no network.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-nowhere-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = _scan(tmp_path)
    assert result.exit_code == 1
    assert "cannot reach AWS STS for region 'us-nowhere-1'" in result.output
    assert "valid AWS region" in result.output and "--regions" in result.output
    assert "credentials are not usable" not in result.output
