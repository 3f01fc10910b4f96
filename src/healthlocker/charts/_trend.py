"""A measure over time (``summarize_trends``): the points, the person's typical range as a band,
the latest value marked, zoom to the last week, month or year, gaps left as gaps, and two
series (systolic and diastolic) for blood pressure.

The typical range is the middle half of the person's own values (first to third quartile),
drawn when there are at least four points. A gap is a missing bucket: two points further
apart than one day, week, month or year (with slack for month lengths) are not joined. A
dense series (more points in view than a quarter of the plot's width in pixels) is drawn as a
line without a symbol per point, except points that stand alone between gaps.
"""

from __future__ import annotations

from typing import Any

from healthlocker.charts._vega import (
    INK,
    VIEW,
    base,
    day,
    message,
    num,
    signal,
    table,
    time_axis,
    title,
    units,
)

DAY_MS = 86_400_000
STEPS = {"day": DAY_MS, "week": 7 * DAY_MS, "month": 31 * DAY_MS, "year": 366 * DAY_MS}
ZOOMS = {"all": 0, "year": 365 * DAY_MS, "month": 30 * DAY_MS, "week": 7 * DAY_MS}
MIN_BAND_POINTS = 4
COLOURS = ["#1d4ed8", "#b45309"]  # 6.7:1 and 5.0:1 on white
SHAPES = ["circle", "square"]
HEIGHT = 280
FIRST_SERIES_FIRST = {"op": "min", "field": "order"}


def drawable(view: dict[str, Any]) -> bool:
    return bool(view.get("points"))


def _signals() -> list[dict[str, Any]]:
    return [
        {"name": "steps", "value": STEPS},
        {"name": "zooms", "value": ZOOMS},
        {
            "name": "zoom",
            "value": "all",
            "bind": {
                "input": "radio",
                "options": list(ZOOMS),
                "labels": ["All", "Last year", "Last month", "Last week"],
                "name": "Show: ",
            },
        },
        signal("gran", "info.granularity || 'day'"),
        signal(
            "date_format", "{day: '%-d %b %Y', week: '%-d %b %Y', month: '%b %Y', year: '%Y'}[gran]"
        ),
        signal("two", "isValid(info.value2_label)"),
        signal("unit_text", units("info.unit")),
        signal("npoints", f"length(data('{VIEW}')) ? length(info.points || []) : 0"),
        # the extent of the points' times, [lo, hi]: set by the extent transform on "points"
        signal("lo", "isValid(t_extent) && isValid(t_extent[0]) ? t_extent[0] : 0"),
        signal("hi", "isValid(t_extent) && isValid(t_extent[1]) ? t_extent[1] : 0"),
        signal("from", "zoom == 'all' ? lo : max(lo, hi - zooms[zoom])"),
        signal("pad", "max(steps[gran] * 0.6, (hi - from) * 0.03)"),
        signal("xdom", "[from - pad, hi + pad]"),
        signal("nvisible", "length(data('visible'))"),
        signal("dense", "nvisible > width / 4"),
        signal("banded", "length(data('band')) > 0"),
        signal(
            "columns",
            "[{day: 'Day', week: 'Week starting', month: 'Month', year: 'Year'}[gran], "
            "two ? 'Systolic (' + unit_text + ')' : info.label + ' (' + unit_text + ')', "
            "two ? 'Diastolic (' + unit_text + ')' : 'Readings', "
            "two ? 'Readings' : '']",
        ),
        signal(
            "span_text",
            "npoints ? utcFormat(lo, date_format) + (npoints > 1 ? ' to ' "
            "+ utcFormat(hi, date_format) : '') : 'no points'",
        ),
        signal(
            "caption",
            "info.label + ', ' + unit_text + ': ' + npoints + ' ' + gran + ' point' "
            "+ (npoints == 1 ? '' : 's') + ', ' + span_text + '. Each point is the ' "
            "+ info.aggregation + '.' + (banded ? ' Shaded: your typical range (the middle half "
            "of your values).' : '')",
        ),
        signal(
            "summary",
            "info.label + ' over time, ' + span_text + (npoints ? '. Latest: ' + latest_text : '')",
        ),
        signal(
            "latest_text",
            "join(pluck(data('latest'), 'label'), ', ') + ' ' + unit_text",
        ),
        signal(
            "counted",
            "unit_text + ' · ' + npoints + ' ' + gran + ' point' + (npoints == 1 ? '' : 's')",
        ),
        signal("empty_text", "npoints ? '' : 'No points to draw in this period'"),
    ]


