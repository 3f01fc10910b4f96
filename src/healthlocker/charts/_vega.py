"""What every chart's Vega spec shares: the data contract with the frame, the look, and the
expressions that put numbers, units and dates into words.

Each chart is ONE Vega spec whose only input is the tool result's structured content, as the
single row of the dataset ``view``. Everything drawn is derived from it inside the spec
(transforms and expressions), so the same spec draws the PNG (vl-convert) and the MCP Apps
view (vega in the frame) without a second description of the chart. The frame also reads:

- the dataset ``table``: one row per line of the text table, cells in fields ``c0``, ``c1``, …
  (filled only when the frame sets the signal ``tabulate``: a PNG needs no table);
- the signal ``columns``: the table's headings (as many as cells are shown);
- the signal ``caption``: the table's caption, and ``summary``: the chart in one sentence (its
  accessible name).
"""

from __future__ import annotations

from typing import Any

VIEW = "view"
WIDTH = 720  # the PNG's width in CSS pixels; the frame sets its own from the container

INK = "#1f2937"  # 14.7:1 on white
MUTED = "#4b5563"  # 7.6:1 on white
RULE = "#6b7280"  # 4.8:1: axis lines and ticks
GRID = "#e5e7eb"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', 'DejaVu Sans', sans-serif"

# UCUM codes (and spellings records use) in words, for axis titles and tables.
UNIT_WORDS = {
    "kg": "kilograms",
    "g": "grams",
    "mg": "milligrams",
    "cm": "centimetres",
    "kg/m2": "kilograms per square metre",
    "/min": "per minute",
    "mm[Hg]": "millimetres of mercury",
    "%": "percent",
    "Cel": "degrees Celsius",
    "ms": "milliseconds",
    "mL/min/kg": "millilitres per minute per kilogram",
    "{steps}": "steps",
    "kcal": "kilocalories",
    "min": "minutes",
    "{workouts}": "workouts",
    "mg/dL": "milligrams per decilitre",
    "mmol/L": "millimoles per litre",
    "g/dL": "grams per decilitre",
    "g/L": "grams per litre",
    "mg/L": "milligrams per litre",
    "ug/dL": "micrograms per decilitre",
    "ng/mL": "nanograms per millilitre",
    "ng/dL": "nanograms per decilitre",
    "ng/L": "nanograms per litre",
    "pg/mL": "picograms per millilitre",
    "pg": "picograms",
    "fL": "femtolitres",
    "U/L": "units per litre",
    "kU/L": "kilo-units per litre",
    "mIU/mL": "milli-international units per millilitre",
    "mIU/L": "milli-international units per litre",
    "10*3/uL": "thousands per microlitre",
    "10*6/uL": "millions per microlitre",
    "mL/min": "millilitres per minute",
    "mL/min/{1.73_m2}": "millilitres per minute per 1.73 square metres",
    "mm/h": "millimetres per hour",
    "mg/g": "milligrams per gram",
    "s": "seconds",
    "{score}": "score",
    "{ratio}": "ratio",
    "{INR}": "INR",
    "[pH]": "pH",
    "1": "ratio",
}


def num(x: str) -> str:
    """An expression putting the number *x* into words for reading: whole from 100 up, else
    three significant digits (82.7, 5.67, 0.5), with thousands separated."""
    return f"(abs({x}) >= 100 ? format({x}, ',.0f') : format({x}, '.3~r'))"


def units(x: str) -> str:
    """An expression for the unit *x* in words (the UCUM code itself when unknown)."""
    return f"(isValid({x}) ? (isValid(unit_words[{x}]) ? unit_words[{x}] : {x}) : '')"


def day(x: str) -> str:
    """An expression for the time *x* (ms, UTC) as a day: 4 Mar 2024."""
    return f"utcFormat({x}, '%-d %b %Y')"


