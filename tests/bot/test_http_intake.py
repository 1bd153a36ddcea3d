"""HTTP mode over real loopback sockets: oversized, unsigned, stale, non-numeric, non-UTF-8 and malformed requests
get a status (413 / 401 / 4xx), one log line, and the server keeps serving (issue 9, item 7)."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time

import pytest

from skywarden.bot.slack import intake
from skywarden.bot.slack.app import http_server
from tests.bot.helpers import SECRET, make_app, sign, slash_body

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def server(services):
    app = make_app(services, process_before_response=False)
    server = http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def post(server, body: bytes | str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    try:
        conn.request("POST", "/slack/events", body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw_exchange(server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")]
                if length and len(rest) >= length[0]:
                    break
        return b"".join(chunks)


def still_serving(server) -> None:
    body = slash_body("help")
    status, data = post(server, body, {"Content-Type": FORM, **sign(body)})
    assert status == 200 and "Usage" in data.decode()


def test_an_oversized_body_is_refused_before_it_is_read(server, caplog):
    # Announce 5 MB and send nothing: the answer must come from the header alone.
    caplog.set_level(logging.WARNING, logger="skywarden.bot.slack.app")
    request = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() +
               b"\r\nContent-Length: 5000000\r\n\r\n")
    started = time.monotonic()
    answer = raw_exchange(server, request)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert time.monotonic() - started < 3  # not waiting for a body it will never read
    assert [r for r in caplog.records if "413" in r.getMessage()]
    still_serving(server)


@pytest.mark.parametrize(("make", "reason"), [
    pytest.param(lambda body: {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
                 "non-numeric timestamp", id="non-numeric-timestamp"),
    pytest.param(lambda body: {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"},
                 "non-numeric timestamp", id="exponent-timestamp"),
    pytest.param(lambda body: {"X-Slack-Request-Timestamp": "\u00b9\u00b2\u00b3", "X-Slack-Signature": "v0=00"},
                 "non-numeric timestamp", id="unicode-digit-timestamp"),
    pytest.param(lambda body: {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"},
                 "non-numeric timestamp", id="huge-timestamp"),
    pytest.param(lambda body: sign(body, ts=int(time.time()) - 301), "stale timestamp", id="stale"),
    pytest.param(lambda body: sign(body, secret="forged"), "bad signature", id="forged"),
    pytest.param(lambda body: {}, "unsigned", id="unsigned"),
])
def test_unverifiable_requests_get_401_and_one_log_line(server, services, estate, caplog, make, reason):
    caplog.set_level(logging.WARNING)
    body = slash_body("scan aws")
    status, _ = post(server, body, {"Content-Type": FORM, **make(body)})
    assert status == 401
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and reason in lines[0].getMessage() and lines[0].exc_info is None
    assert estate.requests == []
    still_serving(server)


def signed_raw(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    import hashlib
    import hmac

    mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}"}


@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param(b"payload=%7B%22type%22%3A\xff\xfe", FORM, id="non-utf8-form"),
    pytest.param(b"\xc3\x28 not utf-8", "application/json", id="non-utf8-json"),
    pytest.param(b'{"type": "event_callback", "event": ', "application/json", id="truncated-json"),
    pytest.param(b"[1, 2, 3]", "application/json", id="json-not-an-object"),
    pytest.param(b"payload=%7Bnot+json", FORM, id="bad-json-in-payload"),
])
def test_signed_but_malformed_bodies_get_401_not_500(server, caplog, body, content_type):
    caplog.set_level(logging.WARNING)
    for headers in (signed_raw(body), {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=1"}):
        caplog.clear()
        status, _ = post(server, body, {"Content-Type": content_type, **headers})
        assert status == 401
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    still_serving(server)


@pytest.mark.parametrize(("head", "status"), [
    pytest.param(b"Content-Length: abc\r\n", b"400", id="non-numeric-length"),
    pytest.param(b"Content-Length: -5\r\n", b"400", id="negative-length"),
    pytest.param(b"", b"411", id="no-length"),
    pytest.param(b"Transfer-Encoding: chunked\r\n", b"411", id="chunked"),
])
def test_bad_lengths_are_refused_and_the_connection_closed(server, head, status):
    answer = raw_exchange(server, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:100]
    assert b"Connection: close" in answer
    still_serving(server)


def test_a_client_that_stops_mid_body_does_not_take_the_server_down(server, monkeypatch):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\npartial")
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(1000)
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""
    still_serving(server)


def test_unknown_paths_are_404_without_reading_the_body(server):
    answer = raw_exchange(server, b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404")
    still_serving(server)


def test_a_valid_request_is_served_and_parses_as_bolt_expects(server):
    body = slash_body("findings")
    status, data = post(server, body, {"Content-Type": FORM, **sign(body)})
    assert status == 200 and json.loads(data)["response_type"] == "ephemeral"


def test_verify_directly():
    body = b'{"type":"event_callback"}'
    headers = {k.lower(): v for k, v in signed_raw(body).items()} | {"content-type": "application/json"}
    assert intake.verify(SECRET, body, headers) == body.decode()
    with pytest.raises(intake.Refused) as refused:
        intake.verify(SECRET, body, headers, clock=lambda: time.time() + 301)
    assert refused.value.status == 401 and refused.value.reason == "stale timestamp"
    assert intake.body_length({"content-length": str(intake.MAX_BODY)}) == intake.MAX_BODY
    with pytest.raises(intake.Refused) as refused:
        intake.body_length({"content-length": str(intake.MAX_BODY + 1)})
    assert refused.value.status == 413
