"""The trend chart's datasets: the points per series (systolic and diastolic for blood
pressure), where the line breaks at gaps, what is in view, the typical range, the latest value,
and the text table."""

from __future__ import annotations

from typing import Any

from healthlocker.charts._vega import VIEW, num, table

MIN_BAND_POINTS = 4


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


def _points() -> list[dict[str, Any]]:
    """The points of each series, with their gaps, and the lines through them."""
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
    return [flat, first, second, points, breaks, lines]


def data() -> list[dict[str, Any]]:
    """Every dataset of the trend chart, after ``view``."""
    return [*_points(), *_views(), _table()]


def _views() -> list[dict[str, Any]]:
    """What is in view (zoom), which points get a symbol, the typical range, the latest."""
    return [
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
                # each series' newest point (an aggregate: nothing written on every point)
                {
                    "type": "aggregate",
                    "groupby": ["series", "order"],
                    "ops": ["argmax"],
                    "fields": ["t"],
                    "as": ["newest"],
                },
                {"type": "formula", "as": "t", "expr": "datum.newest.t"},
                {"type": "formula", "as": "value", "expr": "datum.newest.value"},
                {
                    "type": "formula",
                    "as": "label",
                    "expr": f"(two ? datum.series + ' ' : '') + {num('datum.value')}",
                },
            ],
        },
    ]


def _table() -> dict[str, Any]:
    return table(
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
    )