def when(x: str) -> str:
    """An expression for the ISO date string *x* as a day (4 Mar 2024), or '' if missing."""
    return f"(isValid({x}) ? {day(f'time(toDate({x}))')} : '')"


def time_axis(least: str = "'day'") -> dict[str, Any]:
    """A bottom axis for the utc scale ``x`` over the signal ``xdom``: ticks a whole number of
    days, months or years apart (never finer than the interval *least*, an expression), about
    one per 90 pixels, labelled to match (4 Mar, Mar 2024, 2024)."""
    per = "((xdom[1] - xdom[0]) / 864e5 / max(3, floor(width / 90)))"
    unit = (
        f"({per} >= 300 || ({least}) == 'year' ? 'year' "
        f": {per} >= 25 || ({least}) == 'month' ? 'month' : 'day')"
    )
    size = "{day: 1, month: 30.44, year: 365.25}"
    return {
        "orient": "bottom",
        "scale": "x",
        "labelOverlap": True,
        "formatType": "utc",
        "tickCount": {
            "signal": f"{{interval: {unit}, step: max(1, ceil({per} / {size}[{unit}]))}}"
        },
        "format": {"signal": f"{{day: '%-d %b', month: '%b %Y', year: '%Y'}}[{unit}]"},
    }


TIME_SCALE: dict[str, Any] = {
    "name": "x",
    "type": "utc",
    "domain": {"signal": "xdom"},
    "range": "width",
}
# The left axis of a chart of values: their unit in words as its title.
VALUE_AXIS: dict[str, Any] = {
    "orient": "left",
    "scale": "y",
    "grid": True,
    "title": {"signal": "unit_text"},
    "tickCount": {"signal": "ceil(height / 45)"},
}


def value_scale(fields: list[tuple[str, str]], padding: int) -> dict[str, Any]:
    """The scale ``y`` over the values of (dataset, field) pairs, not from zero."""
    return {
        "name": "y",
        "type": "linear",
        "domain": {"fields": [{"data": d, "field": f} for d, f in fields]},
        "zero": False,
        "nice": True,
        "padding": padding,
        "range": "height",
    }


def row_scale(data: str, order: str, height: str) -> dict[str, Any]:
    """The band scale ``row``: a row per ``name`` of *data*, ordered by the field *order*,
    over *height* pixels (an expression)."""
    return {
        "name": "row",
        "type": "band",
        "domain": {"data": data, "field": "name", "sort": {"op": "min", "field": order}},
        "range": [0, {"signal": height}],
    }


def fit(text: str, size: int) -> dict[str, Any]:
    """A text mark's ``limit``: the plot's width (cut with …), but only for text that may not
    fit (more than one character per 0.55 × *size* pixels). Measuring text is most of a PNG's
    cost in vl-convert, and a limit of 0 measures nothing. *text* is an expression."""
    return {"signal": f"length({text}) * {0.55 * size:g} > width ? width : 0"}


def signal(name: str, update: str) -> dict[str, Any]:
    return {"name": name, "update": update}


def chart(
    *,
    description: str,
    height: int | str,
    signals: list[dict[str, Any]],
    title: dict[str, Any],
    data: list[dict[str, Any]],
    scales: list[dict[str, Any]],
    axes: list[dict[str, Any]],
    legends: list[dict[str, Any]],
    marks: list[dict[str, Any]],
) -> dict[str, Any]:
    """A chart's whole spec: its parts, in the frame every chart shares (size, look, the
    ``view`` dataset first, the shared signals).

    *height* is the plot's height in pixels, or an expression for it. The shared signals:
    ``tabulate`` (set by the frame), ``unit_words`` (units in words), ``info`` (the view
    itself, an empty object when there is none).
    """
    spec: dict[str, Any] = {
        "description": description,
        "width": WIDTH,
        "padding": 12,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "background": "white",
        "config": CONFIG,
        "signals": [
            # the frame sets it: a PNG has no table (the tool's text answer is beside it)
            {"name": "tabulate", "value": False},
            {"name": "unit_words", "value": UNIT_WORDS},
            signal("info", f"length(data('{VIEW}')) ? data('{VIEW}')[0] : {{}}"),
            *signals,
        ],
        "title": title,
        "data": [{"name": VIEW, "values": []}, *data],
        "scales": scales,
        "axes": axes,
        "legends": legends,
        "marks": marks,
    }
    if isinstance(height, int):
        spec["height"] = height
    else:
        spec["signals"].append(signal("height", height))
    return spec


