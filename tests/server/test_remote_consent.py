"""Consent in remote mode comes from the person, on this server's page (issue 19, high).

Each attack of the red-team pass is performed against a real `serve --http`: a client that the
person revoked answers its own consent prompt, replays refresh tokens concurrently, keeps its
tokens after being revoked entirely. Then the flows that replace the form: URL-mode elicitation
(2026-07-28) and a refusal naming the page (older clients), answered on the page by the person.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2
import pytest
from mcp.client import InputRequiredRoundsExceededError
from mcp.types import ElicitResult

from helpers import run_cli
from server.remote import OAuthClient, Server, answer_page, mcp_client

pytestmark = pytest.mark.anyio
SAMPLE_WORDS = ("Hemoglobin", "Glucose", "Hartmann", "Considine", "mmol")
PAGE = re.compile(r"https?://\S+/consent\?request=[\w-]+")


@pytest.fixture(scope="module")
def home(synthea_home: Path) -> Path:
    return synthea_home  # the vault the module's `server` serves


def _grants(home: Path, client: OAuthClient) -> list[dict[str, Any]]:
    grants = json.loads(run_cli("grants", "--all", "--json", home=home).stdout)
    return [g for g in grants if g["client"] == client.client_id]


def _audit(home: Path, client: OAuthClient) -> list[tuple[str, str, str | None]]:
    entries = json.loads(run_cli("audit", "--json", home=home).stdout)
    return [
        (e["tool"], e["outcome"], e["grant_id"]) for e in entries if e["client"] == client.client_id
    ]


def _revoke_its_grants(home: Path, client: OAuthClient) -> None:
    for grant in _grants(home, client):
        if grant["revoked"] is None:
            assert run_cli("revoke", grant["id"], home=home).returncode == 0


def _no_data(text: str) -> None:
    assert not any(word in text for word in SAMPLE_WORDS)


async def test_a_revoked_client_cannot_grant_itself_again_by_answering_its_own_prompt(
    server: Server, home: Path
) -> None:
    """The high-severity attack: the person revokes everything; the client refreshes its token,
    answers its own consent prompt "for 30 days, all records", and reads records outside the
    3 months the person had chosen. Now the refresh fails, no form is ever offered over HTTP,
    and the forged answer grants nothing."""
    client = OAuthClient.register(server, "Sneaky")
    tokens = client.authorize(scopes=["read:list_labs"], duration="24h", window="3")
    assert [g["window"] for g in _grants(home, client)] == ["last:3m"]
    _revoke_its_grants(home, client)

    refreshed = client.refresh()  # revoking its grants ended its refresh tokens
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"

    asked: list[Any] = []

    async def answer_itself(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params)
        return ElicitResult(
            action="accept", content={"allow": "for 30 days", "records": "all records"}
        )

    # Its access token still lives for a few minutes: it tries to answer for the person.
    async with mcp_client(
        server.mcp,
        tokens["access_token"],
        mode="2026-07-28",
        elicitation_callback=answer_itself,
        input_required_max_rounds=2,
    ) as mcp:
        with pytest.raises(InputRequiredRoundsExceededError):
            await mcp.call_tool("list_labs", {"limit": 50})
    assert asked, "the client was not even asked"
    assert {p.mode for p in asked} == {"url"}  # never a form it could fill in
    assert all(PAGE.fullmatch(p.url) for p in asked)
    assert [g for g in _grants(home, client) if g["revoked"] is None] == []
    assert ("list_labs", "allowed", None) not in _audit(home, client)

    async with mcp_client(server.mcp, tokens["access_token"], mode="legacy") as mcp:
        refused = await mcp.call_tool("list_labs", {"limit": 50})
    assert refused.is_error
    _no_data(refused.content[0].text)
    assert PAGE.search(refused.content[0].text)
    assert [g for g in _grants(home, client) if g["revoked"] is None] == []


async def test_a_2026_client_opens_the_page_and_the_person_chooses_there(
    server: Server, home: Path
) -> None:
    client = OAuthClient.register(server, "Opener")
    tokens = client.authorize(scopes=["read:list_labs"])
    _revoke_its_grants(home, client)  # its token may still ask, but only the person can answer
    asked: list[Any] = []

    async def person_answers_on_the_page(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params)
        page = await anyio.to_thread.run_sync(
            lambda: answer_page(server, params.url, duration="24h", window="12")
        )
        assert page.status_code == 200 and "Done" in page.text
        return ElicitResult(action="accept")  # the person opened the page

    async with mcp_client(
        server.mcp,
        tokens["access_token"],
        mode="2026-07-28",
        elicitation_callback=person_answers_on_the_page,
    ) as mcp:
        result = await mcp.call_tool("list_labs", {"limit": 2})
    assert not result.is_error, result.content
    assert [p.mode for p in asked] == ["url"]
    assert "Opener" in asked[0].message and "list_labs" in asked[0].message
    live = [g for g in _grants(home, client) if g["revoked"] is None]
    assert [(g["tool"], g["window"]) for g in live] == [("list_labs", "last:12m")]
    assert _audit(home, client)[-1][:2] == ("list_labs", "allowed")


async def test_a_legacy_client_is_told_the_page_and_the_answer_counts_once(
    server: Server, home: Path
) -> None:
    client = OAuthClient.register(server, "Old Style")
    tokens = client.authorize(scopes=["read:list_labs"])
    _revoke_its_grants(home, client)
    async with mcp_client(server.mcp, tokens["access_token"], mode="legacy") as mcp:
        first = await mcp.call_tool("list_labs", {"limit": 1})
        assert first.is_error
        url = PAGE.search(first.content[0].text)
        assert url is not None
        again = await mcp.call_tool("list_labs", {"limit": 1})  # the same request, not another
        assert PAGE.search(again.content[0].text).group() == url.group()  # type: ignore[union-attr]

        page = answer_page(server, url.group(), duration="once", window="3")
        assert "Done" in page.text
        allowed = await mcp.call_tool("list_labs", {"limit": 1})
        assert not allowed.is_error, allowed.content
        used_up = await mcp.call_tool("list_labs", {"limit": 1})
        assert used_up.is_error  # just this once

        url = PAGE.search(used_up.content[0].text)
        assert url is not None
        page = answer_page(server, url.group(), action="deny")
        assert "Not allowed" in page.text
        declined = await mcp.call_tool("list_labs", {"limit": 1})
        assert declined.is_error
        assert "did not allow it on the consent page" in declined.content[0].text
        _no_data(declined.content[0].text)
    assert [g for g in _grants(home, client) if g["revoked"] is None] == []
    assert _audit(home, client) == [
        ("list_labs", "refused", None),
        ("list_labs", "refused", None),
        ("list_labs", "allowed", "once"),
        ("list_labs", "refused", None),
        ("list_labs", "declined", None),
    ]


def test_ten_concurrent_replays_of_a_refresh_token_end_its_family(server: Server) -> None:
    """8 of 10 concurrent replays evaded reuse detection: now exactly one refresh wins, and
    the family ends anyway, so the winner's new token is refused too."""
    client = OAuthClient.register(server, "Racer")
    client.authorize(scopes=["read:list_labs"])
    stolen = client.tokens["refresh_token"]
    replies: list[httpx2.Response] = []
    start = threading.Barrier(10)

    def replay() -> None:
        start.wait()
        replies.append(
            client.token_request({"grant_type": "refresh_token", "refresh_token": stolen})
        )

    threads = [threading.Thread(target=replay) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status_code for r in replies) == [200] + [400] * 9
    winner = next(r.json() for r in replies if r.status_code == 200)
    client.tokens = winner
    after = client.refresh()
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_grant"


async def test_revoke_client_ends_everything_it_holds_at_once(server: Server, home: Path) -> None:
    client = OAuthClient.register(server, "Claude")
    twin = OAuthClient.register(server, "Claude")  # four "Claude"s must still look different
    tokens = client.authorize(scopes=["read:list_labs", "read:get_meds"])
    twin.authorize(scopes=["read:list_labs"])
    shown = run_cli("grants", home=home).stdout
    assert f"Claude ({client.client_id[:8]})" in shown
    assert f"Claude ({twin.client_id[:8]})" in shown
    assert run_cli("revoke", "--client", "Claude", home=home).returncode == 1  # ambiguous

    done = run_cli("revoke", "--client", client.client_id[:8], home=home)
    assert done.returncode == 0, done.stderr
    assert "2 grant(s)" in done.stdout and "registration is removed" in done.stdout
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    assert httpx2.post(server.mcp, json=call, headers=headers).status_code == 401
    assert client.refresh().status_code in (400, 401)
    assert [g for g in _grants(home, client) if g["revoked"] is None] == []
    assert [g for g in _grants(home, twin) if g["revoked"] is None] != []  # the twin is kept
