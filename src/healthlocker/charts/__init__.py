"""Charts: the tools' results drawn, as MCP Apps views in the host's frame and as PNGs.

No ``mcp`` here. One Vega spec per chart drives both pictures: the frame draws it with vega
(``ui://healthlocker/<name>.html``, everything inline), and ``png`` renders it with
vl-convert, loaded on first use. The server links each tool in ``VIEWS`` to its view and
registers ``html(uri)`` as the view's resource (with a CSP naming no outside domain).

    from healthlocker import charts
    chart = charts.VIEWS["summarize_trends"]      # tool, uri, title, description
    charts.html(chart.uri)                        # the MCP Apps view's HTML
    charts.spec("summarize_trends", view)         # the Vega spec, or None: nothing to draw
    charts.png("summarize_trends", view)          # PNG bytes, or None: nothing to draw

See docs/charts.md.
"""

from healthlocker.charts._catalogue import VIEWS, ChartView, html, png, spec

__all__ = ["VIEWS", "ChartView", "html", "png", "spec"]
