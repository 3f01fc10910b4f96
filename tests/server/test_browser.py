"""The whole OAuth dance of remote mode with the real pages in real headless Chromium.

Python is the assistant: it registers, builds the authorization URL with PKCE, listens on its
redirect URI, exchanges the code, calls tools, refreshes and revokes. ``browser_dance.mjs``
(playwright-core driving Debian's chromium) is the person: the consent page, the account page,
and the consent page a tool call sends them to through URL-mode elicitation. Screenshots of each
page at a desktop's and a phone's width go to tests/output/browser/ for review (the vault holds
only the synthetic Synthea samples).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio.to_thread
import httpx2
import pytest
from mcp.types import ElicitResult

from helpers import NODE_MODULES, PASSPHRASE, ROOT, chromium, node_binary
from server.remote import OAuthClient, Server, mcp_client, pkce

pytestmark = pytest.mark.anyio
DANCE = Path(__file__).with_name("browser_dance.mjs")
OUTPUT = ROOT / "tests" / "output" / "browser"
ASKED = ["list_labs", "get_meds", "list_conditions"]
UNTICKED = "get_meds"


@dataclass
class Callback:
    """The client's redirect URI: a loopback listener that keeps each query it receives."""

    url: str
    queries: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def callback_listener() -> Iterator[Callback]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":  # the browser's own /favicon.ico, say
                self.send_error(404)
                return
            seen.queries.append({k: v[0] for k, v in parse_qs(parts.query).items()})
            body = b"<!doctype html><title>Signed in</title><p>You can close this window."
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen = Callback(f"http://127.0.0.1:{listener.server_address[1]}/callback")
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=10)


