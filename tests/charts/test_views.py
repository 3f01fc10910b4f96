"""The MCP Apps views as documents: self-contained, small, no outside origin, built from the
committed sources; and the package's public surface."""

from __future__ import annotations

import gzip
import json
import re
import subprocess

import pytest

import healthlocker.charts as charts
from charts.browser import BUILD
from helpers import node_binary

GOAL_GZIP = 400_000


def test_all_is_pinned() -> None:
    assert charts.__all__ == ["VIEWS", "ChartView", "html", "png", "spec"]  # ruff's order


def test_each_charted_tool_has_its_own_view() -> None:
    assert sorted(charts.VIEWS) == ["explain_coverage", "get_meds", "list_labs", "summarize_trends"]
    uris = [v.uri for v in charts.VIEWS.values()]
    assert len(set(uris)) == len(uris)
    for tool, view in charts.VIEWS.items():
        assert view.tool == tool
        assert view.uri == f"ui://healthlocker/{view.name}.html"


@pytest.mark.parametrize("uri", [v.uri for v in charts.VIEWS.values()])
def test_a_view_carries_everything_inline(uri: str) -> None:
    page = charts.html(uri)
    assert len(gzip.compress(page.encode(), 9)) < GOAL_GZIP
    # nothing loaded from anywhere: no src/href to a URL, no stylesheet or script file
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert not re.search(r"<(?:link|iframe|object|embed)\b", page, re.I)
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    assert not re.search(r"""import\s*\(\s*["']""", page)  # no dynamic imports
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert "connect-src 'none'" in csp.group(1)
    assert not re.search(r"https?:|\*", csp.group(1))  # no outside origin at all
    assert "unsafe-eval" not in page.split("<script", 1)[0]


@pytest.mark.parametrize("tool", sorted(charts.VIEWS))
def test_a_view_holds_its_charts_spec(tool: str) -> None:
    page = charts.html(charts.VIEWS[tool].uri)
    found = re.search(r'<script type="application/json" id="chart-spec">(.*?)</script>', page, re.S)
    assert found is not None
    assert json.loads(found.group(1)) == charts.VIEWS[tool].template()
    assert found.group(1).count("<") == 0  # written as \\u003c: the JSON cannot end its element


def test_an_unknown_view_is_an_error() -> None:
    with pytest.raises(
        ValueError, match=re.escape("no MCP Apps view 'ui://healthlocker/nope.html'")
    ):
        charts.html("ui://healthlocker/nope.html")


def test_the_committed_views_are_built_from_the_sources() -> None:
    """tools/charts/ and tools/node's packages, rebuilt, give the committed apps/ files."""
    done = subprocess.run(
        [str(node_binary()), str(BUILD), "--check"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def contrast(colour: str, background: str = "#ffffff") -> float:
    """The WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(colour), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_colours_pass_wcag_aa() -> None:
    """Text and the marks that carry meaning: 4.5:1 on white (AA for text, more than the 3:1
    non-text contrast asks); white labels inside the plan bars and medication bars: 4.5:1."""
    from healthlocker.charts import _labs, _meds, _plans, _trend, _vega

    for colour in (_vega.INK, _vega.MUTED, _vega.RULE, _labs.RANGE_EDGE, *_trend.COLOURS):
        assert contrast(colour) >= 4.5, colour
    for _, colour, _ in _labs.FLAGS.values():
        assert contrast(colour) >= 4.5, colour
    for colour in (*(c for _, _, c in _plans.PARTS), *_meds.STATUS.values()):
        assert contrast(colour) >= 4.5, colour  # white on it is the same ratio
