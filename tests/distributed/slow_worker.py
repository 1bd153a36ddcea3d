"""A `skywarden worker` whose collection stalls, so a test can SIGKILL it mid-task."""

import sys
import time

import skywarden.bot.worker.app as worker_app

real = worker_app.collect_aws


def stalled(*args, **kwargs):
    time.sleep(60)
    return real(*args, **kwargs)


worker_app.collect_aws = stalled

from skywarden.bot.cli import main  # noqa: E402

sys.exit(main(["worker", *sys.argv[1:]]))
