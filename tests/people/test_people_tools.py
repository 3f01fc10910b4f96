"""Through the MCP server: every tool answers about the owner unless `patient` names someone
else, names whom it is about when the vault holds several people, and follows `people` edits
at once, also in a running server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from healthlocker.catalogue import TOOLS
from healthlocker.connectors import import_paths
from healthlocker.consent import OpenGate
from healthlocker.people import People
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import SAMPLES

# Arguments a tool needs (anything else is its defaults).
NEEDS: dict[str, dict[str, Any]] = {
    "summarize_trends": {"metric": "body_weight"},
    "search_records": {"query": "glucose"},
}


@pytest.fixture
def two_people(vault: Vault, tmp_path: Path) -> Vault:
    files = sorted((SAMPLES / "synthea").glob("*.json"))[:2]
    assert import_paths(vault, files).ok
    # A note about each of them, for read_document (the samples hold none).
    text = base64.b64encode(b"Seen today. Feeling well.").decode()
    notes = [
        {"resource": {"resourceType": "DocumentReference", "id": f"note-{n}", "status": "current",
                      "subject": {"reference": s.ref}, "date": "2024-01-02T10:00:00Z",
                      "content": [{"attachment": {"contentType": "text/plain", "data": text}}]}}
        for n, s in enumerate(vault.resources("Patient"))
    ]  # fmt: skip
    bundle = tmp_path / "notes.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": notes}))
    assert import_paths(vault, [bundle], source="notes").ok
    return vault


async def _call(vault: Vault, tool: str, **args: Any) -> tuple[str, dict[str, Any]]:
    if tool == "read_document":  # a document of the person asked about: their newest
        _, listed = await _call(vault, "list_documents", **args)
        args = {**args, "id": listed["documents"][0]["id"]}
    async with Client(build_server(vault, gate=OpenGate())) as client:
        result = await client.call_tool(tool, {**NEEDS.get(tool, {}), **args})
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(result.structured_content, dict)
    return text, result.structured_content


@pytest.mark.anyio
@pytest.mark.parametrize("tool", [spec.name for spec in TOOLS])
async def test_every_tool_answers_about_the_owner_and_names_them(
    two_people: Vault, tool: str
) -> None:
    text, data = await _call(two_people, tool)
    person = data["person"]
    assert (person["id"], person["owner"], person["people_in_vault"]) == ("person-1", True, 2)
    assert text.split("\n")[1] == person["note"]
    assert person["note"].startswith(f"This answer is about {person['shown']} (the vault's owner)")
    other_text, other = await _call(two_people, tool, patient="person-2")
    assert (other["person"]["id"], other["person"]["owner"]) == ("person-2", False)
    assert "(person-2)" in other_text.split("\n")[1]


def _patients(answer: dict[str, Any]) -> set[str]:
    """Whom the medications are about: each one's patient, or the answer's, said once."""
    return {m.get("patient", answer.get("patient")) for m in answer["medications"]}


@pytest.mark.anyio
async def test_people_edits_reach_a_running_server(two_people: Vault) -> None:
    async with Client(build_server(two_people, gate=OpenGate())) as client:
        before = (await client.call_tool("get_meds", {"status": "all"})).structured_content
        people = People.load(two_people)
        people.make_owner(people.all[1])
        people.save(two_people)
        after = (await client.call_tool("get_meds", {"status": "all"})).structured_content
        people = People.load(two_people)
        people.link(*people.all)
        people.save(two_people)
        linked = (await client.call_tool("get_meds", {"status": "all"})).structured_content
    assert before is not None and after is not None and linked is not None
    assert before["person"]["id"] == "person-1" and after["person"]["id"] == "person-2"
    assert _patients(before) != _patients(after)
    # One person now: both people's medications, and no one left to name.
    assert "person" not in linked and "withheld" not in linked
    both = len(before["medications"]) + len(after["medications"])
    assert len(linked["medications"]) == both
