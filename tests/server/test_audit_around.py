"""Every tool call is one audit entry, whatever ends it (issue 19): the edge audits around the
whole call, and a call whose entry cannot be written fails and says so, returning no data.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitResult, Implementation

from healthlocker.consent import AuditLog, GrantStore
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import SAMPLES, run_cli
from server.remote import OAuthClient, mcp_client, serving

pytestmark = pytest.mark.anyio
INFO = Implementation(name="tester", version="1")
SAMPLE_WORDS = ("Hemoglobin", "Glucose", "Hartmann", "Considine", "mmol")


def _outcomes(vault: Vault) -> list[tuple[str, str, str]]:
    return [(e.event.client, e.event.tool, e.event.outcome) for e in AuditLog(vault).entries()]


@pytest.mark.parametrize(("name", "audited"), [("list_labz", "list_labz"), ("[/x] " * 3, None)])
async def test_an_unknown_tool_is_audited_as_failed(
    vault: Vault, name: str, audited: str | None
) -> None:
    async with Client(build_server(vault), client_info=INFO) as client:
        result = await client.call_tool(name, {})
    assert result.is_error
    [(client_name, tool, outcome)] = _outcomes(vault)
    assert (client_name, outcome) == ("tester", "failed")
    assert tool == (audited or f"<unknown, {len(name)} chars>")  # no stranger's text kept


async def test_a_consent_answer_that_does_not_fit_the_form_is_audited_as_failed(
    vault: Vault,
) -> None:
    async def misfit(ctx: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"allow": "forever", "records": "all"})

    async with Client(
        build_server(vault), mode="2026-07-28", client_info=INFO, elicitation_callback=misfit
    ) as client:
        result = await client.call_tool("list_labs", {})
    assert result.is_error
    assert GrantStore(vault).all() == []
    assert _outcomes(vault) == [("tester", "list_labs", "failed")]


async def test_a_reported_client_name_is_kept_without_markup(vault: Vault) -> None:
    """A client reporting `[/link]` as its name made `audit` and `grants` crash for good."""
    async with Client(
        build_server(vault), client_info=Implementation(name="[/link][conceal]Eve", version="1")
    ) as client:
        await client.call_tool("list_labs", {})
    [(client_name, _, outcome)] = _outcomes(vault)
    assert (client_name, outcome) == ("linkconcealEve", "refused")


async def test_a_call_whose_audit_entry_cannot_be_written_fails_and_says_so(
    tmp_path: Path,
) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("import", str(SAMPLES / "synthea"), home=home).returncode == 0
    with serving(home) as server:
        client = OAuthClient.register(server, "Audited")
        tokens = client.authorize(scopes=["read:list_labs"])
        async with mcp_client(server.mcp, tokens["access_token"]) as mcp:
            assert not (await mcp.call_tool("list_labs", {"limit": 3})).is_error
            # The disk refuses audit entries from now on (a trigger stands in for a full disk).
            with sqlite3.connect(home / "vault.db") as db:
                db.execute(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit "
                    "BEGIN SELECT RAISE(ABORT, 'no room'); END"
                )
            try:
                failed = await mcp.call_tool("list_labs", {"limit": 3})
            finally:
                with sqlite3.connect(home / "vault.db") as db:
                    db.execute("DROP TRIGGER no_audit")
        assert failed.is_error
        text = " ".join(c.text for c in failed.content)  # type: ignore[union-attr]
        assert "could not write this call's audit entry" in text
        assert failed.structured_content is None
        assert not any(word in text for word in SAMPLE_WORDS)
        assert "no room" not in text  # the reason goes to the server log only
        assert "Traceback" not in server.log()
    entries = json.loads(run_cli("audit", "--json", home=home).stdout)
    assert [e["outcome"] for e in entries] == ["allowed"]  # nothing written while refused
    assert run_cli("audit", "--verify", home=home).returncode == 0
