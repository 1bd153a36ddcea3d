"""`make demo` installs `.[demo]` only: Celery and redis (the `scale` extra) must not be needed to run the CLI,
the console or the bot's wiring; only a scan that really goes to workers (or `skywarden worker`) needs them."""

from __future__ import annotations

import subprocess
import sys

BLOCK_SCALE = "import sys\nfor name in ('celery', 'kombu', 'redis'):\n    sys.modules[name] = None\n"


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_SCALE + code], capture_output=True, text=True, timeout=120)


def test_the_cli_and_the_wiring_import_without_the_scale_extra() -> None:
    done = run("import skywarden.bot.cli, skywarden.bot.wiring, skywarden.bot.demo.runner\n"
               "from click.testing import CliRunner\n"
               "result = CliRunner().invoke(skywarden.bot.cli.main, ['--help'])\n"
               "assert result.exit_code == 0 and 'worker' in result.output, result.output\n")
    assert done.returncode == 0, done.stderr


def test_the_block_really_hides_celery() -> None:
    assert run("import celery").returncode != 0


def test_the_worker_without_celery_says_which_extra_to_install() -> None:
    done = run("from click.testing import CliRunner\nfrom skywarden.bot.cli import main\n"
               "result = CliRunner().invoke(main, ['worker', '--broker', 'redis://127.0.0.1:9/0'])\n"
               "assert result.exit_code == 1, result.output\n"
               "assert \"pip install 'skywarden[scale]'\" in result.output, result.output\n")
    assert done.returncode == 0, done.stderr
