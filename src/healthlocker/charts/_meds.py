"""A medication timeline (``get_meds`` with status all): a row per medication, a bar from when
each prescription or statement started to when it ended (to today while it is still active),
its status in words at the end, and what it is for where recorded.

An item that is not active and has no recorded end is a diamond at its start, labelled "end
not recorded": the chart does not guess how long it lasted. The chart is one person's: the
newest item's; items about other people stay out and the caption says how many.
"""

from __future__ import annotations

from typing import Any

from healthlocker.charts._vega import (
    INK,
    MUTED,
    TIME_SCALE,
    VIEW,
    chart,
    fit,
    key,
    message,
    ordinal,
    row_scale,
    signal,
    table,
    time_axis,
    title,
    when,
)

ONGOING = ["active", "on-hold", "intended"]
# status → colour (4.5:1 or more on white); a status not listed is drawn in RULE grey
STATUS = {
    "ongoing": "#15803d",
    "completed": "#1d4ed8",
    "stopped": "#b91c1c",
    "on-hold": "#a16207",
    "other": "#4b5563",
}
OPEN = "started, end not recorded"
ROW = 46
BAR = 17


def drawable(view: dict[str, Any]) -> bool:
    return any(m.get("started") for m in view.get("medications", []))


def _signals() -> list[dict[str, Any]]:
    return [
        signal("pick", "length(data('all')) ? data('all')[0] : null"),
        signal("who", "pick ? pick.who : ''"),
        signal("nrows", "length(data('rows'))"),
        signal("n", "length(data('meds'))"),
        signal("n_all", "length(data('all'))"),
        signal("n_person", "length(data('table'))"),
        signal("today", "now()"),
        signal("opens", "length(data('open_starts'))"),
        signal("lo", "n ? t_extent[0] : 0"),
        signal("hi", "n ? max(t_extent[1], end_extent[1] || 0) : 0"),
        signal("pad", "max(30 * 864e5, (hi - lo) * 0.03)"),
        signal("xdom", "[lo - pad, hi + pad]"),
        signal(
            "caption",
            "'Medications' + (who ? ' of ' + who : '') + ': ' + n_person + ' item' "
            "+ (n_person == 1 ? '' : 's') + (n < n_person ? ', ' + (n_person - n) + ' without a "
            "start date (in the table only)' : '') + '. Bars run from the start to the recorded "
            "end, or to today while still active.' + (n_all > n_person ? ' ' + (n_all - "
            "n_person) + ' item(s) about other people are not shown: ask for one person.' : '')",
        ),
        signal(
            "summary",
            "'Medication timeline: ' + nrows + ' medication' + (nrows == 1 ? '' : 's') "
            "+ ', ' + join(pluck(data('rows'), 'name'), ', ')",
        ),
        signal("empty_text", "n ? '' : 'No medications with a start date to draw'"),
        signal("columns", "['Medication', 'Status', 'Started', 'Ended', 'For', 'Dosage']"),
    ]


def _data() -> list[dict[str, Any]]:
    m = "datum.m"
    meds = {
        "name": "meds",
        "source": "all",
        "transform": [
            {"type": "filter", "expr": f"datum.who == who && isValid({m}.started)"},
            {"type": "formula", "as": "name", "expr": f"{m}.name || '(unnamed)'"},
            {"type": "formula", "as": "t0", "expr": f"time(toDate({m}.started))"},
            {
                "type": "formula",
                "as": "ongoing",
                "expr": f"indexof({ONGOING}, {m}.status) >= 0 && !{m}.ended",
            },
            {
                "type": "formula",
                "as": "t1",
                "expr": f"{m}.ended ? time(toDate({m}.ended)) : datum.ongoing ? today : null",
            },
            {
                "type": "formula",
                "as": "state",
                "expr": f"datum.ongoing ? 'ongoing' : ({m}.status || 'other')",
            },
            {
                "type": "formula",
                "as": "legend",
                "expr": f"indexof({list(STATUS)}, datum.state) >= 0 ? datum.state : 'other'",
            },
            {"type": "formula", "as": "open", "expr": "isValid(datum.t1) ? 0 : 1"},
            {"type": "extent", "field": "t0", "signal": "t_extent"},
            {"type": "extent", "field": "t1", "signal": "end_extent"},
        ],
    }
    return [
        {
            "name": "all",
            "source": VIEW,
            "transform": [
                {"type": "flatten", "fields": ["medications"], "as": ["m"]},
                {"type": "formula", "as": "who", "expr": f"{m}.patient || ''"},
            ],
        },
        meds,
        _rows(),
        {
            "name": "states",
            "source": "meds",
            "transform": [{"type": "aggregate", "groupby": ["legend"]}],
        },
        {
            "name": "open_starts",
            "source": "meds",
            "transform": [{"type": "filter", "expr": "datum.open"}],
        },
        table(
            "all",
            [
                f"{m}.name || '(unnamed)'",
                f"{m}.status || ''",
                when(f"{m}.started"),
                when(f"{m}.ended"),
                f"{m}.reason || ''",
                f"{m}.dosage || ''",
            ],
            [{"type": "filter", "expr": "datum.who == who"}],
        ),
    ]


