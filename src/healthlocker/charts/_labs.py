"""One lab test's history (``list_labs`` with a test): each result over time, the range it was
judged against drawn behind it, and its flag in colour, shape and words.

The test charted is the newest numeric result's (by LOINC code, else by name), for that
result's person and in its unit; results of other tests, people or units stay in the table
and the caption says how many were left out of the chart.
"""

from __future__ import annotations

from typing import Any

from healthlocker.charts._vega import (
    INK,
    MUTED,
    TIME_SCALE,
    VALUE_AXIS,
    VIEW,
    chart,
    day,
    key,
    message,
    num,
    ordinal,
    signal,
    table,
    time_axis,
    title,
    units,
    value_scale,
    when,
)

DAY_MS = 86_400_000
HEIGHT = 280
# flag → (in words, colour, shape); every colour has 4.5:1 or more on white
FLAGS = {
    "normal": ("in range", "#15803d", "circle"),
    "high": ("high", "#b91c1c", "triangle-up"),
    "low": ("low", "#1d4ed8", "triangle-down"),
    "abnormal": ("abnormal", "#a16207", "diamond"),
    "critical": ("critical", "#7e22ce", "square"),
    "unknown": ("no range to compare", "#4b5563", "cross"),
}
RANGE_FILL = "#e0f2fe"
RANGE_EDGE = "#0369a1"  # 5.9:1 on white


def drawable(view: dict[str, Any]) -> bool:
    return any(r.get("value") is not None and r.get("date") for r in view.get("results", []))


def _signals() -> list[dict[str, Any]]:
    return [
        {"name": "flag_words", "value": {k: v[0] for k, v in FLAGS.items()}},
        signal("pick", "length(data('numeric')) ? data('numeric')[0] : null"),
        signal("test_key", "pick ? pick.key : ''"),
        signal("who", "pick ? pick.who : ''"),
        signal("unit", "pick ? pick.r.unit : null"),
        signal("unit_text", units("unit")),
        signal("test_name", "pick ? pick.r.test : 'Lab results'"),
        signal("n", "length(data('results'))"),
        signal("n_all", "length(data('all'))"),
        signal("n_table", "length(data('table'))"),
        signal("lo", "n ? t_extent[0] : 0"),
        signal("hi", "n ? t_extent[1] : 0"),
        signal("pad", "max(20 * 864e5, (hi - lo) * 0.05)"),
        signal("xdom", "[lo - pad, hi + pad]"),
        signal(
            "span_text",
            f"n ? {day('lo')} + (n > 1 ? ' to ' + {day('hi')} : '') : ''",
        ),
        signal("latest", "n ? peek(data('results')) : null"),
        signal(
            "latest_text",
            f"latest ? {num('latest.value')} + ' ' + unit_text + ', ' + latest.word "
            f"+ ', on ' + {day('latest.t')} : ''",
        ),
        signal(
            "flags_present",
            "pluck(data('flags'), 'word')",
        ),
        signal(
            "left_out",
            "n_all - n_table ? ' ' + (n_all - n_table) + ' result(s) of other tests or people "
            "are not shown: ask for one test (and person) to chart them.' : ''",
        ),
        signal(
            "caption",
            "test_name + (who ? ' (' + who + ')' : '') + ': ' + n_table + ' result' "
            "+ (n_table == 1 ? '' : 's') + (n < n_table ? ', ' + n + ' of them charted (the "
            "others have no number, date or the same unit)' : '') + '. Ranges are the lab’s "
            "own where the record gives one, else a typical adult range, marked as such.' "
            "+ left_out",
        ),
        signal(
            "summary", "test_name + ' results over time, ' + span_text + '. Latest: ' + latest_text"
        ),
        signal(
            "counted",
            "(unit_text ? unit_text + ' · ' : '') + n + ' result' + (n == 1 ? '' : 's')",
        ),
        signal("empty_text", "n ? '' : 'No numeric results to draw'"),
        signal(
            "columns",
            "['Date', 'Result', 'Unit', 'Range', 'Flag']",
        ),
    ]


def _data() -> list[dict[str, Any]]:
    r = "datum.r"
    rng = f"{r}.reference_range"
    return [
        {
            "name": "all",
            "source": VIEW,
            "transform": [
                {"type": "flatten", "fields": ["results"], "as": ["r"]},
                {
                    "type": "formula",
                    "as": "key",
                    "expr": f"{r}.loinc ? {r}.loinc : lower({r}.test || '')",
                },
                {"type": "formula", "as": "who", "expr": f"{r}.patient || ''"},
            ],
        },
        {
            "name": "numeric",
            "source": "all",
            "transform": [{"type": "filter", "expr": f"isValid({r}.value) && isValid({r}.date)"}],
        },
        {
            "name": "results",
            "source": "numeric",
            "transform": [
                {
                    "type": "filter",
                    "expr": f"datum.key == test_key && datum.who == who && {r}.unit == unit",
                },
                {"type": "formula", "as": "t", "expr": f"time(toDate({r}.date))"},
                {"type": "formula", "as": "value", "expr": f"{r}.value"},
                {"type": "formula", "as": "low", "expr": f"{rng} ? {rng}.low : null"},
                {"type": "formula", "as": "high", "expr": f"{rng} ? {rng}.high : null"},
                {"type": "formula", "as": "flag", "expr": f"{r}.flag || 'unknown'"},
                {"type": "formula", "as": "word", "expr": "flag_words[datum.flag]"},
                {"type": "collect", "sort": {"field": "t"}},
                {"type": "extent", "field": "t", "signal": "t_extent"},
            ],
        },
        {
            "name": "flags",
            "source": "results",
            "transform": [{"type": "aggregate", "groupby": ["word"]}],
        },
        table(
            "all",
            [
                when(f"{r}.date"),
                f"isValid({r}.value) ? ({r}.comparator || '') + {num(f'{r}.value')} "
                f": ({r}.value_text || '')",
                units(f"{r}.unit"),
                f"{rng} ? ({rng}.text || '') : ''",
                f"flag_words[{r}.flag || 'unknown']",
            ],
            [{"type": "filter", "expr": "datum.key == test_key && datum.who == who"}],
        ),
    ]