def key(**properties: Any) -> dict[str, Any]:
    """A legend above the chart, in a row, labelled in ink (*properties* add or override)."""
    encode = {"labels": {"update": {"fill": {"value": INK}}}, **properties.pop("encode", {})}
    return {"orient": "top", "direction": "horizontal", **properties, "encode": encode}


def ordinal(name: str, pairs: dict[str, str]) -> dict[str, Any]:
    """An ordinal scale from each key of *pairs* to its value (a colour, a shape)."""
    return {"name": name, "type": "ordinal", "domain": list(pairs), "range": list(pairs.values())}


def table(
    source: str, cells: list[str], extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``table`` dataset: from *source*, after *extra* transforms, one cell per expression."""
    formulas = [{"type": "formula", "as": f"c{i}", "expr": e} for i, e in enumerate(cells)]
    fields = [f"c{i}" for i in range(len(cells))]
    return {
        "name": "table",
        "source": source,
        "transform": [
            {"type": "filter", "expr": "tabulate"},
            *(extra or []),
            *formulas,
            {"type": "project", "fields": fields},
        ],
    }


def title(text: str, subtitle: str) -> dict[str, Any]:
    """A title and subtitle from expressions, cut (…) to the chart's width."""
    return {
        "text": {"signal": text},
        "subtitle": {"signal": subtitle},
        "anchor": "start",
        "frame": "group",
        "limit": {"signal": "width"},
        "subtitleLimit": {"signal": "width"},
    }


def message(text: str) -> dict[str, Any]:
    """A line of text in the middle of the plot, shown when *text* is not empty."""
    return {
        "type": "text",
        "name": "message",
        "encode": {
            "update": {
                "x": {"signal": "width / 2"},
                "y": {"signal": "height / 2"},
                "align": {"value": "center"},
                "text": {"signal": text},
                "fill": {"value": INK},
                "fontSize": {"value": 14},
            }
        },
    }


def money(x: str, cents: bool = False) -> str:
    """An expression for the amount *x* in the view's currency: $8,523 or 8,523 EUR (with
    *cents*: $8,522.65, for sums the reader can check)."""
    f = ",.2f" if cents else ",.0f"
    return (
        f"(info.currency == 'USD' || !info.currency ? format({x}, '${f}') "
        f": format({x}, '{f}') + ' ' + info.currency)"
    )


CONFIG: dict[str, Any] = {
    "font": FONT,
    "title": {
        "fontSize": 17,
        "fontWeight": "bold",
        "color": INK,
        "subtitleFontSize": 13,
        "subtitleColor": MUTED,
        "subtitlePadding": 4,
        "offset": 14,
    },
    "axis": {
        "labelLimit": 0,  # short numbers and dates: nothing to cut, so nothing to measure
        "labelColor": MUTED,
        "labelFontSize": 12,
        "titleColor": INK,
        "titleFontSize": 13,
        "titleFontWeight": "normal",
        "domainColor": RULE,
        "tickColor": RULE,
        "gridColor": GRID,
    },
    "legend": {
        "labelColor": INK,
        "labelFontSize": 13,
        "titleColor": INK,
        "titleFontSize": 13,
        "symbolSize": 110,
        "symbolStrokeWidth": 2,
        "labelLimit": 360,
    },
    "text": {"fill": INK, "fontSize": 12, "font": FONT},
}
