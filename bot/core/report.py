"""Render a compliance report (bot.compliance) as CSV, Markdown or one self-contained HTML file.

The HTML has no external reference at all (no CDN, font, script or stylesheet): charts are inline base64
PNGs, so it opens offline and can be mailed as one file. Every string from the cloud or a rule pack is
escaped: resource names and tags are written by whoever controls the account.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from html import escape

from skywarden.bot.core.charts import STATUS_COLOURS, render_posture_png
from skywarden.bot.core.compliance import ComplianceReport, ControlResult

REPORT_FORMATS = ("html", "csv", "md")
CSV_COLUMNS = (
    "framework", "control_id", "section", "title", "control_status", "reason", "rule_id", "resource_id",
    "resource_name", "account_id", "region", "result", "detail",
)  # fmt: skip


def render_report(report: ComplianceReport, fmt: str) -> str:
    renderers: dict[str, Callable[[ComplianceReport], str]] = {"html": render_html, "csv": render_csv,
                                                                "md": render_markdown}
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(REPORT_FORMATS)})")
    return renderers[fmt](report)


def render_csv(report: ComplianceReport) -> str:
    """One row per verdict behind a control (a control without any gets one row with empty resource columns),
    so a spreadsheet filter on control_status or result gives either view."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for control in report.controls:
        base = {"framework": report.framework.key, "control_id": control.id, "section": control.section,
                "title": control.title, "control_status": control.status, "reason": control.reason}
        if not control.resources:
            writer.writerow({**base, "rule_id": ", ".join(control.rules)})
        for row in control.resources:
            writer.writerow({**base, "rule_id": row["rule_id"], "resource_id": row["resource_id"],
                             "resource_name": row["resource_name"] or "", "account_id": row["account_id"],
                             "region": row["region"], "result": row["status"], "detail": row["detail"] or ""})
    return out.getvalue()