def _series(name: str, field: str, order: int, label: str) -> dict[str, Any]:
    """One series' points (value in ``value``) from the flattened points."""
    return {
        "name": name,
        "source": "flat",
        "transform": [
            {"type": "filter", "expr": f"isValid(datum.p.{field})"},
            {"type": "formula", "as": "value", "expr": f"datum.p.{field}"},
            {"type": "formula", "as": "order", "expr": str(order)},
            {"type": "formula", "as": "series", "expr": label},
        ],
    }


def _data() -> list[dict[str, Any]]:
    flat = {
        "name": "flat",
        "source": VIEW,
        "transform": [
            {"type": "flatten", "fields": ["points"], "as": ["p"]},
            {"type": "formula", "as": "t", "expr": "time(toDate(datum.p.start))"},
        ],
    }
    # A gap is more than one bucket (with slack) between a point and the one before or after.
    far = "steps[gran] * 1.5"
    points = {
        "name": "points",
        "source": ["first_series", "second_series"],
        "transform": [
            {
                "type": "window",
                "groupby": ["order"],
                "sort": {"field": "t"},
                "ops": ["lag", "lead"],
                "fields": ["t", "t"],
                "as": ["prev", "next"],
            },
            {
                "type": "formula",
                "as": "gap_before",
                "expr": f"isValid(datum.prev) && datum.t - datum.prev > {far}",
            },
            {
                "type": "formula",
                "as": "alone",
                "expr": f"(!isValid(datum.prev) || datum.gap_before) "
                f"&& (!isValid(datum.next) || datum.next - datum.t > {far})",
            },
            {"type": "extent", "field": "t", "signal": "t_extent"},
        ],
    }
    # The lines: the points, and a blank one just before each gap's far side, where they break
    breaks = {
        "name": "breaks",
        "source": "points",
        "transform": [
            {"type": "filter", "expr": "datum.gap_before"},
            {"type": "formula", "as": "t", "expr": "datum.t - 1"},
            {"type": "formula", "as": "value", "expr": "null"},
        ],
    }
    lines = {
        "name": "lines",
        "source": ["points", "breaks"],
        "transform": [{"type": "collect", "sort": {"field": "t"}}],
    }
    first = _series("first_series", "value", 0, "two ? 'systolic' : info.label")
    second = _series("second_series", "value2", 1, "'diastolic'")
    return [
        flat,
        first,
        second,
        points,
        breaks,
        lines,
        {
            "name": "visible",
            "source": "points",
            "transform": [{"type": "filter", "expr": "datum.t >= xdom[0] && datum.t <= xdom[1]"}],
        },
        {
            "name": "dots",
            "source": "visible",
            "transform": [{"type": "filter", "expr": "!dense || datum.alone"}],
        },
        {
            "name": "band",
            "source": "points",
            "transform": [
                {
                    "type": "aggregate",
                    "groupby": ["series", "order"],
                    "ops": ["q1", "q3", "count"],
                    "fields": ["value", "value", "value"],
                    "as": ["lo", "hi", "count"],
                },
                {"type": "filter", "expr": f"datum.count >= {MIN_BAND_POINTS}"},
                {"type": "collect", "sort": {"field": "order"}},
                {
                    "type": "formula",
                    "as": "label",
                    "expr": f"'typical ' + (two ? datum.series : 'range') + ' ' "
                    f"+ {num('datum.lo')} + '–' + {num('datum.hi')}",
                },
            ],
        },
        {
            "name": "latest",
            "source": "points",
            "transform": [
                {
                    "type": "joinaggregate",
                    "groupby": ["series"],
                    "ops": ["max"],
                    "fields": ["t"],
                    "as": ["tmax"],
                },
                {"type": "filter", "expr": "datum.t == datum.tmax"},
                {
                    "type": "formula",
                    "as": "label",
                    "expr": f"(two ? datum.series + ' ' : '') + {num('datum.value')}",
                },
            ],
        },
        table(
            VIEW,
            [
                "utcFormat(datum.t, date_format)",
                num("datum.p.value"),
                f"two ? (isValid(datum.p.value2) ? {num('datum.p.value2')} : '') : '' + datum.p.n",
                "two ? '' + datum.p.n : ''",
            ],
            [
                {"type": "flatten", "fields": ["points"], "as": ["p"]},
                {"type": "formula", "as": "t", "expr": "time(toDate(datum.p.start))"},
            ],
        ),
    ]


