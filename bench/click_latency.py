"""Button-click latency over loopback: time until Slack would get the ack, for Skywarden's Acknowledge button
with 100,000 findings stored, against a trivial Bolt handler (ack only) measured in the same run.

Both apps run in the production mode (process_before_response=False) behind the same threaded HTTP server,
with signed requests on a keep-alive connection; the Web API is a loopback stand-in, so the work after
the ack (conditional UPDATE, audit, chat.update through the outbox) really happens. Clicks alternate
between the two apps so both see the same machine load.

    .venv/bin/python bench/click_latency.py [--findings 100000] [--clicks 500]
Target (issue 3): p99 <= 1.5 x the trivial handler's and < 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import App  # noqa: E402

from skywarden.bot.core.settings import BotConfig, Secret, Settings  # noqa: E402
from skywarden.bot.slack import ids  # noqa: E402
from skywarden.bot.slack.app import create_app, http_server, make_client  # noqa: E402
from skywarden.bot.wiring import assemble  # noqa: E402
from skywarden.storage.db import open_db  # noqa: E402
from tests.bot.helpers import RULES, FakeEstate, sign  # noqa: E402
from tests.bot.slack_standin import SlackStandIn  # noqa: E402

SECRET = "bench-secret"


def seed(path: str, count: int) -> list[str]:
    db = open_db(path)
    rule_ids = list(RULES)
    rows = []
    for n in range(1, count + 1):
        rows.append({
            "id": f"{n:020x}", "number": n, "rule_id": rule_ids[n % 2], "resource_id": f"arn:aws:s3:::b{n}",
            "resource_type": "aws.s3.bucket", "resource_name": f"b{n}", "provider": "aws",
            "account_id": f"{100000000000 + n % 50}", "region": "us-east-1", "severity": "high",
            "title": "Bucket blocks public access", "frameworks": '{"test-fw":["1.1"]}', "state": "open",
            "state_changed_at": "2026-01-01T00:00:00+00:00", "state_changed_by": "system",
            "first_seen": "2026-01-01T00:00:00+00:00", "last_seen": "2026-01-01T00:00:00+00:00",
            "reopened_count": 0, "first_scan_id": 1, "last_scan_id": 1,
        })
    with db.atomic():
        db["findings"].insert_all(rows, batch_size=1000)
        db["slack_messages"].insert_all(
            ({"finding_id": r["id"], "channel": "C0TEAM", "ts": f"1700000000.{i:06d}", "posted_at": "x", "active": 1}
             for i, r in enumerate(rows)), batch_size=1000)
    db.close()
    return [r["id"] for r in rows]


def click_body(action_id: str, value: str, response_url: str) -> str:
    payload = {
        "type": "block_actions", "team": {"id": "T0TEAM"}, "user": {"id": "U0ALICE"}, "api_app_id": "A0APP",
        "trigger_id": f"t{time.time_ns()}", "response_url": response_url,  # unique, as Slack's are
        "container": {"type": "message", "channel_id": "C0TEAM", "message_ts": "1.1", "is_ephemeral": False},
        "channel": {"id": "C0TEAM"}, "message": {"ts": "1.1", "text": "x"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def serve(app: App) -> tuple[object, http.client.HTTPConnection]:
    server = http_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    return server, conn


def post(conn: http.client.HTTPConnection, body: str) -> float:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
    start = time.perf_counter()
    conn.request("POST", "/slack/events", body, headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return elapsed * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    standin = SlackStandIn()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        finding_ids = seed(db_path, args.findings)
        seeded_s = time.perf_counter() - t0
        client = make_client("xoxb-bench", standin.base_url)
        settings = Settings(bot_token=Secret("xoxb-bench"), signing_secret=Secret(SECRET))
        services = assemble(db_path, BotConfig(), RULES, FakeEstate().runner, client, {})
        warden = create_app(settings, services)

        trivial = App(client=client, signing_secret=SECRET)

        @trivial.action("trivial")
        def on_trivial(ack):  # type: ignore[no-untyped-def]
            ack()

        warden_server, warden_conn = serve(warden)
        trivial_server, trivial_conn = serve(trivial)
        respond = standin.response_url("bench")
        for i in range(args.warmup):
            post(warden_conn, click_body(ids.ACKNOWLEDGE, finding_ids[-1 - i], respond))
            post(trivial_conn, click_body("trivial", "x", respond))
        ours: list[float] = []
        base: list[float] = []
        for i in range(args.clicks):
            ours.append(post(warden_conn, click_body(ids.ACKNOWLEDGE, finding_ids[i], respond)))
            base.append(post(trivial_conn, click_body("trivial", "x", respond)))
        deadline = time.monotonic() + 60  # the work after each ack (update, audit, chat.update) finishes later
        while True:
            acknowledged = next(iter(services.db.query(
                "SELECT COUNT(*) AS n FROM findings WHERE state = 'acknowledged'")))["n"]
            if acknowledged >= args.clicks + args.warmup or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        updates = len(standin.of("chat.update"))
        for server in (warden_server, trivial_server):
            server.shutdown()  # type: ignore[attr-defined]
        warden_conn.close()
        trivial_conn.close()
        services.close()
    standin.stop()
    result = {
        "findings_stored": args.findings,
        "clicks": args.clicks,
        "seed_seconds": round(seeded_s, 1),
        "acknowledge_ms": {"p50": round(statistics.median(ours), 2), "p99": round(percentile(ours, 0.99), 2)},
        "trivial_ms": {"p50": round(statistics.median(base), 2), "p99": round(percentile(base, 0.99), 2)},
        "acknowledged_rows": acknowledged,
        "chat_updates_sent": updates,
    }
    ratio = result["acknowledge_ms"]["p99"] / max(result["trivial_ms"]["p99"], 1e-9)
    result["p99_ratio"] = round(ratio, 2)
    result["target_met"] = ratio <= 1.5 and result["acknowledge_ms"]["p99"] < 100
    print(json.dumps(result, indent=2))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