def _scales() -> list[dict[str, Any]]:
    return [
        TIME_SCALE,
        value_scale([("results", "value"), ("results", "low"), ("results", "high")], padding=16),
        ordinal("colour", {word: colour for word, colour, _ in FLAGS.values()}),
        ordinal("shape", {word: shape for word, _, shape in FLAGS.values()}),
    ]


def _marks() -> list[dict[str, Any]]:
    x = {"scale": "x", "field": "t"}
    line = {
        "type": "line",
        "name": "result_line",
        "from": {"data": "results"},
        "encode": {
            "update": {
                "x": x,
                "y": {"scale": "y", "field": "value"},
                "stroke": {"value": MUTED},
                "strokeWidth": {"value": 1.5},
                "strokeDash": {"value": [4, 3]},
            }
        },
    }
    points = {
        "type": "symbol",
        "name": "result_mark",
        "from": {"data": "results"},
        "encode": {
            "update": {
                "x": x,
                "y": {"scale": "y", "field": "value"},
                "shape": {"scale": "shape", "field": "word"},
                "fill": {"scale": "colour", "field": "word"},
                "stroke": {"value": "white"},
                "strokeWidth": {"value": 1},
                "size": {"value": 130},
                "tooltip": {
                    "signal": f"{day('datum.t')} + ': ' + {num('datum.value')} + ' ' + unit_text"
                    " + ', ' + datum.word"
                },
            }
        },
    }
    return [_ranges(x), line, points, _words(x), message("empty_text")]


def _ranges(x: dict[str, Any]) -> dict[str, Any]:
    """Behind each result, the range it was judged against (open ends run to the edge)."""
    return {
        "type": "rect",
        "name": "range_mark",
        "from": {"data": "results"},
        "encode": {
            "update": {
                "xc": x,
                "width": {"signal": "clamp(width / (n * 2.5), 4, 14)"},
                "y": {"signal": "isValid(datum.high) ? scale('y', datum.high) : 0"},
                "y2": {"signal": "isValid(datum.low) ? scale('y', datum.low) : height"},
                "fill": {"value": RANGE_FILL},
                "stroke": {"value": RANGE_EDGE},
                "strokeWidth": {"value": 1},
                "description": {
                    "signal": f"'range ' + (isValid(datum.low) ? {num('datum.low')} : '') + ' to '"
                    f" + (isValid(datum.high) ? {num('datum.high')} : '')"
                },
            }
        },
    }


def _words(x: dict[str, Any]) -> dict[str, Any]:
    """Above each result its value, its flag in words unless in range, and 'Latest'."""
    return {
        "type": "text",
        "name": "flag_label",
        "from": {"data": "results"},
        "encode": {
            "update": {
                "x": x,
                "y": {"scale": "y", "field": "value"},
                "dy": {"signal": "datum.flag == 'low' ? 16 : -14"},
                "align": {"value": "center"},
                "baseline": {"value": "middle"},
                "text": {
                    "signal": f"(datum.t == hi ? 'Latest: ' : '') + {num('datum.value')}"
                    " + (datum.flag == 'normal' ? '' : ' ' + datum.word)"
                },
                "fill": {
                    "signal": "datum.flag == 'normal' ? '" + INK + "' : scale('colour', datum.word)"
                },
                "fontWeight": {"signal": "datum.t == hi ? 'bold' : 'normal'"},
                "fontSize": {"value": 12},
            }
        },
    }


def template() -> dict[str, Any]:
    range_symbol = {"fill": {"value": RANGE_FILL}, "stroke": {"value": RANGE_EDGE}}
    return chart(
        description="One lab test's results over time, each with its range and flag",
        height=HEIGHT,
        signals=_signals(),
        title=title(
            "test_name",
            "width < 480 ? [counted, span_text] : counted + (n ? ' · ' + span_text : '')",
        ),
        data=_data(),
        scales=[*_scales(), ordinal("range_key", {"range it was judged against": RANGE_FILL})],
        axes=[time_axis(), VALUE_AXIS],
        legends=[
            key(fill="colour", shape="shape", values={"signal": "flags_present"}),
            key(
                fill="range_key",
                orient="bottom",  # a row of its own, under the chart
                symbolType="square",
                encode={"symbols": {"update": range_symbol}},
            ),
        ],
        marks=_marks(),
    )
