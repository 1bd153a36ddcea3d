"""A `skywarden worker` whose collection stalls (after touching SLOW_WORKER_MARKER), so a test can SIGKILL it
mid-task or let the unit run past the scan's timeout. With SLOW_WORKER_UNIT set, only units whose key contains
it stall; the others are collected as usual."""

import os
import sys
import time

from skywarden.bot.worker import units

real = units.COLLECTORS["aws"]


def stalled(request):
    if os.environ.get("SLOW_WORKER_UNIT", "") not in request.unit:
        return real(request)
    with open(os.environ["SLOW_WORKER_MARKER"], "w") as marker:
        marker.write(f"collecting {request.unit}")
    time.sleep(60)
    return real(request)


units.COLLECTORS["aws"] = stalled

from skywarden.bot.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
