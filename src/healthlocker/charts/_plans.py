"""A plan comparison (``explain_coverage`` with plans): each plan's estimated yearly cost as one
bar split into premiums, deductible, coinsurance and copays, cheapest first, with its sum
written under it. A plan whose out-of-pocket maximum cut the person's share shows the parts
as estimated, the part above the cap veiled, and the capped total.
"""

from __future__ import annotations

from typing import Any

from healthlocker.charts._vega import (
    INK,
    VIEW,
    chart,
    fit,
    key,
    message,
    money,
    ordinal,
    row_scale,
    signal,
    table,
    title,
)

# (field of PlanEstimate, in words, colour); white text on each has 4.5:1 or more
PARTS = [
    ("premiums", "premiums", "#1e3a8a"),
    ("deductible_part", "deductible", "#0f766e"),
    ("coinsurance_part", "coinsurance", "#b45309"),
    ("copays_part", "copays", "#6d28d9"),
]
BAR = 26


def drawable(view: dict[str, Any]) -> bool:
    return bool(view.get("plan_comparison"))


def _sum_text(d: str) -> str:
    """The expression for a plan's arithmetic as lines (split at "|" when drawn): one sum on a
    wide chart, a line per part on a narrow one; then, if the cap cut the share, the capped
    sum."""
    parts = [f"{money(f'{d}.p.{field}', True)} + ' {word}'" for field, word, _ in PARTS]
    gross = f"'= ' + {money(f'{d}.gross', True)}"
    capped = (
        f"'|Capped at the out-of-pocket maximum:|' + {money(f'{d}.p.premiums', True)} + ' + ' "
        f"+ {money(f'{d}.p.your_share', True)} + ' = ' + {money(f'{d}.total', True)}"
    )
    wide = " + ' + ' + ".join(parts) + f" + ' ' + {gross}"
    narrow = " + '|+ ' + ".join(parts) + f" + '|' + {gross}"
    return f"(narrow ? {narrow} : {wide}) + ({d}.p.out_of_pocket_max_reached ? {capped} : '')"


def _signals() -> list[dict[str, Any]]:
    return [
        signal("n", "length(data('plans'))"),
        signal("narrow", "width < 520"),
        signal("row", "66 + 17 * (n ? lines_extent[1] : 1)"),
        signal(
            "currency_text",
            "info.currency == 'USD' || !info.currency ? 'US dollars' : info.currency",
        ),
        signal(
            "caption",
            "'Estimated yearly cost of ' + n + ' plan' + (n == 1 ? '' : 's') + ' for the care "
            "in your own claims, cheapest first, in ' + currency_text + '. Estimates, not "
            "quotes: ' + join(info.notes || [], ' ')",
        ),
        signal(
            "summary",
            "n ? 'Plan comparison: ' + join(pluck(data('plans'), 'headline'), '; ') : 'No plans'",
        ),
        signal("empty_text", "n ? '' : 'No plans to compare: ask with plans to see this chart'"),
        signal(
            "columns",
            "['Plan', 'Premiums', 'Deductible', 'Coinsurance', 'Copays', "
            "'Your share (after any out-of-pocket maximum)', 'Estimated yearly cost', "
            "'How it adds up']",
        ),
    ]


def _data() -> list[dict[str, Any]]:
    gross = " + ".join(f"datum.p.{field}" for field, _, _ in PARTS)
    plans = {
        "name": "plans",
        "source": VIEW,
        "transform": [
            {"type": "flatten", "fields": ["plan_comparison"], "as": ["p"]},
            {"type": "formula", "as": "name", "expr": "datum.p.name"},
            {"type": "formula", "as": "total", "expr": "datum.p.estimated_yearly_cost"},
            {"type": "formula", "as": "gross", "expr": gross},
            {"type": "window", "ops": ["row_number"], "as": ["rank"]},
            {
                "type": "formula",
                "as": "headline",
                "expr": f"datum.name + ' ' + {money('datum.total')} + ' a year'",
            },
            {"type": "formula", "as": "sum_lines", "expr": _sum_text("datum")},
            {
                "type": "formula",
                "as": "nlines",
                "expr": "length(split(datum.sum_lines, '|'))",
            },
            {"type": "extent", "field": "nlines", "signal": "lines_extent"},
        ],
    }
    cells = ["datum.name", *(money(f"datum.p.{field}") for field, _, _ in PARTS)]
    cells += [
        money("datum.p.your_share"),
        money("datum.total"),
        "join(datum.p.arithmetic || [], '; ')",
    ]
    return [plans, _parts(), table("plans", cells)]


def _parts() -> dict[str, Any]:
    """Each plan's four parts, stacked in order: premiums, deductible, coinsurance, copays."""
    return {
        "name": "parts",
        "source": "plans",
        "transform": [
            {
                "type": "fold",
                "fields": [f"p.{field}" for field, _, _ in PARTS],
                "as": ["key", "amount"],
            },
            {
                "type": "formula",
                "as": "part",
                "expr": "{"
                + ", ".join(f"'p.{field}': '{word}'" for field, word, _ in PARTS)
                + "}[datum.key]",
            },
            {
                "type": "formula",
                "as": "order",
                "expr": "indexof(" + str([f"p.{f}" for f, _, _ in PARTS]) + ", datum.key)",
            },
            {
                "type": "stack",
                "groupby": ["name"],
                "sort": {"field": "order"},
                "field": "amount",
                "as": ["x0", "x1"],
            },
        ],
    }


