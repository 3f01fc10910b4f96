"""The MCP Apps views in real headless Chromium: the test host (ext-apps' AppBridge) frames each
view as a host does and sends it a real tool result over the apps protocol; the marks drawn are
checked against the data, and screenshots at desktop and phone width go to tests/output/charts/
(the samples are synthetic)."""

from __future__ import annotations

import statistics
from typing import Any

import pytest
from pydantic import BaseModel

from charts.browser import OUTPUT, drive, host
from charts.conftest import HOSTILE_NAME, tool_result
from healthlocker import charts
from helpers import chromium

DESKTOP, PHONE = 860, 360
View = tuple[str, dict[str, Any], BaseModel]


def case(name: str, view: View, width: int, **extra: Any) -> dict[str, Any]:
    tool, args, model = view
    return {
        "name": f"{name}-{width}",
        "view": charts.VIEWS[tool].name,
        "toolName": tool,
        "args": args,
        "result": tool_result(model),
        "width": width,
        "screenshot": str(OUTPUT / f"{name}-{width}.png"),
        **extra,
    }


@pytest.fixture(scope="module")
def drawn(views: dict[str, View]) -> dict[str, dict[str, Any]]:
    chromium()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    cases = [case(name, view, w) for name, view in views.items() for w in (DESKTOP, PHONE)]
    cases.append(case("body_weight-zoom", views["body_weight"], DESKTOP, zoom="week"))
    with host() as base:
        return drive(base, cases)


def value_at(ticks: list[dict[str, Any]], y: float) -> float:
    """The y axis's value at pixel height *y*, from two of its labelled ticks."""
    numeric = []
    for t in ticks:
        try:
            numeric.append(
                (float(t["text"].replace(",", "")), t["box"]["y"] + t["box"]["height"] / 2)
            )
        except ValueError:
            continue  # a date on the x axis
    (v0, y0), (v1, y1) = numeric[0], numeric[-1]
    return v0 + (y - y0) * (v1 - v0) / (y1 - y0)


def charted(results: list[Any]) -> list[Any]:
    """The lab results the chart draws: the newest numeric result's test, person and unit."""
    numeric = [r for r in results if r.value is not None and r.date]
    first = numeric[0]
    return [
        r
        for r in numeric
        if (r.loinc or r.test.lower()) == (first.loinc or first.test.lower())
        and r.patient == first.patient
        and r.unit == first.unit
    ]


def test_every_view_draws_without_errors_requests_or_storage(drawn: dict[str, Any]) -> None:
    for name, report in drawn.items():
        assert report["messages"] == [], (name, report["messages"])
        assert report["requests"] == [], (name, report["requests"])  # nothing from outside
        assert report["status"] == "", (name, report["status"])
        assert report["origin"] == "null"  # sandboxed: an opaque origin
        assert report["storage"] == "denied"  # and so no storage to persist anything in
        assert report["scripts"] == 2  # the spec's JSON and the frame's module, no more
        assert report["scrollWidth"] <= report["clientWidth"], f"{name} scrolls sideways"
        assert report["cutText"] == [], f"{name} cuts text at its edge"
        assert report["sizes"], f"{name} never told the host its size"
        assert (OUTPUT / f"{name}.png").stat().st_size > 5000


def test_blood_pressure_draws_two_series_the_band_and_the_latest(
    drawn: dict[str, Any], views: dict[str, View]
) -> None:
    trend = views["blood_pressure"][2]
    points = trend.points  # type: ignore[attr-defined]
    for width in (DESKTOP, PHONE):
        report = drawn[f"blood_pressure-{width}"]
        marks = report["marks"]
        assert len(marks["point_marks"]) == 2 * len(points)  # systolic and diastolic
        last = points[-1]
        labels = sorted(m["text"] for m in marks["latest_label"])
        assert labels == [
            f"Latest: diastolic {last.value2:.3g}",
            f"Latest: systolic {last.value:.0f}",
        ]
        bands = marks["band_mark"]
        assert len(bands) == 2
        for band, values in zip(
            sorted(bands, key=lambda b: b["box"]["y"]),
            ([p.value for p in points], [p.value2 for p in points]),
            strict=True,
        ):
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
            top, bottom = band["box"]["y"], band["box"]["y"] + band["box"]["height"]
            assert value_at(report["ticks"], top) == pytest.approx(q3, abs=0.6)
            assert value_at(report["ticks"], bottom) == pytest.approx(q1, abs=0.6)
        assert report["title"] == "Blood pressure"
        assert len(report["rows"]) == len(points)
        assert report["headings"][1] == "Systolic (millimetres of mercury)"


