"""Regenerate the pictures in docs/images: `.venv/bin/python docs/images/make_images.py` from the repo root.

- report-cis-aws-3.0.png: the HTML compliance report of the demo estate (`skywarden demo`), via headless
  Chromium (`apt-get install chromium`);
- posture.png: `skywarden chart posture` on the same database;
- trend.png: `skywarden chart trend` (21 days) on a sample four-week history ending today (seeded, made up
  here: the demo has a single day), written as findings and lifecycle events the way scans and remediations do.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

HERE = Path(__file__).parent


def _cli(*args: str) -> None:
    from skywarden.bot.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exit_code:
        sys.exit(result.output)


def sample_history(db_file: str, days: int = 21) -> None:
    from skywarden.storage import audit
    from skywarden.storage.db import open_db

    db = open_db(db_file)
    rng = random.Random(12)
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days - 1)  # ends today, where `chart trend` ends
    weights = {"critical": 1, "high": 4, "medium": 8, "low": 4, "info": 1}
    open_ids: list[str] = []
    number = 0
    with db.atomic():
        for day in range(days):
            at = (start + timedelta(days=day)).isoformat()
            # The first scan finds the backlog; later scans find a few new problems and fixes land.
            opened = 60 if day == 0 else rng.randint(0, 6)
            for _ in range(opened):
                number += 1
                severity = rng.choices(list(weights), list(weights.values()))[0]
                fid = f"sample{number}"
                db["findings"].insert({
                    "id": fid, "number": number, "rule_id": "sample", "resource_id": fid, "resource_type": "sample",
                    "provider": "aws", "account_id": "123456789012", "region": "us-east-1", "severity": severity,
                    "title": "sample", "frameworks": "{}", "state": "open", "state_changed_at": at,
                    "first_seen": at, "last_seen": at,
                })
                audit.record(db, "opened", finding_id=fid, at=at)
                open_ids.append(fid)
            fixed = 0 if day == 0 else min(len(open_ids), rng.randint(1, 7))
            for fid in rng.sample(open_ids, fixed):
                open_ids.remove(fid)
                audit.record(db, rng.choice(["resolved", "resolved", "remediation_verified"]), finding_id=fid, at=at)
    db.close()


def main() -> None:
    from skywarden.bot.cli import print_scan_summary
    from skywarden.bot.demo.runner import run_demo

    work = Path(tempfile.mkdtemp())
    demo_db = str(work / "skywarden-demo.db")
    run_demo(demo_db, print_scan_summary)
    html = work / "report.html"
    _cli("--db", demo_db, "report", "--framework", "cis-aws-3.0", "--output", str(html))
    _cli("--db", demo_db, "chart", "posture", "--output", str(HERE / "posture.png"))
    history = str(work / "history.db")
    sample_history(history, days=28)  # the backlog found by the first scan is before the 21 days shown
    _cli("--db", history, "chart", "trend", "--days", "21", "--output", str(HERE / "trend.png"))
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={work / 'chromium'}",
         f"--screenshot={HERE / 'report-cis-aws-3.0.png'}", "--window-size=1280,1600", html.as_uri()],
        check=True, capture_output=True,
    )


if __name__ == "__main__":
    main()
