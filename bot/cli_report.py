"""`skywarden report`: a framework's compliance, control by control, from the stored verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.report import REPORT_FORMATS, render_report


@click.command("report")
@click.option("--framework", "framework_key", required=True, help="Catalogue key, e.g. cis-aws-3.0 "
              "(see `skywarden frameworks`).")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="html", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@click.option("--account", "accounts", multiple=True, help="Only these account/subscription/project ids.")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True), help="Rule files/directories.")
@click.pass_obj
def report(obj: dict[str, Any], framework_key: str, fmt: str, output: str | None, accounts: tuple[str, ...],
           rule_paths: tuple[str, ...]) -> None:
    """Compliance report per control (pass, fail, manual, not evaluated) with the resources behind each,
    from the latest scan of every resource. HTML is one self-contained file with charts."""
    from bot.compliance import build_report
    from rules.frameworks import load_catalogues
    from rules.loader import load_rules
    from storage.check_results import latest_check_results
    from storage.db import now, open_db

    catalogues = load_catalogues()
    if framework_key not in catalogues:
        raise click.BadParameter(f"unknown framework {framework_key!r}; known: {', '.join(sorted(catalogues))}",
                                 param_hint="--framework")
    rules = load_rules([Path(p) for p in rule_paths] if rule_paths else None)
    db = open_db(obj["db"], readonly=True)
    wanted = [item.strip() for value in accounts for item in value.split(",") if item.strip()]
    built = build_report(catalogues[framework_key], rules, latest_check_results(db), now(), wanted or None)
    text = render_report(built, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
