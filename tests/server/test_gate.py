"""The one gate every tool call passes, through the SDK's real client: one arguments object for
the call, the cache and the audit; the consent scope; one error edge."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import Implementation

from healthlocker.connectors import import_paths
from healthlocker.consent import AuditEvent, AuditLog, Decision, GrantStore, OpenGate
from healthlocker.server import build_server
from healthlocker.server._edge import INTERNAL
from healthlocker.store import Vault
from helpers import ROOT, SAMPLES

INFO = Implementation(name="tester", version="1")
HARTMANN = SAMPLES / "synthea" / "Adalberto_Hartmann_44ec4447-9e2c-4eb9-bd4f-0bdb416b806e.json"
PLAN = {"name": "Silver", "premium": 100, "deductible": 1000, "coinsurance": 0.2}


@pytest.fixture
def hartmann(vault: Vault) -> Vault:
    """One Synthea patient on 7 active medications, all prescribed years ago."""
    assert import_paths(vault, [HARTMANN]).ok
    return vault


@pytest.mark.anyio
async def test_explain_coverage_cache_holds_every_argument(loaded_vault: Vault) -> None:
    """Regression: the view cache's key held only the plans' names, so a second comparison
    with the same names and other premiums returned the first one's answer."""
    gate = OpenGate()
    async with Client(build_server(loaded_vault, gate=gate), client_info=INFO) as client:
        cheap = await client.call_tool("explain_coverage", {"plans": [PLAN]})
        dear = await client.call_tool("explain_coverage", {"plans": [{**PLAN, "premium": 900}]})
    costs = [
        r.structured_content["plan_comparison"][0]["premiums"]  # type: ignore[index]
        for r in (cheap, dear)
    ]
    assert costs == [1200, 10800]
    assert [e.outcome for e in gate.events] == ["allowed", "allowed"]


@pytest.mark.anyio
async def test_a_year_long_grant_still_shows_what_the_person_takes(hartmann: Vault) -> None:
    """Regression (issue 14): under "the last 12 months", get_meds said "0 active
    medication(s)" for a patient on 7 active ones prescribed earlier."""
    GrantStore(hartmann).add(
        client="tester", tool="all", duration=timedelta(hours=1), window="last:12m"
    )
    async with Client(build_server(hartmann), client_info=INFO) as client:
        active = await client.call_tool("get_meds", {})
        every = await client.call_tool("get_meds", {"status": "all"})
        labs = await client.call_tool("list_labs", {})
    text = active.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Medications: 7 current")
    assert "withheld" not in (active.structured_content or {})  # nothing active left out
    stopped = every.structured_content["withheld"]  # type: ignore[index]
    assert stopped["by_kind"] == {"prescriptions": 1}
    assert "1 older prescription is outside the period you allowed" in every.content[0].text  # type: ignore[union-attr]
    assert labs.structured_content["results"] == []  # type: ignore[index]
    hidden = labs.structured_content["withheld"]  # type: ignore[index]
    assert hidden["count"] > 0 and hidden["before"]
    lines = labs.content[0].text.splitlines()  # type: ignore[union-attr]
    assert lines[0] == "Lab results: none match."
    assert lines[1] == (
        f"{hidden['count']} older lab results are outside the period you allowed "
        f"(before {hidden['before']})."
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments", "lines"),
    [
        ("list_labs", {"limit": 0}, ["- limit: must be 1 or more"]),
        (
            "list_labs",
            {"since": "last tuesday", "limit": 500},
            ["- since: must be a date written YYYY-MM-DD", "- limit: must be 200 or less"],
        ),
        (
            "summarize_trends",
            {"granularity": "hour"},
            ["- metric: is required", "- granularity: must be 'day', 'week', 'month' or"],
        ),
        (
            "explain_coverage",
            {"plans": [{**PLAN, "premium": -5}]},
            ["- plans[0].premium: must be 0 or more"],
        ),
        ("list_labs", {"tset": "glucose"}, ["- tset: is not an argument of list_labs"]),
    ],
)
async def test_bad_arguments_are_one_plain_line_each_and_audited(
    loaded_vault: Vault, tool: str, arguments: dict[str, Any], lines: list[str]
) -> None:
    gate = OpenGate()
    async with Client(build_server(loaded_vault, gate=gate), client_info=INFO) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    said = text.splitlines()
    assert said[0] == f"{tool}: some arguments are not valid; correct them and call again:"
    assert len(said) == 1 + len(lines)
    assert all(line.startswith(want) for line, want in zip(said[1:], lines, strict=True))
    assert "pydantic" not in text and "http" not in text and "input_value" not in text
    [event] = gate.events
    assert (event.client, event.tool, event.outcome) == ("tester", tool, "failed")
    bad = {line[2:].split(":")[0].split("[")[0] for line in lines}
    assert set(event.arguments) == bad  # which arguments were bad ...
    assert set(event.arguments.values()) == {"<invalid>"}  # ... never their values