def test_gaps_stay_gaps_and_zoom_narrows_the_view(
    drawn: dict[str, Any], views: dict[str, View]
) -> None:
    weight = views["body_weight"][2]
    days = [p.start for p in weight.points]  # type: ignore[attr-defined]
    report = drawn[f"body_weight-{DESKTOP}"]
    assert len(report["marks"]["point_marks"]) == len(days)
    assert report["marks"]["latest_label"][0]["text"].startswith("Latest: ")
    assert "kilograms" in report["texts"]
    zoomed = drawn[f"body_weight-zoom-{DESKTOP}"]
    assert len(zoomed["marks"]["point_marks"]) <= len(days)
    # Zoomed in, the line is cut at the plot's edges; unzoomed, nothing lies outside them.
    assert zoomed["lineClipped"] and not report["lineClipped"]


def test_lab_history_draws_each_result_its_range_and_flag_in_words(
    drawn: dict[str, Any], views: dict[str, View]
) -> None:
    labs = views["glucose"][2]
    numeric = charted(labs.results)  # type: ignore[attr-defined]
    assert len(numeric) >= 5
    for width in (DESKTOP, PHONE):
        report = drawn[f"glucose-{width}"]
        marks = report["marks"]
        assert len(marks["result_mark"]) == len(numeric)
        assert len(marks["range_mark"]) == len(numeric)
        words = " ".join(m["text"] for m in marks["flag_label"])
        for r in numeric:
            if r.flag in ("high", "low"):
                assert r.flag in words
        newest = numeric[0]
        assert any(m["text"].startswith(f"Latest: {newest.value:.3g}") for m in marks["flag_label"])
        ranged = [r for r in numeric if r.reference_range and r.reference_range.high]
        high = ranged[0].reference_range.high  # type: ignore[union-attr]
        tops = {round(value_at(report["ticks"], m["box"]["y"])) for m in marks["range_mark"]}
        assert round(high) in tops
        assert [row[4] for row in report["rows"]].count("high") == sum(
            r.flag == "high" for r in numeric
        )


def test_plan_comparison_shows_the_parts_and_the_sum(
    drawn: dict[str, Any], views: dict[str, View]
) -> None:
    coverage = views["plans"][2]
    plans = coverage.plan_comparison  # type: ignore[attr-defined]
    for width in (DESKTOP, PHONE):
        report = drawn[f"plans-{width}"]
        marks = report["marks"]
        assert len(marks["part_mark"]) == 4 * len(plans)
        heads = [m["text"] for m in marks["plan_label"]]
        assert heads[0].startswith(plans[0].name) and "(cheapest)" in heads[0]
        sums = " ".join(m["text"] for m in marks["sum_label"])
        for plan in plans:
            assert f"${plan.estimated_yearly_cost:,.2f}" in sums
        assert [row[0] for row in report["rows"]] == [p.name for p in plans]


def test_medication_timeline_rows_bars_and_reasons(
    drawn: dict[str, Any], views: dict[str, View]
) -> None:
    meds = views["meds"][2].medications  # type: ignore[attr-defined]
    report = drawn[f"meds-{DESKTOP}"]
    names = {m.name for m in meds if m.started}
    assert len(report["marks"]["med_label"]) == len(names)
    assert len(report["marks"]["med_bar"]) == sum(1 for m in meds if m.started)
    labels = " ".join(m["text"] for m in report["marks"]["med_label"])
    for m in meds:
        if m.reason:
            assert m.reason in labels
    assert len(report["rows"]) == len(meds)


def test_a_name_with_html_is_drawn_as_text(drawn: dict[str, Any]) -> None:
    for width in (DESKTOP, PHONE):
        report = drawn[f"hostile-{width}"]
        assert report["scripts"] == 2
        # the chart cuts long names to its width (…); the table shows them whole
        assert any(t.startswith(HOSTILE_NAME[:40]) for t in report["texts"] if t)
        assert report["images"] == 0
        assert report["documentTitle"] == "Medication timeline"
        assert report["rows"][0][0] == HOSTILE_NAME
        assert "<b>bold</b> & <i>reason</i>" in report["rows"][0][4]
