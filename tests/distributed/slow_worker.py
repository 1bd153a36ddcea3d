"""A `skywarden worker` whose collection stalls (after touching SLOW_WORKER_MARKER), so a test can SIGKILL it
mid-task."""

import os
import sys
import time

from skywarden.bot.worker import units

real = units.COLLECTORS["aws"]


def stalled(request):
    with open(os.environ["SLOW_WORKER_MARKER"], "w") as marker:
        marker.write(f"collecting {request.unit}")
    time.sleep(60)
    return real(request)


units.COLLECTORS["aws"] = stalled

from skywarden.bot.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
