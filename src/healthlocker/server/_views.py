"""The charts in MCP: each chart's view as an MCP Apps ``ui://`` resource, linked from its tool,
and the chart as a PNG for a client that cannot show the view (docs/charts.md).

The views' HTML is built on their first read, and the PNG renderer loads on the first picture:
starting the server costs neither.
"""

from __future__ import annotations

import base64
from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import ImageContent

from healthlocker import charts

# No outside origin of any kind: the views carry everything they need inline.
NO_DOMAINS = ResourceCsp(
    connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]
)


def apps() -> Apps:
    """The MCP Apps extension for ``MCPServer(extensions=...)``: it announces MCP Apps and
    serves every chart's view, under a CSP naming no outside domain."""
    extension = Apps()
    csp = NO_DOMAINS.model_dump(by_alias=True)
    for chart in charts.VIEWS.values():
        # ``add_html_resource`` would build all four documents (~1 MB) at start-up.
        extension.add_resource(
            FunctionResource(
                uri=chart.uri,
                name=chart.name,
                title=chart.title,
                description=chart.description,
                mime_type=APP_MIME_TYPE,
                meta={"ui": {"csp": csp}},
                fn=_document(chart.uri),
            )
        )
    return extension


def _document(uri: str) -> Any:
    return lambda: charts.html(uri)


def tool_meta(tool: str) -> dict[str, Any] | None:
    """The tool's ``_meta``: MCP Apps' link to its chart's view, if it has a chart."""
    chart = charts.VIEWS.get(tool)
    return {"ui": {"resourceUri": chart.uri}} if chart else None


def picture(tool: str, content: dict[str, Any]) -> list[ImageContent]:
    """The chart of *tool*'s result (its structured content) as a PNG; none when the result
    has nothing to draw. Drawn from the result as it is: no second read of the vault."""
    png = charts.png(tool, content)
    if png is None:
        return []
    data = base64.b64encode(png).decode("ascii")
    return [ImageContent(type="image", data=data, mime_type="image/png")]
