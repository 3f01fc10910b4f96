"""The charts' specs against real views (the bundled samples, read by the records functions the
tools call), drawn by vl-convert into a scenegraph: the marks must match the data."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest
import vl_convert
from pydantic import BaseModel

from healthlocker import charts
from healthlocker.records import TrendPoint, TrendView

View = tuple[str, dict[str, Any], BaseModel]


def marks(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Items of the drawn marks, by mark name (several groups' items joined)."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for item in node.get("items", []):
            for child in item.get("items", []):
                yield from walk(child)

    root = vl_convert.vega_to_scenegraph(spec, allowed_base_urls=[])["scenegraph"]
    for mark in walk(root):
        if mark.get("name"):
            found.setdefault(mark["name"], []).extend(mark.get("items", []))
    return found


def drawn(tool: str, view: BaseModel) -> dict[str, list[dict[str, Any]]]:
    spec = charts.spec(tool, view)
    assert spec is not None
    return marks(spec)


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [i["text"] if isinstance(i["text"], str) else " ".join(i["text"]) for i in items]


def test_the_spec_is_the_template_with_the_result_as_its_data(views: dict[str, View]) -> None:
    for tool, _, view in views.values():
        spec = charts.spec(tool, view)
        assert spec is not None
        template = charts.VIEWS[tool].template()
        assert spec["data"][0] == {"name": "view", "values": [view.structured()]}
        assert {**spec, "data": spec["data"][1:]} == {**template, "data": template["data"][1:]}


def test_a_structured_content_dict_draws_the_same(views: dict[str, View]) -> None:
    tool, _, view = views["glucose"]
    assert charts.spec(tool, view.structured()) == charts.spec(tool, view)


def test_trend_points_band_and_latest(views: dict[str, View]) -> None:
    trend = views["blood_pressure"][2]
    assert isinstance(trend, TrendView)
    got = drawn("summarize_trends", trend)
    assert len(got["point_marks"]) == 2 * len(trend.points)
    assert len(got["line"]) == 2 * len(trend.points)  # no gaps between these yearly points
    systolic = [p.value for p in trend.points]
    q1, _, q3 = statistics.quantiles(systolic, n=4, method="inclusive")
    band = min(got["band_mark"], key=lambda b: b["y"])  # systolic: the higher band
    assert band["description"].startswith(f"typical systolic {q1:.0f}–{q3:.0f}")
    last = trend.points[-1]
    assert sorted(texts(got["latest_label"])) == [
        f"Latest: diastolic {last.value2:.3g}",
        f"Latest: systolic {last.value:.0f}",
    ]


def daily(days: list[int], value: float = 70.0) -> TrendView:
    """A trend of daily points on the given day numbers (0 = 2020-01-01)."""
    from datetime import date, timedelta

    first = date(2020, 1, 1)
    points = [
        TrendPoint(start=(first + timedelta(d)).isoformat(), value=value + d % 7, n=1) for d in days
    ]
    stats = {k: None for k in ("min", "max", "mean", "first", "last", "change")}
    return TrendView.model_validate(
        {
            "metric": "body_weight",
            "label": "Body weight",
            "codes": ["29463-7"],
            "unit": "kg",
            "granularity": "day",
            "aggregation": "mean of the samples in each day",
            "patient": None,
            "since": None,
            "until": None,
            "points": [p.model_dump() for p in points],
            "value2_label": None,
            "stats": {**stats, "slope_per_month": None},
            "stats2": None,
            "previous_period": None,
            "sources": [],
            "source_count": len(points),
            "notes": [],
        }
    )


def test_gaps_break_the_line_and_a_lone_point_keeps_its_symbol() -> None:
    # days 0-9, a gap, 20-29, a gap, 40 alone: three runs
    view = daily([*range(10), *range(20, 30), 40])
    got = drawn("summarize_trends", view)
    lines = got["line"]
    breaks = [i for i in lines if i.get("defined") is False]
    assert len(breaks) == 2  # a blank point at each gap
    assert len(got["point_marks"]) == 21  # sparse: every point has its symbol


def test_five_years_of_daily_points_draw_as_a_line() -> None:
    view = daily([d for d in range(5 * 365 + 1) if d % 97 != 50])  # a missing day now and then
    got = drawn("summarize_trends", view)
    assert len(got["point_marks"]) == 0  # too dense for a symbol each; the line carries them
    assert sum(1 for i in got["line"] if i.get("defined") is not False) == len(view.points)
    assert texts(got["latest_label"]) == [f"Latest: {view.points[-1].value:.3g}"]


def test_lab_history_marks_each_result_with_its_range_and_flag(views: dict[str, View]) -> None:
    labs = views["cholesterol"][2]
    results = [r for r in labs.results if r.patient == labs.results[0].patient]  # type: ignore[attr-defined]
    got = drawn("list_labs", labs)
    assert len(got["result_mark"]) == len(results)
    assert len(got["range_mark"]) == len(results)
    for item, r in zip(
        sorted(got["range_mark"], key=lambda i: i["x"]), reversed(results), strict=True
    ):
        assert item["description"] == f"range  to {r.reference_range.high:.0f}"
    words = texts(got["flag_label"])
    assert sum("high" in w for w in words) == sum(r.flag == "high" for r in results)
    assert any(w.startswith("Latest: ") for w in words)


def test_plan_bars_add_up_to_each_estimate(views: dict[str, View]) -> None:
    coverage = views["plans"][2]
    got = drawn("explain_coverage", coverage)
    plans = coverage.plan_comparison  # type: ignore[attr-defined]
    assert len(got["part_mark"]) == 4 * len(plans)
    sums = "\n".join(texts(got["sum_label"]))
    for plan in plans:
        parts = [plan.premiums, plan.deductible_part, plan.coinsurance_part, plan.copays_part]
        gross = sum(parts)
        assert f"= ${gross:,.2f}" in sums
        if plan.out_of_pocket_max_reached:
            assert f"${plan.premiums:,.2f} + ${plan.your_share:,.2f} = " in sums
        else:
            assert gross == pytest.approx(plan.estimated_yearly_cost, abs=0.011)


def test_medication_timeline_has_a_row_per_medication(views: dict[str, View]) -> None:
    meds = views["meds"][2].medications  # type: ignore[attr-defined]
    got = drawn("get_meds", views["meds"][2])
    assert len(got["med_label"]) == len({m.name for m in meds if m.started})
    ended_or_active = [m for m in meds if m.started and (m.ended or m.status == "active")]
    bars = [b for b in got["med_bar"] if b.get("opacity", 1) == 1]
    assert len(bars) == len(ended_or_active)
    assert "ongoing" in texts(got["med_status"])
