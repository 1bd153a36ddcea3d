"""PNG charts: posture per framework (or section) and the findings trend. Pure rendering: data in, bytes out.

matplotlib's object API with the Agg canvas (no pyplot global state, safe in worker threads, no display), and
the DejaVu fonts matplotlib ships, so the same data gives the same picture on every machine.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from skywarden.bot.core.compliance import Posture
from skywarden.storage.trend import DailyCounts

# One palette everywhere (charts, HTML report): a severity or a status always has the same colour.
SEVERITY_COLOURS = {
    "critical": "#7b1fa2",
    "high": "#d32f2f",
    "medium": "#f57c00",
    "low": "#fbc02d",
    "info": "#90a4ae",
}
STATUS_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "manual": "#5c6bc0", "not evaluated": "#b0bec5"}
_STATUS_TEXT = {"pass": "white", "fail": "white", "manual": "white", "not evaluated": "#263238"}
DPI = 100
WIDTH_IN = 10.0


def posture_height_px(bars: int) -> int:
    """The height of a posture chart with this many bars (the width is always WIDTH_IN * DPI)."""
    return int(round((1.4 + 0.55 * max(bars, 1)) * DPI))


def render_posture_png(postures: Sequence[Posture], title: str = "Compliance posture (controls)") -> bytes:
    """One horizontal bar per posture: the shares of its controls passing, failing, manual and not evaluated
    (counts written on the segments), with the pass rate of the decided (pass or fail) controls at the right."""
    height_in = posture_height_px(len(postures)) / DPI
    bars_in = 0.55 * max(len(postures), 1)
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    # Fixed margins in inches (title and legend above, axis labels below) so any number of bars fits.
    ax = fig.add_axes((0.29, 0.6 / height_in, 0.53, bars_in / height_in))
    names = [_label(p.name) for p in postures]
    rows = range(len(postures))
    # Bars are shares of each framework's controls (frameworks differ tenfold in size); numbers are counts.
    left = [0.0] * len(postures)
    for status, attr in (("pass", "passed"), ("fail", "failed"), ("manual", "manual"),
                         ("not evaluated", "not_evaluated")):
        counts = [getattr(p, attr) for p in postures]
        shares = [100.0 * count / p.total if p.total else 0.0 for count, p in zip(counts, postures, strict=True)]
        ax.barh(rows, shares, left=left, color=STATUS_COLOURS[status], label=status, height=0.62,
                edgecolor="white", linewidth=0.8)
        for row, (start, share, count) in enumerate(zip(left, shares, counts, strict=True)):
            # Only label segments wide enough for their number: a crowded label helps nobody.
            if count and share >= 3.0 + 1.2 * len(str(count)):
                ax.text(start + share / 2, row, str(count), ha="center", va="center", fontsize=9,
                        color=_STATUS_TEXT[status], fontweight="bold")
        left = [a + b for a, b in zip(left, shares, strict=True)]
    for row, posture in enumerate(postures):
        decided = posture.passed + posture.failed
        label = f"{posture.percent:.0f}% pass ({posture.passed}/{decided})" if decided else "nothing decided"
        ax.text(1.015, row, label, transform=ax.get_yaxis_transform(), va="center", fontsize=9, color="#263238")
    ax.set_yticks(list(rows), names, fontsize=9.5, linespacing=1.1)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("share of the framework's controls", fontsize=8, color="#546e7a")
    ax.tick_params(axis="x", labelsize=8, colors="#546e7a")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title, x=0.02, ha="left", fontsize=13, fontweight="bold", color="#263238")
    fig.legend(*ax.get_legend_handles_labels(), loc="upper right", ncols=4, fontsize=9, frameon=False,
               bbox_to_anchor=(0.98, 1.0 - 0.08 / height_in))
    return _png(fig)


def render_trend_png(daily_counts: Sequence[DailyCounts], title: str = "Findings over time") -> bytes:
    """Two panels over the same days: findings open at the end of each day, stacked by severity; and the
    findings opened (up) and resolved (down) that day, stacked by severity."""
    if not daily_counts:
        raise ValueError("no days to draw")
    fig = Figure(figsize=(WIDTH_IN, 6.4), dpi=DPI)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.12})
    days = list(range(len(daily_counts)))
    severities = [s for s in SEVERITY_COLOURS if any(s in d.open for d in daily_counts)]
    base = [0] * len(days)
    for severity in severities:
        values = [d.open.get(severity, 0) for d in daily_counts]
        top.bar(days, values, bottom=base, color=SEVERITY_COLOURS[severity], label=severity, width=0.8)
        base = [a + b for a, b in zip(base, values, strict=True)]
    peak = max(base, default=0)
    for day, total in zip(days, base, strict=True):
        if total and len(days) <= 31:
            top.text(day, total + peak * 0.015, str(total), ha="center", va="bottom", fontsize=7, color="#263238")
    top.set_ylim(0, max(peak * 1.12, 1))
    top.set_ylabel("open at end of day", fontsize=9)
    up = [0] * len(days)
    down = [0] * len(days)
    for severity in severities:
        new = [d.new.get(severity, 0) for d in daily_counts]
        gone = [-d.resolved.get(severity, 0) for d in daily_counts]
        bottom.bar(days, new, bottom=up, color=SEVERITY_COLOURS[severity], width=0.8)
        bottom.bar(days, gone, bottom=down, color=SEVERITY_COLOURS[severity], width=0.8, hatch="///",
                   edgecolor="white", linewidth=0)
        up = [a + b for a, b in zip(up, new, strict=True)]
        down = [a + b for a, b in zip(down, gone, strict=True)]
    span = max([*up, *(-d for d in down), 1])
    for day, (plus, minus) in enumerate(zip(up, down, strict=True)):
        if len(days) <= 31:
            if plus:
                bottom.text(day, plus + span * 0.03, f"+{plus}", ha="center", va="bottom", fontsize=7,
                            color="#263238")
            if minus:
                bottom.text(day, minus - span * 0.03, f"\u2212{-minus}", ha="center", va="top", fontsize=7,
                            color="#263238")
    bottom.axhline(0, color="#546e7a", linewidth=0.8)
    bottom.set_ylim(-span * 1.35, span * 1.35)
    bottom.set_ylabel("new (up) / resolved (down)", fontsize=9)
    for ax in (top, bottom):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.yaxis.set_major_formatter(lambda value, _pos: f"{abs(int(value))}")
        ax.tick_params(labelsize=8, colors="#546e7a")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.grid(axis="y", color="#eceff1", linewidth=0.8)
        ax.set_axisbelow(True)
    step = -(-len(days) // 11)  # at most 11 date labels: wider ones would touch
    bottom.set_xticks(days[::step], [d.day.strftime("%b %d") for d in daily_counts][::step], fontsize=8)
    bottom.set_xlim(-0.6, len(days) - 0.4)
    fig.suptitle(title, x=0.02, ha="left", fontsize=13, fontweight="bold", color="#263238")
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncols=len(labels), fontsize=9, frameon=False,
               bbox_to_anchor=(0.98, 0.995))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.08)
    return _png(fig)


def _label(text: str) -> str:
    """At most two lines of 36 characters: long catalogue names wrap instead of running off the left edge."""
    lines = textwrap.wrap(text, 36) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), 36, placeholder="\u2026")]
    return "\n".join(lines)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    # No creation time or software version in the file: the same data gives the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