def _scales() -> list[dict[str, Any]]:
    return [
        {"name": "x", "type": "utc", "domain": {"signal": "xdom"}, "range": "width"},
        {
            "name": "y",
            "type": "linear",
            "domain": {
                "fields": [
                    {"data": "visible", "field": "value"},
                    {"data": "band", "field": "lo"},
                    {"data": "band", "field": "hi"},
                ]
            },
            "zero": False,
            "nice": True,
            "padding": 12,
            "range": "height",
        },
        {
            "name": "colour",
            "type": "ordinal",
            "domain": {"data": "points", "field": "series", "sort": FIRST_SERIES_FIRST},
            "range": COLOURS,
        },
        {
            # never empty: a legend of an empty scale breaks the layout
            "name": "band_key",
            "type": "ordinal",
            "domain": {
                "signal": "banded ? pluck(data('band'), 'label') "
                f": ['no typical range: fewer than {MIN_BAND_POINTS} points']"
            },
            "range": {"signal": f"banded ? {COLOURS} : ['#9ca3af']"},
        },
        {
            "name": "shape",
            "type": "ordinal",
            "domain": {"data": "points", "field": "series", "sort": FIRST_SERIES_FIRST},
            "range": SHAPES,
        },
    ]


def _marks() -> list[dict[str, Any]]:
    xy = {"x": {"scale": "x", "field": "t"}, "y": {"scale": "y", "field": "value"}}
    band = {
        "type": "rect",
        "name": "band_mark",
        "from": {"data": "band"},
        "encode": {
            "update": {
                "x": {"value": 0},
                "x2": {"signal": "width"},
                "y": {"scale": "y", "field": "hi"},
                "y2": {"scale": "y", "field": "lo"},
                "fill": {"scale": "colour", "field": "series"},
                "fillOpacity": {"value": 0.13},
                "description": {"signal": "datum.label + ' ' + unit_text"},
            }
        },
    }
    lines = {
        "type": "group",
        "from": {"facet": {"name": "series_line", "data": "lines", "groupby": ["order"]}},
        "encode": {"update": {"width": {"signal": "width"}, "height": {"signal": "height"}}},
        "clip": True,
        "marks": [
            {
                "type": "line",
                "name": "line",
                "from": {"data": "series_line"},
                "encode": {
                    "update": {
                        **xy,
                        "defined": {"signal": "isValid(datum.value)"},
                        "stroke": {"scale": "colour", "field": "series"},
                        "strokeWidth": {"value": 2},
                        "strokeJoin": {"value": "round"},
                    }
                },
            }
        ],
    }
    dots = {
        "type": "symbol",
        "name": "point_marks",
        "from": {"data": "dots"},
        "clip": True,
        "encode": {
            "update": {
                **xy,
                "shape": {"scale": "shape", "field": "series"},
                "fill": {"scale": "colour", "field": "series"},
                "stroke": {"value": "white"},
                "strokeWidth": {"value": 1},
                "size": {"value": 50},
                "tooltip": {"signal": f"{day('datum.t')} + ': ' + {num('datum.value')}"},
            }
        },
    }
    return [band, lines, dots, *_latest_marks(xy), message("empty_text")]


def _latest_marks(xy: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "symbol",
            "name": "latest_mark",
            "from": {"data": "latest"},
            "encode": {
                "update": {
                    **xy,
                    "shape": {"scale": "shape", "field": "series"},
                    "fill": {"value": "white"},
                    "stroke": {"scale": "colour", "field": "series"},
                    "strokeWidth": {"value": 3},
                    "size": {"value": 160},
                }
            },
        },
        {
            "type": "text",
            "name": "latest_label",
            "from": {"data": "latest"},
            "encode": {
                "update": {
                    **xy,
                    "dx": {"value": -10},
                    "dy": {"signal": "datum.order == 1 ? 18 : -12"},
                    "align": {"value": "right"},
                    "baseline": {"value": "middle"},
                    "text": {"signal": "'Latest: ' + datum.label"},
                    "fill": {"value": INK},
                    "fontWeight": {"value": "bold"},
                    "fontSize": {"value": 13},
                }
            },
        },
    ]


def template() -> dict[str, Any]:
    spec = base(
        description="A measure over time: its typical range shaded, its latest value marked",
        height=HEIGHT,
        signals=_signals(),
    )
    spec["title"] = title(
        "info.label",
        "width < 480 ? [counted, span_text] : counted + ' · ' + span_text",
    )
    spec["data"] += _data()
    spec["scales"] = _scales()
    spec["axes"] = [
        time_axis("gran == 'week' ? 'day' : gran"),
        {
            "orient": "left",
            "scale": "y",
            "grid": True,
            "title": {"signal": "unit_text"},
            "tickCount": {"signal": "ceil(height / 45)"},
        },
    ]
    spec["legends"] = [
        {
            "stroke": "colour",
            "shape": "shape",
            "fill": "colour",
            "orient": "top",
            "direction": "horizontal",
            "encode": {"labels": {"update": {"fill": {"value": INK}}}},
        },
        {
            "fill": "band_key",
            "orient": "top",
            "direction": "horizontal",
            "symbolType": "square",
            "symbolOpacity": 0.3,
            "encode": {"labels": {"update": {"fill": {"value": INK}}}},
        },
    ]
    spec["marks"] = _marks()
    return spec
