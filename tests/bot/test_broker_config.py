"""broker_url: in skywarden.yml and SKYWARDEN_BROKER_URL: checked, the variable wins, the password never shown;
`skywarden scan aws` honours the file too."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import main
from skywarden.bot.core.settings import BotConfig, load_config, parse_config, scan_broker
from skywarden.scanners.errors import ConfigError
from skywarden.storage.db import open_db

GOOD = "rediss://:hunter2-secret@redis.internal:6380/0?ssl_cert_reqs=required"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broker_url_is_read_and_kept_out_of_the_repr():
    config = parse_config({"broker_url": GOOD}, "skywarden.yml")
    assert config.broker_url == GOOD
    assert "hunter2" not in repr(config)
    assert parse_config({"broker_url": "redis://127.0.0.1:6379/0"}).broker_url == "redis://127.0.0.1:6379/0"
    assert parse_config({}).broker_url is None


@pytest.mark.parametrize("value", [
    "http://:hunter2-secret@redis.internal:6379/0",  # not Redis
    "amqp://guest:hunter2-secret@rabbit:5672//",
    "redis://",  # no host
    "redis://:hunter2-secret@redis.internal:port/0",  # a port that is not a number
    "redis.internal:6379",  # no scheme
    42,
    ["redis://a"],
])
def test_a_bad_broker_url_names_the_file_and_field_and_hides_the_password(value):
    with pytest.raises(ConfigError) as caught:
        parse_config({"broker_url": value}, "conf/skywarden.yml")
    message = str(caught.value)
    assert message.startswith("conf/skywarden.yml: broker_url: ")
    assert "redis://" in message and "hunter2" not in message


def test_a_bad_broker_url_in_a_file_names_that_file(tmp_path):
    path = tmp_path / "skywarden.yml"
    path.write_text("broker_url: http://redis.internal:6379/0\n")
    with pytest.raises(ConfigError, match=f"{path}: broker_url: "):
        load_config(path)


def test_the_environment_variable_wins_and_is_checked_too():
    config = BotConfig(broker_url="redis://from-file:6379/0")
    assert scan_broker(config, {}) == "redis://from-file:6379/0"
    assert scan_broker(config, {"SKYWARDEN_BROKER_URL": "rediss://from-env:6380/1"}) == "rediss://from-env:6380/1"
    assert scan_broker(BotConfig(), {"SKYWARDEN_BROKER_URL": " "}) is None
    with pytest.raises(ConfigError) as caught:
        scan_broker(config, {"SKYWARDEN_BROKER_URL": "http://user:hunter2-secret@x:1/0"})
    assert str(caught.value).startswith("SKYWARDEN_BROKER_URL: ") and "hunter2" not in str(caught.value)


def test_cli_scan_reads_broker_url_from_the_configuration(tmp_path, monkeypatch):
    port = closed_port()
    config = tmp_path / "skywarden.yml"
    config.write_text(f"broker_url: 'redis://:hunter2-secret@127.0.0.1:{port}/0'\n")
    monkeypatch.chdir(tmp_path)  # ./skywarden.yml is read without --config
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["--db", str(db), "scan", "aws", "--account", "111111111111"])
    assert result.exit_code == 1, result.output
    assert f"broker redis://***@127.0.0.1:{port}/0 unreachable" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    scans = list(open_db(db)["scans"].rows)
    assert [(s["status"], s["provider"]) for s in scans] == [("failed", "aws")]
    assert "BrokerUnavailable" in scans[0]["error"] and "hunter2" not in scans[0]["error"]


def test_cli_scan_refuses_a_bad_broker_url_before_anything_runs(tmp_path):
    config = tmp_path / "elsewhere.yml"
    config.write_text("broker_url: http://redis.internal/0\n")
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["--db", str(db), "scan", "aws", "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}: broker_url: 'http://redis.internal/0' is not a redis:// or rediss:// URL" in result.output
    assert not db.exists()


@pytest.mark.parametrize("wiring", ["serve", "chat"])
def test_serve_and_chat_scan_aws_through_the_configured_broker(tmp_path, monkeypatch, wiring):
    from skywarden.bot.core.distributed import BrokerUnavailable
    from skywarden.bot.core.orchestrator import ScanRequest
    from skywarden.bot.core.settings import Secret, Settings
    from skywarden.bot.wiring import build_services, console_services

    monkeypatch.chdir(tmp_path)
    config = parse_config({"broker_url": f"redis://127.0.0.1:{closed_port()}/0"})
    db_path = str(tmp_path / "bot.db")
    services = (build_services(Settings(bot_token=Secret("xoxb-test"), config=config), db_path) if wiring == "serve"
                else console_services(db_path, config))
    try:
        with pytest.raises(BrokerUnavailable, match="unreachable"):
            services.orchestrator.runner(services.db, ScanRequest("aws", ("111111111111",)))
        assert [row["status"] for row in services.db["scans"].rows] == ["failed"]
    finally:
        services.close()


@pytest.mark.parametrize("command", [["gcp", "--project", "acme-prod"], ["azure", "--subscription",
                                                                       "00000000-0000-0000-0000-000000000001"]])
def test_cli_gcp_and_azure_scans_read_broker_url_from_the_configuration_too(tmp_path, command):
    port = closed_port()
    config = tmp_path / "elsewhere.yml"
    config.write_text(f"broker_url: 'redis://:hunter2-secret@127.0.0.1:{port}/0'\n")
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["--db", str(db), "scan", *command, "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert f"broker redis://***@127.0.0.1:{port}/0 unreachable" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    scans = list(open_db(db)["scans"].rows)  # asked for and not run: on record as failed, as an AWS scan is
    assert [(s["status"], s["provider"]) for s in scans] == [("failed", command[0])]
    assert "BrokerUnavailable" in scans[0]["error"] and "hunter2" not in scans[0]["error"]
