"""`skywarden report`: a framework's compliance, control by control, from the stored verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skywarden.bot.core.report import REPORT_FORMATS, render_report


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
    from skywarden.bot.core.compliance import build_report
    from skywarden.rules.frameworks import load_catalogues
    from skywarden.rules.loader import load_rules
    from skywarden.storage.check_results import latest_check_results
    from skywarden.storage.db import now, open_db

    catalogues = load_catalogues()
    if framework_key not in catalogues:
        raise click.BadParameter(f"unknown framework {framework_key!r}; known: {', '.join(sorted(catalogues))}",
                                 param_hint="--framework")
    rules = load_rules([Path(p) for p in rule_paths] if rule_paths else None)
    db = open_db(obj["db"], readonly=True)
    wanted = [item.strip() for value in accounts for item in value.split(",") if item.strip()]
    results = latest_check_results(db)
    if not results:
        click.echo("warning: no check results stored yet (scan with this release first): every automated "
                   "control is 'not evaluated'", err=True)
    built = build_report(catalogues[framework_key], rules, results, now(), wanted or None)
    text = render_report(built, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group("chart")
def chart() -> None:
    """PNG charts of the stored posture and findings history."""


@chart.command("posture")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--all-frameworks", is_flag=True, help="Also frameworks no scanned resource speaks to.")
@click.pass_obj
def chart_posture(obj: dict[str, Any], output: str, all_frameworks: bool) -> None:
    """Controls passing, failing, manual and not evaluated, one bar per framework."""
    from skywarden.bot.core.charts import render_posture_png
    from skywarden.bot.core.compliance import framework_postures
    from skywarden.rules.frameworks import load_catalogues
    from skywarden.rules.loader import load_rules
    from skywarden.storage.check_results import latest_check_results
    from skywarden.storage.db import now, open_db

    db = open_db(obj["db"], readonly=True)
    postures = framework_postures(load_catalogues().values(), load_rules(), latest_check_results(db), now(),
                                  only_scanned=not all_frameworks)
    if not postures:
        raise click.ClickException("no scan results yet: run `skywarden scan ...` first (or --all-frameworks)")
    Path(output).write_bytes(render_posture_png(postures))
    click.echo(f"wrote {output}", err=True)


@chart.command("trend")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--provider", type=click.Choice(["aws", "azure", "gcp"]))
@click.pass_obj
def chart_trend(obj: dict[str, Any], output: str, days: int, provider: str | None) -> None:
    """Findings open at the end of each day, and opened/resolved that day, by severity (UTC days)."""
    from skywarden.bot.core.charts import render_trend_png
    from skywarden.storage.db import open_db
    from skywarden.storage.trend import daily_finding_counts

    db = open_db(obj["db"], readonly=True)
    Path(output).write_bytes(render_trend_png(daily_finding_counts(db, days=days, provider=provider)))
    click.echo(f"wrote {output}", err=True)
