"""Render findings for people and machines: table, JSON, CSV, OCSF Detection Finding."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from skywarden.rules.model import Rule

FORMATS = ("table", "json", "csv", "ocsf")
PRODUCT_VERSION = "0.1.0"

_SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# OCSF status_id: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved
_STATUS = {
    "open": (1, "New"),
    "acknowledged": (2, "In Progress"),
    "suppressed": (3, "Suppressed"),
    "resolved": (4, "Resolved"),
    "remediated": (4, "Resolved"),
}


def finding_record(row: Mapping[str, Any], rule: Rule | None = None) -> dict[str, Any]:
    """The stable JSON shape of one failed check."""
    record = {
        "finding_id": row["id"],
        "number": row["number"],
        "rule_id": row["rule_id"],
        "title": row["title"],
        "severity": row["severity"],
        "provider": row["provider"],
        "account_id": row["account_id"],
        "region": row["region"],
        "resource_type": row["resource_type"],
        "resource_id": row["resource_id"],
        "resource_name": row.get("resource_name"),
        "state": row["state"],
        "status": row.get("status") or "FAIL",
        "frameworks": row["frameworks"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "resolved_at": row.get("resolved_at"),
        "failure": row.get("failure"),  # what is wrong ("S3 bucket acme-logs is publicly readable")
        "detail": row.get("detail"),  # the evidence: which setting, grant, statement or port failed
    }
    if rule is not None:
        record["description"] = rule.description
        record["remediation"] = rule.remediation_guidance
        record["remediation_action"] = rule.remediation_action
    return record


@dataclass(frozen=True)
class TableStyle:
    """How a table is drawn: plain ASCII and no colour unless it goes to a terminal."""

    width: int = 160
    color: bool = False
    boxes: bool = False  # Unicode box drawing; '+', '-', '|' otherwise

    @classmethod
    def for_stream(cls, stream: TextIO | None = None) -> TableStyle:
        """The terminal's width, colour and boxes when ``stream`` is one; piped or a file: ASCII, no escapes."""
        stream = stream or sys.stdout
        if not _isatty(stream):
            return cls(width=_env_columns() or 160)
        color = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        return cls(width=_env_columns() or shutil.get_terminal_size((160, 24)).columns, color=color, boxes=True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream is no terminal
        return False


def _env_columns() -> int | None:
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) >= 40 else None


_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render(rows: Sequence[Mapping[str, Any]], fmt: str, rules: Mapping[str, Rule] | None = None,
           style: TableStyle | None = None) -> str:
    rules = rules or {}
    if fmt == "json":
        return json.dumps([finding_record(r, rules.get(r["rule_id"])) for r in rows], indent=2) + "\n"
    if fmt == "csv":
        return _csv(rows)
    if fmt == "ocsf":
        return json.dumps([ocsf(r, rules.get(r["rule_id"])) for r in rows], indent=2) + "\n"
    if fmt == "table":
        return _table(rows, style or TableStyle())
    raise ValueError(f"unknown format {fmt!r}")


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    columns = [
        "finding_id", "number", "rule_id", "title", "severity", "state", "provider", "account_id", "region",
        "resource_type", "resource_id", "resource_name", "frameworks", "first_seen", "last_seen", "status", "failure",
        "detail",
    ]  # fmt: skip
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = finding_record(row)
        record["frameworks"] = "; ".join(
            f"{key}:{control}" for key, controls in sorted(row["frameworks"].items()) for control in controls
        )
        writer.writerow(record)
    return out.getvalue()


_NARROW = 120  # below this, account and region share a column so the prose columns keep room to read


def _headline(row: Mapping[str, Any], name: str) -> str:
    """What the row says first: the failure headline, or for pass evidence that the check passed."""
    if row.get("status") == "PASS":
        return f"{name} passes: {row['title']}"
    return row.get("failure") or f"{name} fails: {row['title']}"


