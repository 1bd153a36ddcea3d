"""``skywarden worker``: a Celery worker that collects and evaluates the units of distributed scans
(docs/scale-out.md). It uses its own credential chain and rule packs (--rules, like `scan`); the broker URL
comes from --broker or SKYWARDEN_BROKER_URL."""

from __future__ import annotations

import os
from pathlib import Path

import click

from skywarden.bot.core.distributed import BROKER_ENV, check_broker


@click.command()
@click.option("--broker", envvar=BROKER_ENV, help="redis:// or rediss:// URL (default: SKYWARDEN_BROKER_URL).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Accounts collected at once by this worker (processes).")
@click.option("--time-limit", type=click.IntRange(10), default=None,
              help="Seconds one account may take before it is killed (default: SKYWARDEN_TASK_TIME_LIMIT or 3600).")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True),
              help="Rule files/directories, as the scans that use this worker pass them (default: built-in packs).")
@click.option("--loglevel", default="WARNING", show_default=True)
@click.option("--hostname", default=None, help="Celery node name (default: skywarden@<host>.<pid>).")
def worker(broker: str | None, concurrency: int, time_limit: int | None, rule_paths: tuple[str, ...], loglevel: str,
           hostname: str | None) -> None:
    """Run a Celery worker for distributed scans (prefetch 1, late acknowledgement)."""
    try:
        from skywarden.bot.worker.app import DEFAULT_TIME_LIMIT_S, make_app
    except ImportError as exc:  # Celery is the `scale` extra
        raise click.ClickException(f"skywarden worker needs Celery: pip install 'skywarden[scale]' ({exc})") from None
    from skywarden.bot.worker.evaluate import RULES_ENV, worker_rules

    if not broker:
        raise click.UsageError(f"no broker: pass --broker or set {BROKER_ENV}")
    check_broker(broker)
    if rule_paths:
        os.environ[RULES_ENV] = os.pathsep.join(str(Path(p).resolve()) for p in rule_paths)
    # Load (and validate) the rule packs before taking any unit: a bad pack stops the worker with its errors.
    worker_rules()
    limit = time_limit or int(os.environ.get("SKYWARDEN_TASK_TIME_LIMIT", DEFAULT_TIME_LIMIT_S))
    app = make_app(broker, limit)
    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "--prefetch-multiplier=1",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--hostname={hostname or f'skywarden@%h.{os.getpid()}'}"]
    app.worker_main(argv)
