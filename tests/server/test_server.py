"""The MCP server through the SDK's real client, in memory, in both protocol eras."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import Implementation

from healthlocker.catalogue import TOOLS as CATALOGUE
from healthlocker.catalogue import tool
from healthlocker.consent import OpenGate
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import cites_each

ERAS = [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")]
SNAPSHOT = Path(__file__).with_name("tool_list.snapshot.json")
TOOLS = {
    "list_labs": {"test": "glucose", "limit": 5},
    "get_meds": {"status": "all"},
    "explain_coverage": {},
    "summarize_trends": {"metric": "body_weight"},
    "list_conditions": {"status": "all"},
    "list_immunizations": {},
    "list_visits": {"limit": 3},
    "search_records": {"query": "glucose"},
    "health_summary": {},
}


@pytest.fixture
async def client(request: pytest.FixtureRequest, loaded_vault: Vault) -> AsyncIterator[Client]:
    mode = getattr(request, "param", "legacy")
    gate = OpenGate()
    server = build_server(loaded_vault, gate=gate)
    async with Client(
        server, mode=mode, client_info=Implementation(name="tester", version="1")
    ) as c:
        c.gate = gate  # type: ignore[attr-defined]
        yield c


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "version"), ERAS)
async def test_both_eras_list_and_call(loaded_vault: Vault, mode: str, version: str) -> None:
    server = build_server(loaded_vault, gate=OpenGate())
    async with Client(server, mode=mode) as c:
        assert c.protocol_version == version
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(TOOLS) <= set(tools)
        for tool in tools.values():
            assert tool.annotations is not None
            assert tool.annotations.read_only_hint is True
            assert tool.output_schema is not None
            assert tool.description
        result = await c.call_tool("list_labs", {"limit": 3})
        assert not result.is_error
        assert len(result.structured_content["results"]) == 3  # type: ignore[index]
        assert result.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("tool", sorted(TOOLS))
async def test_every_tool_answers_with_structure_text_and_sources(
    client: Client, tool: str
) -> None:
    result = await client.call_tool(tool, TOOLS[tool])
    assert not result.is_error, result.content
    assert result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    dumped = json.dumps(result.structured_content)
    assert '"origin"' in dumped
    assert '"resource"' in dumped
    assert "null" not in dumped  # a field with nothing to say is left out
    # The text stands on its own: every record the structure cites, it cites too.
    assert cites_each(text, re.findall(r'"resource": "([^"]+)"', dumped))


@pytest.mark.anyio
@pytest.mark.parametrize("tool", sorted(TOOLS))
async def test_every_tool_call_is_audited_exactly_once(client: Client, tool: str) -> None:
    gate: OpenGate = client.gate  # type: ignore[attr-defined]
    before = len(gate.events)
    await client.call_tool(tool, TOOLS[tool])
    events = gate.events[before:]
    assert [(e.tool, e.client, e.outcome) for e in events] == [(tool, "tester", "allowed")]
    assert events[0].records > 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "args", "hint"),
    [
        ("list_labs", {"limit": 0}, "limit"),
        ("list_labs", {"since": "last tuesday"}, "since"),
        ("get_meds", {"status": "sometimes"}, "status"),
        ("summarize_trends", {}, "metric"),
        ("summarize_trends", {"metric": "no-such-thing-at-all"}, "metric"),
        (
            "summarize_trends",
            {"metric": "body_weight", "since": "2020-01-01", "until": "2019-01-01"},
            "since",
        ),
        ("explain_coverage", {"plans": [{"name": "x", "premium": -5}]}, "premium"),
        ("list_labs", {"tset": "glucose"}, "tset: is not an argument of list_labs"),
    ],
)
async def test_bad_arguments_give_a_tool_error_the_assistant_can_correct(
    client: Client, tool: str, args: dict[str, Any], hint: str
) -> None:
    result = await client.call_tool(tool, args)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert hint in text, text
    assert "Traceback" not in text
    # One plain line per problem: no pydantic wording, no links, no values echoed.
    assert "Input should" not in text and "errors.pydantic.dev" not in text
    assert all(line.startswith("- ") for line in text.splitlines()[1:]), text


@pytest.mark.anyio
async def test_argument_errors_read_as_plain_words(client: Client) -> None:
    result = await client.call_tool("list_labs", {"since": "last tuesday", "limit": 0})
    assert result.content[0].text.splitlines()[1:] == [  # type: ignore[union-attr]
        "- since: must be a date written YYYY-MM-DD, e.g. 2024-01-31",
        "- limit: must be 1 or more",
    ]


@pytest.mark.anyio
async def test_failed_calls_are_audited_too(client: Client) -> None:
    gate: OpenGate = client.gate  # type: ignore[attr-defined]
    before = len(gate.events)
    await client.call_tool("summarize_trends", {"metric": "no-such-thing-at-all"})
    assert [(e.tool, e.outcome) for e in gate.events[before:]] == [("summarize_trends", "failed")]


@pytest.mark.anyio
@pytest.mark.parametrize("client", ["legacy", "2026-07-28"], indirect=True)
async def test_prompts_and_summary_resource(client: Client) -> None:
    prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert {"prepare_for_visit", "explain_my_labs"} <= prompts
    visit = await client.get_prompt("prepare_for_visit", {"reason": "annual checkup"})
    text = visit.messages[0].content.text  # type: ignore[union-attr]
    assert "annual checkup" in text
    assert "Do not diagnose" in text
    labs = await client.get_prompt("explain_my_labs", {})
    assert "lab" in labs.messages[0].content.text.lower()  # type: ignore[union-attr]
    resource = await client.read_resource("healthlocker://summary")
    summary = resource.contents[0].text  # type: ignore[union-attr]
    assert summary
    assert "Hartmann" not in summary


@pytest.mark.anyio
async def test_tool_list_snapshot(client: Client) -> None:
    """What the assistant sees changes only on purpose: UPDATE_SNAPSHOT=1 rewrites it. The
    output schemas are the catalogue's ``output_schemas.json``, pinned to the answer models by
    tests/catalogue (and rewritten by the same switch)."""
    tools = (await client.list_tools()).tools
    assert all(t.output_schema == tool(t.name).output_schema for t in tools)
    current = [
        {
            "name": t.name,
            "title": t.title,
            "description": t.description,
            "input_schema": t.input_schema,
        }
        for t in sorted(tools, key=lambda t: t.name)
    ]
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_listing_the_tools_loads_no_view() -> None:
    """Start-up: a server registers and lists every tool from the catalogue alone (its output
    schemas included); the views in ``records`` load on a tool's first call."""
    code = (
        "import sys, anyio\n"
        "from mcp import Client\n"
        "from healthlocker.errors import HealthLockerError\n"
        "from healthlocker.server import build_server\n"
        "def opener():\n"
        "    raise HealthLockerError('no vault here')\n"
        "async def main():\n"
        "    async with Client(build_server(opener)) as client:\n"
        "        tools = (await client.list_tools()).tools\n"
        "    print(sum(bool(t.output_schema) for t in tools))\n"
        "    print(' '.join(m for m in sys.modules if m.startswith('healthlocker.records.')))\n"
        "anyio.run(main)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    published, loaded = out.stdout.split("\n", 1)
    assert int(published) == len(CATALOGUE)
    views = {spec.view.__module__ for spec in CATALOGUE} | {s.output.__module__ for s in CATALOGUE}
    assert set(loaded.split()).isdisjoint(views)
