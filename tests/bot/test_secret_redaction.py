"""No secret in any log at any verbosity, nor in the errors the CLI prints.

Through the real CLI: botocore at DEBUG against moto with a session token and an assumed role (whose STS response
carries fresh credentials), the Slack client with credentials in SLACK_API_URL and in HTTPS_PROXY.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from moto import mock_aws

from skywarden.bot.cli import main
from skywarden.bot.core.logs import SecretFilter
from skywarden.scanners.redact import redact, secrets_from_env

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "tests" / "data" / "rules")
# Not an AWS-shaped token: only the header/field rules and the literal from the environment can catch it.
SESSION_TOKEN = "SkywardenTestSessionToken/0123456789+abcdefABCDEF=="
SLACK_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-SecretBotTokenValue",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "SLACK_API_URL": "https://user:s3cret@127.0.0.1:9/api/",
}


@contextlib.contextmanager
def bare_root_logger():
    """The root logger as a fresh `skywarden` process has it: no handlers, so the CLI installs its own.

    Entered inside the test body: pytest attaches its capture handlers to the root for each test phase.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("botocore", "boto3", "urllib3", "skywarden.scanners.fanout")}
    root.handlers = []
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


def scan_with_assumed_role(tmp_path: Path, monkeypatch, *extra: str, bare: bool = True):
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    accounts = tmp_path / "accounts.yml"
    accounts.write_text("accounts:\n  - {id: '111111111111', name: prod, "
                        "role_arn: 'arn:aws:iam::111111111111:role/SkywardenAudit'}\n")
    with mock_aws(), bare_root_logger() if bare else contextlib.nullcontext():
        return CliRunner().invoke(main, [*extra, "--db", str(tmp_path / "s.db"), "scan", "aws", "--accounts-file",
                                         str(accounts), "--regions", "us-east-1", "--rules", RULES])


def assert_no_aws_secrets(text: str) -> None:
    assert SESSION_TOKEN not in text and SESSION_TOKEN[:24] not in text
    assert "FQoGZXIvYXdz" not in text  # how every session token moto hands out from AssumeRole starts
    assert set(re.findall(r"(?i)x-amz-security-token:(\S*)", text)) <= {"***"}
    assert set(re.findall(r"'X-Amz-Security-Token': b'([^']*)'", text)) <= {"***"}
    assert set(re.findall(r"<(?:SessionToken|SecretAccessKey)>([^<]*)<", text)) <= {"***"}


def test_botocore_debug_logs_never_show_session_tokens(tmp_path, monkeypatch):
    result = scan_with_assumed_role(tmp_path, monkeypatch, "-vv")
    assert result.exit_code == 0, result.output
    log = result.stderr
    # The requests and the STS response really were logged, with their credentials masked.
    assert "x-amz-security-token:***" in log
    assert "'X-Amz-Security-Token': b'***'" in log
    assert "<SessionToken>***</SessionToken>" in log and "<SecretAccessKey>***</SecretAccessKey>" in log
    assert "Authorization': b'***'" in log
    assert_no_aws_secrets(result.output)


def test_handlers_already_on_the_root_are_filtered_too(caplog, tmp_path, monkeypatch):
    # Under an embedding application (or pytest) the root already has handlers: they get the filter.
    caplog.set_level(logging.DEBUG)
    result = scan_with_assumed_role(tmp_path, monkeypatch, "-vv", bare=False)
    assert result.exit_code == 0, result.output
    assert "x-amz-security-token:***" in caplog.text
    assert_no_aws_secrets(caplog.text)


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]])
def test_slack_api_url_credentials_never_print(tmp_path, monkeypatch, verbosity):
    monkeypatch.chdir(tmp_path)
    env = {**SLACK_ENV, "HTTPS_PROXY": "http://proxyuser:pr0xyPassw0rd@127.0.0.1:9"}
    with bare_root_logger():
        result = CliRunner().invoke(main, [*verbosity, "--db", str(tmp_path / "s.db"), "serve", "--http"], env=env)
    assert result.exit_code == 1
    assert "Error: cannot reach the Slack Web API at https://***@127.0.0.1:9/api/" in result.output
    for secret in ("s3cret", "pr0xyPassw0rd", "proxyuser", "SecretBotTokenValue", env["SLACK_SIGNING_SECRET"]):
        assert secret not in result.output
    if verbosity == ["-vv"]:  # the SDK did log the proxy and the URL: masked
        assert "HTTP proxy URL has been loaded from an env variable: http://***@127.0.0.1:9" in result.output
        assert "url: https://***@127.0.0.1:9/api/auth.test" in result.output


