"""The process the crash tests kill with SIGKILL (python -m tests.bot.crash_child MODE DB MARKER).

slow: starts the scheduler with an every-second schedule (added here, in this process) whose scan sleeps
      inside collect after writing MARKER; the parent kills it there.
loop: runs scans back to back on a larger estate whose failures flip every scan, appending to MARKER after
      each; the parent kills it at a random moment (possibly inside reconcile's transaction).
cli:  what `skywarden scan` does, without the bot: one scan whose collect writes MARKER and sleeps, with a
      fast heartbeat; the parent opens the database meanwhile (it must leave the live scan alone), then kills it.
"""

from __future__ import annotations

import sys
import time

from skywarden.bot.commands import Who
from skywarden.bot.commands.schedules import schedule_command
from skywarden.bot.core.orchestrator import ScanRequest
from skywarden.bot.core.settings import parse_config
from skywarden.bot.wiring import assemble, scheduler_for
from tests.bot.helpers import ACCOUNT, RULES, bucket
from tests.bot.scheduling_support import SlowEstate

CONFIG = {"accounts": [{"id": ACCOUNT, "name": "prod"}], "scans": {"min_interval_minutes": 0}}  # every second


def main(mode: str, db_path: str, marker: str) -> None:
    if mode == "slow":
        estate = SlowEstate([bucket("open-bucket")], delay_s=60, marker=marker)  # fixed now: would resolve
        services = assemble(db_path, parse_config(CONFIG), RULES, estate.runner)
        reply = schedule_command(services, ["add", "aws", "prod", "* * * * * *", "#security"], Who("U0OPS"))
        assert reply.ok, reply.message.text
        scheduler_for(services).start()
        time.sleep(120)
    elif mode == "cli":
        from skywarden.bot.core.scanning import run_scan
        from skywarden.storage import liveness
        from skywarden.storage.db import open_db

        liveness.HEARTBEAT_INTERVAL_S = 0.2

        def collect(resource_types: frozenset[str]) -> None:
            with open(marker, "w") as handle:
                handle.write("collecting\n")
            time.sleep(120)

        run_scan(open_db(db_path), list(RULES.values()), "aws", {"accounts": [ACCOUNT]}, collect)  # type: ignore[arg-type]
    else:
        estate = SlowEstate()
        services = assemble(db_path, parse_config(CONFIG), RULES, estate.runner)
        for round_number in range(10_000):
            estate.resources = [bucket(f"b{i}", blocked=(i + round_number) % 2 == 0, versioned=i % 3 == 0)
                                for i in range(400)]
            submission = services.orchestrator.submit(ScanRequest("aws", (ACCOUNT,), (), "U0OPS", None))
            assert submission.future is not None
            submission.future.result()
            with open(marker, "a") as handle:
                handle.write(f"{round_number}\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