def _md(text: object) -> str:
    """A Markdown table cell: pipes and line breaks would end the cell, and HTML in it would render."""
    return escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def render_markdown(report: ComplianceReport) -> str:
    posture = report.posture()
    lines = [
        f"# {_md(report.title)} compliance report",
        "",
        f"Generated {_md(report.generated_at)}; accounts: {_md(', '.join(report.accounts) or 'none scanned')}.",
        "",
        f"**{posture.passed} pass, {posture.failed} fail, {posture.manual} manual, {posture.not_evaluated} not "
        f"evaluated** of {posture.total} controls ({posture.percent:.0f}% of the decided controls pass).",
        "",
        "| Control | Title | Status | Why | Resources |",
        "| --- | --- | --- | --- | --- |",
    ]
    for control in report.controls:
        failing = [r for r in control.resources if r["status"] != "pass"]
        resources = "; ".join(f"{r['status'].upper()} {_resource_label(r)}" for r in failing[:5])
        if len(failing) > 5:
            resources += f"; and {len(failing) - 5} more"
        lines.append(f"| {_md(control.id)} | {_md(control.title)} | {control.status} | {_md(control.reason)} | "
                     f"{_md(resources)} |")
    lines += ["", "## Resources per control", ""]
    for control in report.controls:
        if not control.resources:
            continue
        lines.append(f"### {_md(control.id)} {_md(control.title)} ({control.status})")
        lines.append("")
        lines += [f"- {r['status'].upper()} `{_md(r['rule_id'])}` {_md(_resource_label(r))}"
                  + (f": {_md(r['detail'])}" if r["detail"] else "") for r in control.resources]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _resource_label(row: dict[str, object]) -> str:
    name = row.get("resource_name")
    where = f"{row['account_id']}/{row['region']}"
    return f"{name} ({row['resource_id']}, {where})" if name and name != row["resource_id"] else \
        f"{row['resource_id']} ({where})"


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1100px;
color:#263238;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #cfd8dc}
.meta{color:#546e7a;margin-top:0}
.cards{display:flex;gap:.8rem;margin:1rem 0} .card{flex:1;border-radius:6px;padding:.7rem 1rem;color:#fff}
.card b{display:block;font-size:1.8rem}
.card.not-evaluated{color:#263238}
table{border-collapse:collapse;width:100%;font-size:.9rem} th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #eceff1;vertical-align:top} th{background:#f5f7f8}
.status{display:inline-block;border-radius:4px;padding:.05rem .45rem;color:#fff;font-size:.8rem;
white-space:nowrap} .status.not-evaluated{color:#263238}
details summary{cursor:pointer;color:#37474f} ul.res{margin:.3rem 0 .2rem 1rem;padding:0}
ul.res li{margin:.1rem 0;list-style:none} code{font-size:.85em;word-break:break-all}
img{max-width:100%}
"""


def _status_class(status: str) -> str:
    return status.replace(" ", "-")


def render_html(report: ComplianceReport) -> str:
    posture = report.posture()
    sections = report.sections()
    chart = render_posture_png([report.posture("All controls"), *(report.posture(_section_name(name), controls)
                                                    for name, controls in sections)],
                               title="Controls by section")
    colours = "".join(
        f".s-{_status_class(status)}{{background:{colour}}}" for status, colour in STATUS_COLOURS.items()
    )
    cards = "".join(
        f'<div class="card s-{_status_class(status)} {_status_class(status)}"><b>{count}</b>{escape(status)}</div>'
        for status, count in (("pass", posture.passed), ("fail", posture.failed), ("manual", posture.manual),
                              ("not evaluated", posture.not_evaluated))
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)} compliance report</title>",
        f"<style>{_CSS}{colours}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">Compliance report generated {escape(report.generated_at)} &middot; framework '
        f'<code>{escape(report.framework.key)}</code> &middot; accounts: '
        f'{escape(", ".join(report.accounts) or "none scanned")} &middot; {posture.percent:.0f}% of the '
        f"{posture.passed + posture.failed} decided controls pass</p>",
        f'<div class="cards">{cards}</div>',
        f'<img alt="Controls by section: pass, fail, manual, not evaluated" '
        f'src="data:image/png;base64,{base64.b64encode(chart).decode()}">',
    ]
    for name, controls in sections:
        parts.append(f"<h2>{escape(_section_name(name))}</h2>")
        parts.append('<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Evidence</th></tr>'
                     "</thead><tbody>")
        parts += [_control_row(control) for control in controls]
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _section_name(section: str) -> str:
    return f"Section {section}" if section and section != "-" and section[0].isdigit() else section or "-"


def _control_row(control: ControlResult) -> str:
    status = (f'<span class="status s-{_status_class(control.status)} {_status_class(control.status)}">'
              f"{escape(control.status)}</span>")
    evidence = [f"<div>{escape(control.reason)}</div>"]
    if control.rules:
        evidence.append("<div>rules: " + ", ".join(f"<code>{escape(r)}</code>" for r in control.rules) + "</div>")
    if control.resources:
        items = "".join(
            f'<li data-result="{escape(r["status"])}"><span class="status s-{_result_class(r["status"])}">'
            f'{escape(r["status"])}</span> <code class="resource">{escape(r["resource_id"])}</code>'
            + (f" {escape(r['resource_name'])}" if r["resource_name"] and r["resource_name"] != r["resource_id"]
               else "")
            + f" &middot; {escape(r['account_id'])} {escape(r['region'])} &middot; <code>{escape(r['rule_id'])}</code>"
            + (f" &middot; {escape(r['detail'])}" if r["detail"] else "")
            + "</li>"
            for r in control.resources
        )
        # Failing and erroring controls open by default: that is what a reader came for.
        opened = " open" if any(r["status"] != "pass" for r in control.resources) else ""
        evidence.append(f"<details{opened}><summary>{len(control.resources)} resource(s)</summary>"
                        f'<ul class="res">{items}</ul></details>')
    return (f'<tr class="control" data-control="{escape(control.id)}" data-status="{escape(control.status)}">'
            f"<td><code>{escape(control.id)}</code></td><td>{escape(control.title)}</td><td>{status}</td>"
            f"<td>{''.join(evidence)}</td></tr>")


def _result_class(result: str) -> str:
    return {"pass": "pass", "fail": "fail"}.get(result, "not-evaluated")
