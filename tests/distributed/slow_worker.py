"""A `skywarden worker` whose collection stalls (after touching SLOW_WORKER_MARKER), so a test can SIGKILL it
mid-task."""

import os
import sys
import time

import skywarden.bot.worker.app as worker_app

real = worker_app.collect_aws


def stalled(*args, **kwargs):
    with open(os.environ["SLOW_WORKER_MARKER"], "w") as marker:
        marker.write("collecting")
    time.sleep(60)
    return real(*args, **kwargs)


worker_app.collect_aws = stalled

from skywarden.bot.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