def _table(rows: Sequence[Mapping[str, Any]], style: TableStyle) -> str:
    table = Table(show_lines=False, header_style="bold" if style.color else "",
                  box=box.HEAVY_HEAD if style.boxes else box.ASCII, safe_box=not style.boxes)
    narrow = style.width < _NARROW
    where = (("account / region", None),) if narrow else (("account", None), ("region", None))
    # Short columns keep their words whole; the two prose columns share what the terminal has left.
    for column, ratio in (("#", None), ("severity", None), ("state", None), ("failure / rule", 3), *where,
                          ("evidence", 2)):
        table.add_column(column, overflow="fold", ratio=ratio, no_wrap=ratio is None)
    for row in rows:
        name = row.get("resource_name") or row["resource_id"]
        severity = row["severity"]
        location = [f"{row['account_id']}\n{row['region']}"] if narrow else [row["account_id"], row["region"]]
        # Text, never markup: a resource named "[red]x" is a cloud's string, not a style for us to apply.
        table.add_row(
            Text("" if row["number"] is None else str(row["number"])),
            Text(severity, style=_SEVERITY_STYLE.get(severity, "") if style.color else ""),
            Text(row["state"] or (row.get("status") or "").lower()),
            Text(f"{_headline(row, name)}\n{row['rule_id']}"),
            *(Text(value) for value in location),
            Text(row.get("detail") or ""),
        )
    console = Console(file=io.StringIO(), width=style.width, force_terminal=style.color,
                      color_system="standard" if style.color else None, no_color=not style.color,
                      legacy_windows=False)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def _epoch_ms(stamp: str | None) -> int | None:
    return None if not stamp else int(datetime.fromisoformat(stamp).timestamp() * 1000)


def ocsf(row: Mapping[str, Any], rule: Rule | None = None) -> dict[str, Any]:
    """An OCSF Detection Finding (class 2004), the shape Security Hub and Prowler exchange.

    ``status_code`` is the check's verdict (FAIL, or PASS for the pass evidence of ``--include-passed``);
    ``status_id``/``status`` are the finding's workflow state. A pass has no finding: its status is Other."""
    passed = row.get("status") == "PASS"
    if passed:
        status_id, status = 99, "Passed"
        activity_id = 1  # Create: a new piece of evidence
    else:
        status_id, status = _STATUS.get(row["state"], (99, row["state"]))
        if row["state"] in ("resolved", "remediated"):
            activity_id = 3  # Close
        else:
            activity_id = 1 if row["first_seen"] == row["last_seen"] else 2  # Create, Update
    provider = row["provider"]
    account_type_id, account_type = _ACCOUNT_TYPE.get(provider, (99, "Other"))
    finding: dict[str, Any] = {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": _ACTIVITY[activity_id],
        "type_uid": 2004 * 100 + activity_id,
        "type_name": f"Detection Finding: {_ACTIVITY[activity_id]}",
        "severity_id": _SEVERITY_ID.get(row["severity"], 0),
        "severity": row["severity"].capitalize(),
        "status_id": status_id,
        "status": status,
        "status_code": "PASS" if passed else "FAIL",
        "time": _epoch_ms(row["last_seen"]),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Skywarden", "vendor_name": "Skywarden", "version": PRODUCT_VERSION},
            "event_code": row["rule_id"],
        },
        "finding_info": {
            "uid": row["id"],
            "title": row["title"],
            "desc": rule.description if rule else row["title"],
            "types": [row["rule_id"]],
            "first_seen_time": _epoch_ms(row["first_seen"]),
            "last_seen_time": _epoch_ms(row["last_seen"]),
        },
        "cloud": {
            "provider": provider,
            "region": row["region"],
            # No account names are stored: the id is the name (Prowler does the same without Organizations).
            "account": {"uid": row["account_id"], "name": row["account_id"], "type_id": account_type_id,
                        "type": account_type},
        },
        "resources": [
            {
                "uid": row["resource_id"],
                "name": row.get("resource_name"),
                "type": row["resource_type"],
                "region": row["region"],
                "cloud_partition": row["resource_id"].split(":")[1] if row["resource_id"].startswith("arn:") else None,
            }
        ],
        "unmapped": {"compliance": row["frameworks"], "rule_id": row["rule_id"], "state": row["state"]},
    }
    if row.get("detail"):
        finding["status_detail"] = row["detail"]
    if rule is not None and rule.remediation_guidance:
        finding["remediation"] = {"desc": rule.remediation_guidance}
    return finding


OCSF_VERSION = "1.1.0"
_ACTIVITY = {1: "Create", 2: "Update", 3: "Close"}
# OCSF account type_id: 10 AWS Account, 6 Azure AD Account, 5 GCP Account.
_ACCOUNT_TYPE = {"aws": (10, "AWS Account"), "azure": (6, "Azure AD Account"), "gcp": (5, "GCP Account")}
