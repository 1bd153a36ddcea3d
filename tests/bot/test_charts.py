"""The PNG charts: valid PNGs of the documented size, and the bars measure the numbers they were given."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image

from skywarden.bot.core.charts import (
    DPI,
    SEVERITY_COLOURS,
    STATUS_COLOURS,
    WIDTH_IN,
    posture_height_px,
    render_posture_png,
    render_trend_png,
)
from skywarden.bot.core.compliance import Posture
from skywarden.storage.trend import DailyCounts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    return Image.open(io.BytesIO(png)).convert("RGB")


def _runs(image: Image.Image, y: int, colour: str) -> int:
    """Pixels of exactly this colour on row y."""
    target = _rgb(colour)
    return sum(1 for x in range(image.width) if image.getpixel((x, y)) == target)


def _bar_rows(image: Image.Image, colour: str) -> list[int]:
    """The y of the middle of each horizontal band containing this colour."""
    target = _rgb(colour)
    rows = [y for y in range(image.height) if any(image.getpixel((x, y)) == target
                                                  for x in range(int(image.width * 0.28), int(image.width * 0.83)))]
    bands: list[list[int]] = []
    for y in rows:
        if bands and y == bands[-1][-1] + 1:
            bands[-1].append(y)
        else:
            bands.append([y])
    return [band[len(band) // 2] for band in bands if len(band) > 10]


def test_posture_png_size_and_segment_widths_follow_the_counts():
    postures = [Posture("CIS Amazon Web Services Foundations Benchmark v3.0.0", 30, 10, 0, 0),
                Posture("PCI DSS 4.0", 10, 10, 0, 20)]
    image = _image(render_posture_png(postures))
    assert image.size == (int(WIDTH_IN * DPI), posture_height_px(2))
    fail_rows = _bar_rows(image, STATUS_COLOURS["fail"])
    assert len(fail_rows) == 2
    # Measure just above the middle, clear of the numbers written on the segments.
    first, second = (y - 8 for y in fail_rows)
    passed, failed = _runs(image, first, STATUS_COLOURS["pass"]), _runs(image, first, STATUS_COLOURS["fail"])
    assert passed / failed == pytest.approx(3.0, rel=0.08)
    assert _runs(image, first, STATUS_COLOURS["not evaluated"]) == 0
    passed, failed, unknown = (_runs(image, second, STATUS_COLOURS[s]) for s in ("pass", "fail", "not evaluated"))
    assert passed == pytest.approx(failed, rel=0.08) and unknown == pytest.approx(2 * passed, rel=0.08)
    # Same data, same bytes: nothing time- or machine-dependent goes into the file.
    assert render_posture_png(postures) == render_posture_png(postures)


def test_posture_png_grows_with_the_number_of_frameworks():
    many = [Posture(f"framework {i}", i, 1, 1, 1) for i in range(8)]
    assert _image(render_posture_png(many)).size == (1000, posture_height_px(8))
    assert posture_height_px(8) > posture_height_px(2)


def _day(n: int, open_high: int, new_high: int = 0, resolved_medium: int = 0) -> DailyCounts:
    zero = dict.fromkeys(SEVERITY_COLOURS, 0)
    return DailyCounts(date(2026, 11, 1) + timedelta(days=n), {**zero, "high": open_high, "medium": 2},
                       {**zero, "high": new_high}, {**zero, "medium": resolved_medium})


def _column_height(image: Image.Image, x: int, colour: str, y_range: range) -> int:
    target = _rgb(colour)
    return sum(1 for y in y_range if image.getpixel((x, y)) == target)


def test_trend_png_bar_heights_follow_the_counts():
    days = [_day(0, 2), _day(1, 4, new_high=2), _day(2, 4, resolved_medium=3), _day(3, 8, new_high=4)]
    image = _image(render_trend_png(days))
    assert image.size == (1000, 640)
    high, medium = SEVERITY_COLOURS["high"], SEVERITY_COLOURS["medium"]
    # The columns: x of the middle of each run of "high" pixels on a row low in the top panel.
    # Below the legend, above the bottom panel (the top panel ends near 57% of the height, the bottom starts at 61%).
    top = range(int(image.height * 0.07), int(image.height * 0.59))
    columns = [x for x in range(image.width) if _column_height(image, x, high, top) > 0]
    groups: list[list[int]] = []
    for x in columns:
        if groups and x == groups[-1][-1] + 1:
            groups[-1].append(x)
        else:
            groups.append([x])
    middles = [g[len(g) // 2] for g in groups if len(g) > 20]
    assert len(middles) == 4
    heights = [_column_height(image, x, high, top) for x in middles]
    assert [h / heights[0] for h in heights] == pytest.approx([1, 2, 2, 4], rel=0.06)
    mediums = [_column_height(image, x, medium, top) for x in middles]
    assert max(mediums) - min(mediums) <= 2 and mediums[0] == pytest.approx(heights[0], rel=0.06)
    # Bottom panel: new (up) in the severity's colour; resolved (down) hatched in the severity's colour.
    bottom = range(int(image.height * 0.6), image.height)
    new = [_column_height(image, x, high, bottom) for x in middles]
    assert new[0] == 0 and new[2] == 0 and new[3] / new[1] == pytest.approx(2, rel=0.08)
    assert _column_height(image, middles[2], medium, bottom) > 0 and _column_height(image, middles[1], medium,
                                                                                     bottom) == 0


def test_trend_needs_days():
    with pytest.raises(ValueError, match="no days"):
        render_trend_png([])
