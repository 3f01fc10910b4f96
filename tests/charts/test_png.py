"""The PNG for clients without MCP Apps: one per chart, decoded and looked at; the renderer is
loaded only when a chart is drawn."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import vl_convert
from pydantic import BaseModel

from charts.pngcheck import decode
from healthlocker import charts
from healthlocker.records import LabResults, TrendStats, TrendView

View = tuple[str, dict[str, Any], BaseModel]
TITLES = {
    "blood_pressure": "Blood pressure",
    "body_weight": "Body weight",
    "glucose": "Glucose",
    "plans": "Estimated yearly cost per plan",
    "meds": "Medications over time",
}


@pytest.mark.parametrize("name", sorted(TITLES))
def test_each_chart_is_a_png_with_its_title(name: str, views: dict[str, View]) -> None:
    tool, _, view = views[name]
    image = charts.png(tool, view)
    assert image is not None
    picture = decode(image)
    assert picture.width == 720
    assert 200 < picture.height < 1200
    colours = picture.colours()
    assert len(colours) > 20, "blank or nearly so"
    assert picture.pixel(2, 2)[:3] == (255, 255, 255)  # the white background
    assert sum(1 for c in colours if c[:3] != (255, 255, 255)) > 10
    spec = charts.spec(tool, view)
    assert spec is not None
    svg = vl_convert.vega_to_svg(spec, allowed_base_urls=[])  # the same drawing, as text
    assert f">{TITLES[name]}</text>" in svg


def test_scale_makes_a_sharper_picture(views: dict[str, View]) -> None:
    tool, _, view = views["glucose"]
    one, two = charts.png(tool, view), charts.png(tool, view, scale=2)
    assert one is not None and two is not None
    assert decode(two).width == 2 * decode(one).width


def empty_trend() -> TrendView:
    stats = TrendStats(
        min=None, max=None, mean=None, first=None, last=None, change=None, slope_per_month=None
    )
    return TrendView(
        metric="steps",
        label="Steps",
        codes=[],
        unit="{steps}",
        granularity="day",
        aggregation="daily totals averaged per day",
        patient=None,
        since=None,
        until=None,
        points=[],
        value2_label=None,
        stats=stats,
        stats2=None,
        previous_period=None,
        sources=[],
        source_count=0,
        notes=["No steps data in this period"],
    )


def test_nothing_to_draw_is_none() -> None:
    assert charts.png("summarize_trends", empty_trend()) is None
    labs = LabResults(results=[], total=0, truncated=False, next_hint=None)
    assert charts.png("list_labs", labs) is None
    assert charts.spec("list_labs", labs) is None


def test_a_tool_without_a_chart_is_an_error(views: dict[str, View]) -> None:
    with pytest.raises(ValueError, match="no chart for the tool 'list_conditions'"):
        charts.png("list_conditions", views["meds"][2])


def test_importing_charts_does_not_load_the_renderer() -> None:
    code = (
        "import sys, healthlocker.charts as c; c.VIEWS; "
        "print(sorted(m for m in sys.modules if m.startswith('vl_convert')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_the_png_holds_no_text_chunks(views: dict[str, View]) -> None:
    """Health data only in pixels: no tEXt/iTXt/zTXt metadata that would carry it as text."""
    tool, _, view = views["meds"]
    image = charts.png(tool, view)
    assert image is not None
    assert not re.search(rb"[tiz]TXt", image)