def _marks() -> list[dict[str, Any]]:
    top = "scale('row', datum.name)"
    header = {
        "type": "text",
        "name": "plan_label",
        "from": {"data": "plans"},
        "encode": {
            "update": {
                "x": {"value": 0},
                "y": {"signal": f"{top} + 14"},
                "text": {
                    "signal": "datum.headline + (datum.rank == 1 && n > 1 ? ' (cheapest)' : '')"
                },
                "fontWeight": {"value": "bold"},
                "fontSize": {"value": 14},
                "fill": {"value": INK},
                "limit": fit("datum.headline", 15),
            }
        },
    }
    segments = {
        "type": "rect",
        "name": "part_mark",
        "from": {"data": "parts"},
        "encode": {
            "update": {
                "x": {"scale": "x", "field": "x0"},
                "x2": {"scale": "x", "field": "x1"},
                "y": {"signal": f"{top} + 24"},
                "height": {"value": BAR},
                "fill": {"scale": "colour", "field": "part"},
                "stroke": {"value": "white"},
                "strokeWidth": {"value": 1},
                "description": {
                    "signal": f"datum.name + ', ' + datum.part + ' ' + {money('datum.amount')}"
                },
                "tooltip": {"signal": f"datum.part + ': ' + {money('datum.amount')}"},
            }
        },
    }
    inside = {
        "type": "text",
        "name": "part_label",
        "from": {"data": "parts"},
        "encode": {
            "update": {
                "x": {"signal": "scale('x', datum.x0) + 6"},
                "y": {"signal": f"{top} + 24 + {BAR / 2}"},
                "baseline": {"value": "middle"},
                "text": {
                    "signal": "scale('x', datum.x1) - scale('x', datum.x0) > 90 ? datum.part : ''"
                },
                "fill": {"value": "white"},
                "fontSize": {"value": 12},
            }
        },
    }
    return [header, segments, inside, *_cap_marks(top), _sums(top), message("empty_text")]


def _cap_marks(top: str) -> list[dict[str, Any]]:
    capped = {"data": "plans"}
    return [
        {
            "type": "rect",
            "name": "cap_veil",
            "from": capped,
            "encode": {
                "update": {
                    "x": {"scale": "x", "field": "total"},
                    "x2": {"scale": "x", "field": "gross"},
                    "y": {"signal": f"{top} + 24"},
                    "height": {"value": BAR},
                    "fill": {"value": "white"},
                    "fillOpacity": {"signal": "datum.p.out_of_pocket_max_reached ? 0.7 : 0"},
                }
            },
        },
        {
            "type": "rule",
            "name": "total_rule",
            "from": capped,
            "encode": {
                "update": {
                    "x": {"scale": "x", "field": "total"},
                    "y": {"signal": f"{top} + 18"},
                    "y2": {"signal": f"{top} + 24 + {BAR + 6}"},
                    "stroke": {"value": INK},
                    "strokeWidth": {"value": 2},
                }
            },
        },
    ]


def _sums(top: str) -> dict[str, Any]:
    return {
        "type": "text",
        "name": "sum_label",
        "from": {"data": "plans"},
        "encode": {
            "update": {
                "x": {"value": 0},
                "y": {"signal": f"{top} + 24 + {BAR} + 18"},
                "text": {"field": "sum_lines"},
                "lineBreak": {"value": "|"},
                "lineHeight": {"value": 17},
                "fill": {"value": INK},
                "fontSize": {"value": 13},
                "limit": fit("datum.sum_lines", 13),
            }
        },
    }


def template() -> dict[str, Any]:
    return chart(
        description="Each plan's estimated yearly cost, split into premiums, deductible, "
        "coinsurance and copays",
        height="max(1, n) * row",
        signals=_signals(),
        title=title(
            "'Estimated yearly cost per plan'",
            "'From your own claims · ' + currency_text + ' · cheapest first'",
        ),
        data=_data(),
        scales=[
            row_scale("plans", "rank", "n * row"),
            {
                "name": "x",
                "type": "linear",
                "domain": {"data": "plans", "field": "gross"},
                "zero": True,
                "nice": True,
                "range": "width",
            },
            ordinal("colour", {word: colour for _, word, colour in PARTS}),
        ],
        axes=[
            {
                "orient": "bottom",
                "scale": "x",
                "grid": True,
                "gridOpacity": 0.6,
                "labelOverlap": True,
                "tickCount": {"signal": "ceil(width / 110)"},
                "encode": {"labels": {"update": {"text": {"signal": money("datum.value")}}}},
                "title": {"signal": "'Yearly cost, ' + currency_text"},
            }
        ],
        legends=[key(fill="colour", symbolType="square", columns={"signal": "narrow ? 2 : 4"})],
        marks=_marks(),
    )