def browser(step: str, plan: dict[str, Any]) -> dict[str, Any]:
    """Run one step of browser_dance.mjs; its JSON report."""
    done = subprocess.run(
        [str(node_binary()), str(DANCE), str(NODE_MODULES), step],
        input=json.dumps({"chromium": chromium(), **plan}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"browser step {step!r} failed:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def authorize_url(server: Server, client: OAuthClient, challenge: str, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "resource": server.mcp,
        "scope": " ".join(f"read:{tool}" for tool in ASKED),
    }
    return f"{server.base}/authorize?{urlencode(params)}"


async def test_the_oauth_dance_in_headless_chromium(server: Server) -> None:
    chromium()  # fail at once, with the remedy, when there is no browser
    OUTPUT.mkdir(parents=True, exist_ok=True)
    client = consent_in_the_browser(server)
    first = client.tokens["access_token"]
    await calls_work_within_the_consent(server, first)
    assert client.refresh().status_code == 200
    access = client.tokens["access_token"]
    assert access != first
    await calls_work_within_the_consent(server, access)

    account = browser(
        "account",
        {
            "base": server.base,
            "passphrase": PASSPHRASE,
            "client": "Browser Assistant",
            "tool": "Lab results",  # the page names tools in the person's words
            "screenshot": str(OUTPUT / "account.png"),
        },
    )
    check_account_page(account, client)
    async with mcp_client(server.mcp, access) as mcp:
        refused = await mcp.call_tool("list_labs", {"limit": 1})
        assert refused.is_error
        assert f"{server.base}/consent?request=" in refused.content[0].text
        assert "healthlocker grant list_labs" in refused.content[0].text
        assert not (await mcp.call_tool("list_conditions", {})).is_error  # only one was revoked
    await consent_to_a_call_in_the_browser(server, access)

    revoked = httpx2.post(
        server.base + "/revoke",
        # The SDK's revocation form wants client_secret present, even for a public client.
        data={
            "token": client.tokens["refresh_token"],
            "client_id": client.client_id,
            "client_secret": "",
        },
    )
    assert revoked.status_code == 200
    again = client.refresh()
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def consent_in_the_browser(server: Server) -> OAuthClient:
    """Register, let the browser answer the consent page, exchange the code it brought back."""
    with callback_listener() as callback:
        client = OAuthClient.register(server, "Browser Assistant", redirect_uri=callback.url)
        verifier, challenge = pkce()
        seen = browser(
            "consent",
            {
                "url": authorize_url(server, client, challenge, "br0wser"),
                "tick": [tool for tool in ASKED if tool != UNTICKED],
                "duration": "24h",
                "window": "12",
                "passphrase": PASSPHRASE,
                "callback": callback.url,
                "screenshot": str(OUTPUT / "consent.png"),
            },
        )
    check_consent_page(seen)
    assert seen["landed"].startswith(callback.url + "?")
    assert [q["state"] for q in callback.queries] == ["br0wser"]
    tokens = client.exchange(callback.queries[0]["code"], verifier)
    allowed = [tool for tool in ASKED if tool != UNTICKED]
    assert sorted(tokens["scope"].split()) == sorted(f"read:{tool}" for tool in allowed)
    return client


def check_consent_page(seen: dict[str, Any]) -> None:
    assert seen["status"] == 200
    assert seen["title"] == "Signed in"  # the browser followed the redirect to the client
    assert urlsplit(seen["consentUrl"]).path == "/consent"
    assert seen["offered"] == ASKED
    # The narrowest defaults: nothing ticked, the shortest time, the shortest period.
    assert seen["defaults"] == {"tools": [], "duration": "1h", "window": "3"}
    # A wrong passphrase keeps every choice (it used to reset them to the widest).
    assert "does not unlock" in seen["wrong"]["error"]
    ticked = [tool for tool in ASKED if tool != UNTICKED]
    assert seen["wrong"]["kept"] == {"tools": ticked, "duration": "24h", "window": "12"}
    said = seen["said"]
    assert "calls itself Browser Assistant" in said
    assert "the name it gave itself; healthlocker cannot check it" in said
    assert "the assistant's provider" in said
    assert "your lab results" in said  # each tool in plain words (the catalogue's purpose)
    assert "Browser Assistant, on this computer" in said
    assert "127.0.0.1" not in said  # no raw loopback address
    assert seen["styled"], "the stylesheet did not apply under the page's CSP"
    assert problems(seen["messages"]) == [], "console errors (CSP violations?) on the consent page"
    assert seen["headers"]["xfo"] == "DENY"
    assert "frame-ancestors 'none'" in seen["headers"]["csp"]
    framed = seen["framed"]
    assert framed["refused"], f"the consent page loaded inside a frame: {framed['messages']}"
    assert framed["passphraseFields"] <= 0
    for width in ("desktop", "phone"):
        assert (OUTPUT / f"consent-{width}.png").stat().st_size > 5000


async def calls_work_within_the_consent(server: Server, token: str) -> None:
    async with mcp_client(server.mcp, token) as mcp:
        labs = await mcp.call_tool("list_labs", {"limit": 2})
        assert not labs.is_error, labs.content
        # The samples end in 2021: the 12-month window the person picked leaves nothing to read.
        assert labs.structured_content["results"] == []
    unticked = httpx2.post(
        server.mcp,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": UNTICKED, "arguments": {}},
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    assert unticked.status_code == 403
    assert f'scope="read:{UNTICKED}"' in unticked.headers["www-authenticate"]


def check_account_page(seen: dict[str, Any], client: OAuthClient) -> None:
    assert seen["login"] == "Unlock your healthlocker"
    assert seen["title"] == "Your healthlocker"
    shown = f"Browser Assistant ({client.client_id[:8]})"  # its own name and a short id
    mine = [row for row in seen["grants"] if row[0] == shown]
    assert sorted(row[1] for row in mine) == ["Conditions", "Lab results"]
    for row in mine:  # the 12 months and the 24 hours picked on the consent page
        records, until_text = row[2].split("until ")
        assert records.strip() == "the last 12 months"
        until = datetime.fromisoformat(until_text.removesuffix(" UTC")).replace(tzinfo=UTC)
        assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    [assistant] = [row for row in seen["assistants"] if row[0] == shown]
    assert assistant[1] == datetime.now(UTC).date().isoformat()  # registered today
    assert "Revoke everything" in assistant[3]
    call = [shown, "Lab results", "allowed"]
    calls = [row for row in seen["audit"] if row[2:5] == call]
    assert len(calls) == 2  # one call with the first token, one after the refresh
    assert "intact" in seen["intact"]
    assert [row[1] for row in seen["after"] if row[0] == shown] == ["Conditions"]
    assert seen["styled"]
    assert problems(seen["messages"]) == [], "console errors (CSP violations?) on the account page"
    for width in ("desktop", "phone"):
        assert (OUTPUT / f"account-{width}.png").stat().st_size > 5000


async def consent_to_a_call_in_the_browser(server: Server, token: str) -> None:
    """A tool call no grant covers: the client (2026-07-28) opens the page the server names
    (URL-mode elicitation), and the person answers there, in the browser."""
    seen: list[dict[str, Any]] = []

    async def open_the_page(ctx: Any, params: Any) -> ElicitResult:
        assert params.mode == "url"
        plan = {
            "url": params.url,
            "duration": "once",
            "window": "3",
            "passphrase": PASSPHRASE,
            "screenshot": str(OUTPUT / "call.png"),
            "doneScreenshot": str(OUTPUT / "call-done.png"),
        }
        seen.append(await anyio.to_thread.run_sync(lambda: browser("call", plan)))
        return ElicitResult(action="accept")

    async with mcp_client(
        server.mcp, token, mode="2026-07-28", elicitation_callback=open_the_page
    ) as mcp:
        labs = await mcp.call_tool("list_labs", {"limit": 2})
    assert not labs.is_error, labs.content
    [page] = seen
    assert page["status"] == 200
    # Only the tool the call asked for is ticked; just this once; the last 3 months.
    assert page["defaults"] == {"tools": ["list_labs"], "duration": "once", "window": "3"}
    assert "calls itself Browser Assistant" in page["said"]
    assert "Done" in page["done"]
    assert page["styled"]
    assert problems(page["messages"]) == [], "console errors on the call's consent page"
    for name in ("call-desktop", "call-phone", "call-done-desktop", "call-done-phone"):
        assert (OUTPUT / f"{name}.png").stat().st_size > 5000


def problems(messages: list[str]) -> list[str]:
    """Console errors and warnings, less the 404 of the browser's own /favicon.ico request (the
    pages link no icon). Chromium reports every CSP violation as a console error."""
    return [m for m in messages if not (" 404 " in m and m.endswith("/favicon.ico"))]
