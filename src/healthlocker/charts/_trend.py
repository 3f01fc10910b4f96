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

from healthlocker.charts._trend_data import MIN_BAND_POINTS, data
from healthlocker.charts._vega import (
    INK,
    TIME_SCALE,
    VALUE_AXIS,
    VIEW,
    chart,
    day,
    key,
    message,
    num,
    signal,
    time_axis,
    title,
    units,
    value_scale,
)

DAY_MS = 86_400_000
STEPS = {"day": DAY_MS, "week": 7 * DAY_MS, "month": 31 * DAY_MS, "year": 366 * DAY_MS}
ZOOMS = {"all": 0, "year": 365 * DAY_MS, "month": 30 * DAY_MS, "week": 7 * DAY_MS}
COLOURS = ["#1d4ed8", "#b45309"]  # 6.7:1 and 5.0:1 on white
SHAPES = ["circle", "square"]
HEIGHT = 280
FIRST_SERIES_FIRST = {"op": "min", "field": "order"}


def drawable(view: dict[str, Any]) -> bool:
    return bool(view.get("points"))


def _zoom() -> list[dict[str, Any]]:
    """The zoom (a radio group in the frame; all of it in a PNG) and the x domain it gives."""
    return [
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
        # the extent of the points' times, [lo, hi]: set by the extent transform on "points"
        signal("lo", "isValid(t_extent) && isValid(t_extent[0]) ? t_extent[0] : 0"),
        signal("hi", "isValid(t_extent) && isValid(t_extent[1]) ? t_extent[1] : 0"),
        signal("from", "zoom == 'all' ? lo : max(lo, hi - zooms[zoom])"),
        signal("pad", "max(steps[gran] * 0.6, (hi - from) * 0.03)"),
        signal("xdom", "[from - pad, hi + pad]"),
    ]


def _signals() -> list[dict[str, Any]]:
    return [
        *_zoom(),
        {"name": "steps", "value": STEPS},
        signal("gran", "info.granularity || 'day'"),
        signal(
            "date_format", "{day: '%-d %b %Y', week: '%-d %b %Y', month: '%b %Y', year: '%Y'}[gran]"
        ),
        signal("two", "isValid(info.value2_label)"),
        signal("unit_text", units("info.unit")),
        signal("npoints", f"length(data('{VIEW}')) ? length(info.points || []) : 0"),
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


def _scales() -> list[dict[str, Any]]:
    return [
        TIME_SCALE,
        value_scale([("visible", "value"), ("band", "lo"), ("band", "hi")], padding=12),
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
        "encode": {
            "update": {
                "width": {"signal": "width"},
                "height": {"signal": "height"},
                # Zoomed in, the line is cut at the plot's edges. Unzoomed (every PNG) nothing
                # is outside them, and clipping a line of thousands of points took a tenth of
                # a five-year PNG's time.
                "clip": {"signal": "zoom != 'all'"},
            }
        },
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
    return chart(
        description="A measure over time: its typical range shaded, its latest value marked",
        height=HEIGHT,
        signals=_signals(),
        title=title(
            "info.label", "width < 480 ? [counted, span_text] : counted + ' · ' + span_text"
        ),
        data=data(),
        scales=_scales(),
        axes=[time_axis("gran == 'week' ? 'day' : gran"), VALUE_AXIS],
        legends=[
            key(stroke="colour", shape="shape", fill="colour"),
            # a row of its own, under the chart: two rows of keys fit a phone's width; on a
            # narrow plot the two typical ranges (blood pressure) stack rather than run off it
            key(
                fill="band_key",
                orient="bottom",
                symbolType="square",
                symbolOpacity=0.3,
                columns={"signal": "width < 420 ? 1 : 0"},
            ),
        ],
        marks=_marks(),
    )