def test_exceptions_in_log_records_are_redacted():
    secret_filter = SecretFilter({"a-literal-secret-value"})
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(secret_filter)
    log = logging.getLogger("skywarden.test")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError("proxy http://u:p4ssword@proxy:3128 said no to a-literal-secret-value")
        except RuntimeError:
            log.exception("call failed with %s", {"Authorization": "Bearer abc.def"}, stack_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "p4ssword" not in text and "a-literal-secret-value" not in text and "abc.def" not in text
    assert "RuntimeError: proxy http://***@proxy:3128 said no to ***" in text
    assert "{'Authorization': '***'}" in text


def test_a_malformed_log_call_is_still_redacted_and_does_not_raise():
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(SecretFilter(set()))
    log = logging.getLogger("skywarden.test.malformed")
    log.addHandler(handler)
    try:
        log.warning("two %s %s", "https://u:pw-in-args@h/")  # one argument short
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == "two %s %s ('https://***@h/',)\n"


def test_a_crash_traceback_is_redacted():
    # Uncaught exceptions print through sys.excepthook / threading.excepthook, not logging.
    code = (
        "import threading\n"
        "from bot.core.logs import configure_logging\n"
        "configure_logging(0)\n"
        "def fail(): raise RuntimeError('thread at https://u:Thr3adSecret@h/')\n"
        "t = threading.Thread(target=fail); t.start(); t.join()\n"
        "raise RuntimeError('main at https://u:Ma1nSecret@h/ with xoxb-1-2-TokenInACrash')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "RuntimeError: thread at https://***@h/" in done.stderr
    assert "RuntimeError: main at https://***@h/ with xoxb-***" in done.stderr
    assert "Thr3adSecret" not in done.stderr and "Ma1nSecret" not in done.stderr and "TokenInACrash" not in done.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("headers={'X-Amz-Security-Token': b'tok/en+=', 'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/x, "
     "Signature=ab'}", "headers={'X-Amz-Security-Token': b'***', 'Authorization': b'***'}"),
    ('{"SessionToken": "t\\"ok", "SecretAccessKey": "k", "NextToken": "page2"}',
     '{"SessionToken": "***", "SecretAccessKey": "***", "NextToken": "page2"}'),
    ("<Credentials><SecretAccessKey>k/1+</SecretAccessKey><SessionToken>t</SessionToken></Credentials>",
     "<Credentials><SecretAccessKey>***</SecretAccessKey><SessionToken>***</SessionToken></Credentials>"),
    ("CanonicalRequest:\nGET\nhost:s3\nx-amz-security-token:tok/en\n\nhost;x-amz-security-token",
     "CanonicalRequest:\nGET\nhost:s3\nx-amz-security-token:***\n\nhost;x-amz-security-token"),
    ("GET /c?sv=2022&sig=abc%2Bdef&se=1 and ?X-Amz-Signature=ff&next_token=keep",
     "GET /c?sv=2022&sig=***&se=1 and ?X-Amz-Signature=***&next_token=keep"),
    ("proxy http://alice:pa55@proxy:3128 and https://tok@host/x but mail alice@example.com",
     "proxy http://***@proxy:3128 and https://***@host/x but mail alice@example.com"),
    ("bot xoxb-1-2-abc app xapp-1-A-2-def user xoxp-9-x; starts with xoxb-",
     "bot xoxb-*** app xapp-*** user xoxp-***; starts with xoxb-"),
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln", "Authorization: ***"),
    ("token ya29.a0AfH6SMBx and jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln",
     "token *** and jwt ***"),
    ("creds IQoJb3JpZ2luX2VjEJr//////////wEaCXVz+abc= ok", "creds *** ok"),
    ("scan 3f2a finished: 12 resources in 111111111111 us-east-1", "scan 3f2a finished: 12 resources in "
     "111111111111 us-east-1"),
])
def test_redaction_shapes(text, expected):
    assert redact(text) == expected


def test_secrets_from_env_takes_tokens_and_url_userinfo_but_not_short_words():
    found = secrets_from_env({
        "SLACK_BOT_TOKEN": "xoxb-1-2-abcdefgh", "AWS_SESSION_TOKEN": "testing", "PATH": "/usr/bin",
        "HTTPS_PROXY": "http://proxyuser:LongEnoughPassword@proxy:3128", "SLACK_API_URL": "https://u:s3cret@h/",
    })
    assert found == {"xoxb-1-2-abcdefgh", "proxyuser:LongEnoughPassword", "proxyuser", "LongEnoughPassword",
                     "u:s3cret"}
    assert redact("nonnumeric port: 'LongEnoughPassword@proxy'", found) == "nonnumeric port: '***@proxy'"