def _rows() -> dict[str, Any]:
    """A row per medication name: its first start, and its newest item's reason."""
    return {
        "name": "rows",
        "source": "meds",
        "transform": [
            {
                "type": "aggregate",
                "groupby": ["name"],
                "ops": ["min", "argmax"],
                "fields": ["t0", "t0"],
                "as": ["first", "newest"],
            },
            {
                "type": "formula",
                "as": "label",
                "expr": "datum.name + (datum.newest.m.reason ? ' — for ' + "
                "datum.newest.m.reason : '')",
            },
        ],
    }


def _marks() -> list[dict[str, Any]]:
    top = "scale('row', datum.name)"
    label = {
        "type": "text",
        "name": "med_label",
        "from": {"data": "rows"},
        "encode": {
            "update": {
                "x": {"value": 0},
                "y": {"signal": f"{top} + 14"},
                "text": {"field": "label"},
                "fill": {"value": INK},
                "fontSize": {"value": 13},
                "limit": fit("datum.label", 13),
            }
        },
    }
    bars = {
        "type": "rect",
        "name": "med_bar",
        "from": {"data": "meds"},
        "encode": {
            "update": {
                "x": {"scale": "x", "field": "t0"},
                "x2": {"signal": "isValid(datum.t1) ? scale('x', datum.t1) : scale('x', datum.t0)"},
                "y": {"signal": f"{top} + 22"},
                "height": {"value": BAR},
                "fill": {"scale": "colour", "field": "legend"},
                "opacity": {"signal": "isValid(datum.t1) ? 1 : 0"},
                "cornerRadius": {"value": 3},
                "tooltip": {"signal": "datum.name + ': ' + datum.state"},
            }
        },
    }
    open_start = {
        "type": "symbol",
        "name": "med_start",
        "from": {"data": "meds"},
        "encode": {
            "update": {
                "x": {"scale": "x", "field": "t0"},
                "y": {"signal": f"{top} + 22 + {BAR / 2}"},
                "shape": {"value": "diamond"},
                "size": {"value": 120},
                "fill": {"scale": "colour", "field": "legend"},
                "opacity": {"signal": "isValid(datum.t1) ? 0 : 1"},
            }
        },
    }
    return [label, bars, open_start, _status_text(top), message("empty_text")]


def _status_text(top: str) -> dict[str, Any]:
    """The status in words: inside a bar wide enough for it, else after its end, else before
    its start. A start without an end has none: the legend says what its diamond means."""
    start, end = "scale('x', datum.t0)", "scale('x', isValid(datum.t1) ? datum.t1 : datum.t0)"
    inside = f"isValid(datum.t1) && {end} - {start} > 12 + 7 * length(datum.state)"
    after = f"{end} < width - 150"
    return {
        "type": "text",
        "name": "med_status",
        "from": {"data": "meds"},
        "encode": {
            "update": {
                "x": {"signal": f"{inside} ? {start} + 6 : {after} ? {end} + 9 : {start} - 9"},
                "align": {"signal": f"{inside} || {after} ? 'left' : 'right'"},
                "y": {"signal": f"{top} + 22 + {BAR / 2}"},
                "baseline": {"value": "middle"},
                "text": {"signal": "isValid(datum.t1) ? datum.state : ''"},
                "fill": {"signal": f"{inside} ? 'white' : '{MUTED}'"},
                "fontSize": {"value": 12},
            }
        },
    }


def template() -> dict[str, Any]:
    return chart(
        description="When each medication started and stopped, with what it is for",
        height=f"max(1, nrows) * {ROW}",
        signals=_signals(),
        title=title(
            "'Medications over time'",
            "nrows + ' medication' + (nrows == 1 ? '' : 's') + (who ? ' · ' + who : '')",
        ),
        data=_data(),
        scales=[
            row_scale("rows", "first", f"nrows * {ROW}"),
            TIME_SCALE,
            ordinal("colour", STATUS),
        ],
        axes=[{**time_axis("'month'"), "grid": True, "gridOpacity": 0.6}],
        legends=[
            key(
                fill="colour",
                symbolType="square",
                values={"signal": "pluck(data('states'), 'legend')"},
            ),
            key(
                fill="colour",
                symbolType="diamond",
                values={"signal": "opens ? ['" + OPEN + "'] : []"},
                encode={"symbols": {"update": {"fill": {"value": MUTED}}}},
            ),
        ],
        marks=_marks(),
    )
