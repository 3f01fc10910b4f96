"""The demo's assistant: a real MCP client session (the SDK's ``Client`` over stdio) against
``healthlocker serve``, asking what a person would ask and answering the consent prompt for
them. ``healthlocker demo`` runs it on a throwaway vault holding one sample person."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, Implementation

PLANS = [
    {
        "name": "Bronze HDHP",
        "premium": 310,
        "deductible": 6000,
        "coinsurance": 0.4,
        "out_of_pocket_max": 8500,
    },
    {
        "name": "Gold PPO",
        "premium": 560,
        "deductible": 1000,
        "coinsurance": 0.2,
        "out_of_pocket_max": 4000,
        "copays": {"primary_care": 25, "specialist": 50},
    },
]
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("What do my glucose results look like?", "list_labs", {"test": "glucose", "limit": 5}),
    ("Anything outside its range lately?", "list_labs", {"abnormal_only": True, "limit": 5}),
    ("What am I taking?", "get_meds", {}),
    (
        "What did my insurance pay, and which plan would cost me less?",
        "explain_coverage",
        {"plans": PLANS},
    ),
    ("How is my weight trending?", "summarize_trends", {"metric": "body_weight"}),
    ("How is my blood pressure trending?", "summarize_trends", {"metric": "blood_pressure"}),
    ("What conditions are on my record?", "list_conditions", {}),
    ("Give me an overview.", "health_summary", {}),
]


def demo_session(env: Mapping[str, str], say: Callable[[str], None]) -> bool:
    """Start ``healthlocker serve`` with *env* (this Python, this installation), ask each of
    CALLS, and *say* the transcript. False if a tool call failed."""
    return anyio.run(_session, dict(env), say)


async def _session(env: dict[str, str], say: Callable[[str], None]) -> bool:
    async def consent(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        """Stands in for the person at the consent prompt: allow this demo for one hour."""
        say(f"\n[consent prompt] {getattr(params, 'message', '')}")
        say("[the demo answers] for 1 hour, all records")
        return ElicitResult(
            action="accept", content={"allow": "for 1 hour", "records": "all records"}
        )

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=env
    )
    info = Implementation(name="healthlocker-demo", version="1")
    async with Client(params, client_info=info, elicitation_callback=consent) as client:
        tools = (await client.list_tools()).tools
        say(
            f"\nConnected over stdio ({client.protocol_version}); "
            f"{len(tools)} tools: {', '.join(t.name for t in tools)}"
        )
        for question, tool, args in CALLS:
            result = await client.call_tool(tool, args)
            say(f"\n>>> {question}  [{tool}]")
            text = getattr(result.content[0], "text", "") if result.content else ""
            say(textwrap.indent(text.strip(), "    "))
            if result.is_error:
                return False
    return True
