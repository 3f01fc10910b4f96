"""The charts, one entry per tool that has one, and the three ways to get a chart: its Vega
spec, its PNG, and the MCP Apps view (an HTML document) that draws it in the host's frame.

Nothing here imports the renderer: ``png`` loads vl-convert on its first call, so starting the
server does not. Specs are built once per process and copied per call.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from healthlocker.charts import _labs, _meds, _plans, _trend
from healthlocker.charts._vega import VIEW

APPS = "apps"
BUNDLE = "charts.js"
SHELL = "shell.html"


@dataclass(frozen=True)
class ChartView:
    """One tool's chart: the ``ui://`` view that draws it and the spec both paths draw."""

    tool: str  # the tool whose result it draws
    uri: str  # ui://healthlocker/<name>.html
    name: str
    title: str
    description: str
    builder: Callable[[], dict[str, Any]]  # the spec, with an empty ``view`` dataset
    drawable: Callable[[dict[str, Any]], bool]  # whether a result has anything to draw

    def template(self) -> dict[str, Any]:
        """The spec with an empty ``view`` dataset (a copy: change it freely)."""
        return copy.deepcopy(_template(self.tool))


def _view(tool: str, uri_name: str, title: str, description: str, module: Any) -> ChartView:
    return ChartView(
        tool=tool,
        uri=f"ui://healthlocker/{uri_name}.html",
        name=uri_name,
        title=title,
        description=description,
        builder=module.template,
        drawable=module.drawable,
    )


VIEWS: Mapping[str, ChartView] = MappingProxyType(
    {
        v.tool: v
        for v in (
            _view(
                "summarize_trends",
                "trend",
                "Measure over time",
                "A measure over time: points, your typical range, the latest value, zoom",
                _trend,
            ),
            _view(
                "list_labs",
                "lab-history",
                "Lab test history",
                "One lab test's results over time, each with its range and flag in words",
                _labs,
            ),
            _view(
                "explain_coverage",
                "plan-comparison",
                "Plan comparison",
                "Each plan's estimated yearly cost, split into premiums, deductible, "
                "coinsurance and copays",
                _plans,
            ),
            _view(
                "get_meds",
                "medication-timeline",
                "Medication timeline",
                "When each medication started and stopped, with what it is for",
                _meds,
            ),
        )
    }
)
_BY_URI = {v.uri: v for v in VIEWS.values()}


@functools.cache
def _template(tool: str) -> dict[str, Any]:
    return VIEWS[tool].builder()


def _chart(tool: str) -> ChartView:
    try:
        return VIEWS[tool]
    except KeyError:
        raise ValueError(f"no chart for the tool {tool!r}; charts: {', '.join(VIEWS)}") from None


def _content(view: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The view as the tool result's structured content carries it."""
    structured = getattr(view, "structured", None)
    if callable(structured):  # a records Answer: exactly what the tool result carries
        return dict(structured())
    if isinstance(view, BaseModel):
        return view.model_dump(mode="json", exclude_none=True)
    content: dict[str, Any] = json.loads(json.dumps(dict(view)))  # plain JSON, our own copy
    return content


def spec(tool: str, view: BaseModel | Mapping[str, Any]) -> dict[str, Any] | None:
    """The Vega spec that draws *tool*'s result *view*; None when it has nothing to draw.

    *view* is the records view the tool returned (or its structured content). The spec is
    the tool's template with the view as the one row of its ``view`` dataset: exactly what the
    MCP Apps view draws from the same result.
    """
    chart = _chart(tool)
    content = _content(view)
    if not chart.drawable(content):
        return None
    out = chart.template()
    out["data"][0] = {"name": VIEW, "values": [content]}
    return out


def png(tool: str, view: BaseModel | Mapping[str, Any], *, scale: float = 1.0) -> bytes | None:
    """*tool*'s result *view* drawn as a PNG (720 CSS pixels wide, times *scale*); None when it
    has nothing to draw. For clients without MCP Apps, or when a chart is asked for."""
    drawn = spec(tool, view)
    if drawn is None:
        return None
    import vl_convert  # ~30 MB of renderer: loaded on the first chart, never at start-up

    image: bytes = vl_convert.vega_to_png(drawn, scale=scale, allowed_base_urls=[])
    return image


def html(uri: str) -> str:
    """The MCP Apps view *uri* (``ui://healthlocker/<name>.html``): one HTML document with
    the frame's script and the chart's spec inline, needing nothing from outside."""
    try:
        chart = _BY_URI[uri]
    except KeyError:
        known = ", ".join(_BY_URI)
        raise ValueError(f"no MCP Apps view {uri!r}; views: {known}") from None
    return _html(chart.tool)


@functools.cache
def _html(tool: str) -> str:
    chart = VIEWS[tool]
    folder = resources.files("healthlocker.charts") / APPS
    shell = (folder / SHELL).read_text(encoding="utf-8")
    script = (folder / BUNDLE).read_text(encoding="utf-8")
    # JSON inside <script>: "<" written as \u003c, so no record-free text can end the element
    spec_json = json.dumps(_template(tool), separators=(",", ":")).replace("<", "\\u003c")
    parts = {
        "{{title}}": chart.title,
        "{{spec}}": spec_json,
        "{{script}}": script.replace("</script", "<\\/script"),
    }
    for key, value in parts.items():
        shell = shell.replace(key, value)
    return shell
