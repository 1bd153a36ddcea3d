from __future__ import annotations

import pytest

from skywarden.bot.core.settings import Access, BotConfig, Settings, load_config, load_suppressions, parse_config
from skywarden.scanners.errors import ConfigError


def test_secret_is_masked():
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-very-secret", "SLACK_SIGNING_SECRET": "s3cr3t"})
    assert "very-secret" not in repr(settings) and "s3cr3t" not in repr(settings)
    assert str(settings.bot_token) == "xoxb-very-secret"


@pytest.mark.parametrize(("env", "http", "names"), [
    ({}, False, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxp-user"}, False, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, False, "SLACK_APP_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, False, "SLACK_APP_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, True, "SLACK_SIGNING_SECRET"),
])
def test_missing_or_wrong_tokens_name_the_variable(env, http, names):
    with pytest.raises(ConfigError, match=names):
        Settings.from_env(env).check(http)


def test_api_url_gets_its_trailing_slash():
    assert Settings.from_env({"SLACK_API_URL": "http://127.0.0.1:9/api"}).api_url == "http://127.0.0.1:9/api/"


def test_no_configuration_means_open_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    access = Access(config)
    assert config == BotConfig() and access.can_scan("U1", [])[0] and access.can_suppress("U1")[0]
    assert not config.approvals_enabled


@pytest.mark.parametrize(("data", "key"), [
    ({"acounts": []}, "acounts"),
    ({"accounts": [{"id": "12"}]}, "accounts[0].id"),
    ({"routing": [{"channel": "C0X", "severities": ["urgent"]}]}, "routing[0].severities"),
    ({"routing": [{"channel": "C0X", "accounts": ["nope"]}]}, "routing[0].accounts"),
    ({"permissions": {"suppress": ["alice"]}}, "permissions.suppress"),
    ({"permissions": {"scan": ["U1"]}}, "permissions.scan"),
    ({"permissions": {"delete": ["U1"]}}, "permissions.delete"),
    ({"max_suppression_days": 0}, "max_suppression_days"),
])
def test_invalid_configuration_names_the_key(data, key):
    with pytest.raises(ConfigError) as info:
        parse_config(data, "skywarden.yml")
    assert f"skywarden.yml: {key}:" in str(info.value)


def test_permissions_by_account_name_and_group():
    config = parse_config({
        "accounts": [{"id": "111111111111", "name": "prod", "tags": ["production"]}, {"id": "222222222222"}],
        "permissions": {"scan": {"U0A": ["prod"], "S0SEC": "*"}, "suppress": ["S0SEC"]},
        "max_suppression_days": 60,
    })
    access = Access(config, lambda group: {"U0B"} if group == "S0SEC" else set())
    assert access.can_scan("U0A", ["111111111111"])[0]
    assert not access.can_scan("U0A", ["222222222222"])[0]
    assert not access.can_scan("U0A", [])[0]  # every configured account
    assert access.can_scan("U0B", [])[0]
    assert access.can_suppress("U0B")[0] and not access.can_suppress("U0A")[0]
    assert config.default_suppression_days == 30 and config.max_suppression_days == 60


def test_suppressions_file(tmp_path):
    path = tmp_path / "suppressions.yml"
    path.write_text("suppressions:\n"
                    "  - {rule: r1, resource: 'arn:aws:s3:::b', reason: ok, until: 2030-01-31, by: alice}\n"
                    "  - {rule: r2, account: '111111111111', reason: sandbox, until: '2030-02-01', by: bob}\n")
    first, second = load_suppressions(path)
    assert (first.scope, first.expires_at) == ("resource", "2030-01-31T00:00:00+00:00")
    assert second.scope == "rule" and second.account_id == "111111111111"
    path.write_text("suppressions:\n  - {rule: r1, reason: ok, until: 2030-01-31, by: alice}\n")
    with pytest.raises(ConfigError, match=r"suppressions\[0\]"):
        load_suppressions(path)
    path.write_text("suppressions:\n  - {rule: r1, resource: x, reason: ok, until: soon, by: alice}\n")
    with pytest.raises(ConfigError, match=r"suppressions\[0\].until"):
        load_suppressions(path)