class BrokenGate(OpenGate):
    """A gate with a bug whose message would carry record text."""

    def decide(self, *, client: str, tool: str, arguments: dict[str, Any]) -> Decision:
        raise KeyError("Hemoglobin A1c 9.1 %")


@pytest.mark.anyio
async def test_a_bug_is_logged_by_type_and_place_and_reported_opaquely(
    loaded_vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    gate = BrokenGate()
    with caplog.at_level(logging.INFO):
        async with Client(build_server(loaded_vault, gate=gate), client_info=INFO) as client:
            result = await client.call_tool("list_labs", {"test": "glucose"})
            with pytest.raises(MCPError, match=INTERNAL):
                await client.read_resource("healthlocker://summary")
    assert result.is_error
    assert result.content[0].text == f"Error executing tool list_labs: {INTERNAL}"  # type: ignore[union-attr]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "KeyError at test_gate.py" in logged
    assert "Hemoglobin" not in logged and "glucose" not in logged
    # Both are audited as failed: the resource's read reached the call; the tool's broke in its
    # consent check, and the edge audits around the whole call (issue 19).
    assert [(e.tool, e.outcome) for e in gate.events] == [
        ("list_labs", "failed"),
        ("health_summary", "failed"),
    ]


@pytest.mark.anyio
async def test_resources_and_prompts_are_consented_and_audited_as_their_client(
    hartmann: Vault,
) -> None:
    """Regression: the summary resource read as client "local" though the client held a
    grant, and told the person to answer a consent prompt resources never show."""
    async with Client(build_server(hartmann), client_info=INFO) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource("healthlocker://summary")
        message = str(refused.value)
        assert "healthlocker grant health_summary --client tester" in message
        assert "consent prompt" not in message
        with pytest.raises(MCPError, match="healthlocker grant list_labs --client tester"):
            await client.get_prompt("explain_my_labs", {})
        GrantStore(hartmann).add(
            client="tester", tool="health_summary", duration=timedelta(hours=1)
        )
        summary = await client.read_resource("healthlocker://summary")
        assert summary.contents[0].text.startswith("Health summary")  # type: ignore[union-attr]
    entries = [e.event for e in AuditLog(hartmann).entries()]
    assert [(e.client, e.tool, e.outcome) for e in entries] == [
        ("tester", "health_summary", "refused"),
        ("tester", "list_labs", "refused"),
        ("tester", "health_summary", "allowed"),
    ]
    assert entries[0].arguments["via"] == "healthlocker://summary"
    assert entries[1].arguments["via"] == "the prompt explain_my_labs"


@pytest.mark.anyio
async def test_the_same_arguments_object_makes_the_call_and_the_audit_entry(
    loaded_vault: Vault,
) -> None:
    gate = OpenGate()
    arguments = {"test": "glucose", "since": "2015-01-01", "limit": 3}
    async with Client(build_server(loaded_vault, gate=gate), client_info=INFO) as client:
        result = await client.call_tool("list_labs", arguments)
    assert len(result.structured_content["results"]) == 3  # type: ignore[index]
    [event] = gate.events
    assert event.arguments == {
        "patient": None,
        "test": "<text, 7 chars>",
        "since": "2015-01-01",
        "until": None,
        "abnormal_only": False,
        "limit": 3,
        "chart": False,
    }
    assert isinstance(event, AuditEvent)


def test_the_server_raises_no_builtin_permission_error() -> None:
    """Refusals are ConsentError subclasses (RefusedError, DeclinedError), mapped at the edge."""
    server = ROOT / "src" / "healthlocker" / "server"
    assert [p.name for p in server.glob("*.py") if "PermissionError" in p.read_text()] == []


@pytest.mark.anyio
async def test_structured_content_omits_withheld_when_nothing_was(hartmann: Vault) -> None:
    # One person's vault: nothing withheld, and no one to name (with several people, tools
    # answer about the owner and withhold the others': tests/people/test_people_tools.py).
    async with Client(build_server(hartmann, gate=OpenGate()), client_info=INFO) as client:
        result = await client.call_tool("get_meds", {"status": "all"})
    assert "withheld" not in json.dumps(result.structured_content)
    assert '"person"' not in json.dumps(result.structured_content)
    assert Path(HARTMANN).exists()
