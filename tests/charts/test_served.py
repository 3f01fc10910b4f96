"""The MCP Apps view as a real server serves it: read over the SDK client from `healthlocker
serve` (stdio), framed by the test host in Chromium, and given that server's own tool result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import Implementation

from charts.browser import OUTPUT, drive, host
from healthlocker import charts
from helpers import PASSPHRASE, SAMPLES, chromium, run_cli

INFO = Implementation(name="served-view-test", version="1")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("served-view") / "vault"
    assert run_cli("init", home=folder).returncode == 0
    assert run_cli("import", str(SAMPLES / "synthea"), home=folder).returncode == 0
    assert run_cli("grant", "summarize_trends", "--client", INFO.name, home=folder).returncode == 0
    return folder


async def served(home: Path, tool: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The tool's view document and a call's result, both from one `serve` over stdio, by a
    client that announces MCP Apps."""
    env = {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=env
    )
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(params, mode="legacy", client_info=INFO, extensions=[apps]) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        uri = listed[tool].meta["ui"]["resourceUri"]  # type: ignore[index]
        (content,) = (await client.read_resource(uri)).contents
        result = await client.call_tool(tool, args)
    assert content.mime_type == APP_MIME_TYPE
    assert not result.is_error, result.content
    return content.text, result.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_the_served_view_draws_the_servers_own_result(home: Path) -> None:
    chromium()
    args = {"metric": "body_weight"}
    page, result = await served(home, "summarize_trends", args)
    points = result["structuredContent"]["points"]
    assert len(points) >= 5
    name = charts.VIEWS["summarize_trends"].name
    case = {
        "name": "served-trend",
        "view": name,
        "toolName": "summarize_trends",
        "args": args,
        "result": result,
        "width": 860,
        "screenshot": str(OUTPUT / "served-trend-860.png"),
    }
    with host({name: page}) as base:
        report = drive(base, [case])["served-trend"]
    assert report["messages"] == [] and report["requests"] == []
    assert report["origin"] == "null"
    assert len(report["marks"]["point_marks"]) == len(points)
    [latest] = report["marks"]["latest_label"]
    assert latest["text"] == f"Latest: {points[-1]['value']:.3g}"  # 86.686 kg → 86.7
    assert len(report["rows"]) == len(points)
