"""The charts as the server gives them, over real transports: a client that announces MCP Apps
sees each charted tool's ``ui://`` view and reads it; any other client gets the chart as a PNG
beside the unchanged text and structure; ``chart: true`` asks for it; a refusal draws nothing;
every call is audited once (docs/charts.md)."""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult, ElicitResult, ImageContent, Implementation

from charts.pngcheck import decode
from healthlocker import charts
from helpers import PASSPHRASE, ROOT, run_cli
from server.remote import OAuthClient, Server, mcp_client

pytestmark = pytest.mark.anyio
PLANS = json.loads((ROOT / "examples" / "plans" / "example-plans.json").read_text())
# One call per chart, each the call its chart is for.
CALLS: dict[str, dict[str, Any]] = {
    "summarize_trends": {"metric": "body_weight"},
    "list_labs": {"test": "glucose"},
    "explain_coverage": {"plans": PLANS},
    "get_meds": {"status": "all"},
}
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
CLIENTS = ("plain-client", "apps-client")


@pytest.fixture(scope="module")
def home(synthea_home: Path) -> Path:
    for client in CLIENTS:
        assert run_cli("grant", "all", "--client", client, home=synthea_home).returncode == 0
    return synthea_home


@asynccontextmanager
async def stdio(home: Path, client: str, **options: Any) -> AsyncIterator[Client]:
    env = {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=env
    )
    info = Implementation(name=client, version="1")
    async with Client(params, mode="legacy", client_info=info, **options) as session:
        yield session


def audited(home: Path, client: str) -> list[tuple[str, str]]:
    said = run_cli("audit", "--json", "--client", client, home=home)
    return [(e["tool"], e["outcome"]) for e in json.loads(said.stdout)]


def pictures(result: CallToolResult) -> list[bytes]:
    images = [c for c in result.content if isinstance(c, ImageContent)]
    assert all(i.mime_type == "image/png" for i in images)
    return [base64.b64decode(i.data) for i in images]


def assert_a_chart(png: bytes) -> None:
    image = decode(png)
    assert image.width == 720  # 720 CSS pixels, scale 1
    assert 200 < image.height < 2000
    assert len(image.colours()) > 20  # drawn, not blank


async def test_a_client_without_apps_gets_each_chart_as_a_picture(home: Path) -> None:
    async with stdio(home, "plain-client") as client:
        for tool, args in CALLS.items():
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content
            assert result.content[0].type == "text" and result.structured_content
            [png] = pictures(result)
            assert_a_chart(png)
        # unasked, only the chart's own call is drawn; nothing to draw is no picture
        recent = await client.call_tool("list_labs", {"limit": 5})
        current = await client.call_tool("get_meds", {})
        no_plans = await client.call_tool("explain_coverage", {"chart": True})
        for result in (recent, current, no_plans):
            assert not result.is_error and result.structured_content
            assert pictures(result) == []
    calls = [(tool, "allowed") for tool in CALLS]
    calls += [("list_labs", "allowed"), ("get_meds", "allowed"), ("explain_coverage", "allowed")]
    assert audited(home, "plain-client")[-len(calls) :] == calls


async def test_a_client_with_apps_reads_the_views_and_gets_pictures_only_when_asked(
    home: Path,
) -> None:
    before = len(audited(home, "apps-client"))
    async with stdio(home, "apps-client", extensions=[APPS]) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name, tool in tools.items():
            view = charts.VIEWS.get(name)
            assert tool.meta == ({"ui": {"resourceUri": view.uri}} if view else None)
        for view in charts.VIEWS.values():
            (content,) = (await client.read_resource(view.uri)).contents
            assert content.mime_type == APP_MIME_TYPE == "text/html;profile=mcp-app"
            assert content.meta == {
                "ui": {
                    "csp": {
                        "connectDomains": [],
                        "resourceDomains": [],
                        "frameDomains": [],
                        "baseUriDomains": [],
                    }
                }
            }
            html = content.text  # type: ignore[union-attr]
            assert html == charts.html(view.uri)
            [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
            assert "default-src 'none'" in policy
            assert not re.search(r"https?:|//|\*|'self'", policy), policy  # no origin at all
        for tool, args in CALLS.items():
            shown = await client.call_tool(tool, args)
            assert pictures(shown) == [] and len(shown.content) == 1
            asked = await client.call_tool(tool, {**args, "chart": True})
            assert asked.content[0] == shown.content[0]  # the same text...
            assert asked.structured_content == shown.structured_content  # ...and structure
            [png] = pictures(asked)
            assert_a_chart(png)
    entries = audited(home, "apps-client")[before:]
    assert entries == [(tool, "allowed") for tool in CALLS for _ in range(2)]


async def test_a_refused_call_draws_nothing_and_is_audited_once(home: Path) -> None:
    async def decline(ctx: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="decline")

    async with stdio(home, "no-grant-client", elicitation_callback=decline) as client:
        args = {**CALLS["summarize_trends"], "chart": True}
        result = await client.call_tool("summarize_trends", args)
    assert result.is_error
    assert result.structured_content is None
    assert pictures(result) == [] and len(result.content) == 1
    assert "kg" not in result.content[0].text  # type: ignore[union-attr]
    assert audited(home, "no-grant-client") == [("summarize_trends", "declined")]


async def test_over_http_a_picture_for_a_plain_client_and_the_view_for_an_apps_one(
    server: Server, home: Path
) -> None:
    oauth = OAuthClient.register(server, "Charts Assistant")
    oauth.authorize(scopes=["read:summarize_trends"], duration="24h")
    token = oauth.tokens["access_token"]
    async with mcp_client(server.mcp, token) as plain:
        result = await plain.call_tool("summarize_trends", CALLS["summarize_trends"])
        [png] = pictures(result)
        assert_a_chart(png)
    trend = charts.VIEWS["summarize_trends"]
    async with mcp_client(server.mcp, token, extensions=[APPS]) as apps:
        result = await apps.call_tool("summarize_trends", CALLS["summarize_trends"])
        assert not result.is_error and pictures(result) == []
        (content,) = (await apps.read_resource(trend.uri)).contents
        assert content.mime_type == APP_MIME_TYPE
        assert content.text == charts.html(trend.uri)  # type: ignore[union-attr]
    entries = audited(home, oauth.client_id)
    assert entries == [("summarize_trends", "allowed")] * 2
