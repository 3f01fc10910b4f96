"""Remote mode end to end: a real `serve --http` process, real OAuth, the SDK's HTTP client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from mcp import MCPError
from mcp.types import ElicitResult

from healthlocker.server._oauth_store import OAuthStore
from healthlocker.store import Vault
from helpers import PASSPHRASE, run_cli
from server.remote import OAuthClient, Server, code_from, mcp_client, pkce, serving

pytestmark = pytest.mark.anyio
SAMPLE_WORDS = ("Hemoglobin", "Glucose", "Hartmann", "Considine", "mmol")


@pytest.fixture(scope="module")
def home(synthea_home: Path) -> Path:
    return synthea_home


@pytest.fixture(scope="module")
def labs_client(server: Server) -> OAuthClient:
    client = OAuthClient.register(server, "Labs Assistant")
    client.authorize(scopes=["read:list_labs", "read:get_meds"], duration="24h")
    return client


def no_data(response: httpx2.Response) -> None:
    assert not any(word in response.text for word in SAMPLE_WORDS)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_consented_client_reads_its_tools_in_both_eras(
    server: Server, labs_client: OAuthClient, home: Path, mode: str
) -> None:
    async with mcp_client(server.mcp, labs_client.tokens["access_token"], mode=mode) as client:
        listed = await client.list_tools()
        assert "list_labs" in {t.name for t in listed.tools}
        result = await client.call_tool("list_labs", {"limit": 3})
        assert not result.is_error
        assert result.structured_content["results"][0]["source"]
    audit = json.loads(run_cli("audit", "--json", home=home).stdout)
    assert audit[-1]["client"] == labs_client.client_id
    assert audit[-1]["tool"] == "list_labs"
    assert audit[-1]["outcome"] == "allowed"


async def test_a_tool_outside_the_tokens_scopes_is_403_insufficient_scope(
    server: Server, labs_client: OAuthClient
) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "explain_coverage", "arguments": {}},
    }
    r = httpx2.post(server.mcp, json=body, headers=_mcp_headers(labs_client.tokens["access_token"]))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert 'scope="read:explain_coverage"' in r.headers["www-authenticate"]
    no_data(r)
    async with mcp_client(server.mcp, labs_client.tokens["access_token"]) as client:
        with pytest.raises(MCPError):
            await client.call_tool("explain_coverage", {})


async def test_the_consent_scopes_are_what_the_person_ticked(server: Server) -> None:
    client = OAuthClient.register(server, "Picky")
    tokens = client.authorize(scopes=["read:list_labs", "read:get_meds"], tools=["get_meds"])
    assert tokens["scope"] == "read:get_meds"
    r = httpx2.post(
        server.mcp, json=_call("list_labs"), headers=_mcp_headers(tokens["access_token"])
    )
    assert r.status_code == 403


async def test_revoking_a_grant_with_the_cli_refuses_the_next_call(
    server: Server, home: Path
) -> None:
    client = OAuthClient.register(server, "Soon Revoked")
    tokens = client.authorize(scopes=["read:list_visits"])
    async with mcp_client(server.mcp, tokens["access_token"]) as mcp:
        assert not (await mcp.call_tool("list_visits", {"limit": 1})).is_error
        grants = json.loads(run_cli("grants", "--json", home=home).stdout)
        mine = [g for g in grants if g["client"] == client.client_id]
        assert len(mine) == 1
        assert run_cli("revoke", mine[0]["id"], home=home).returncode == 0
        refused = await mcp.call_tool("list_visits", {"limit": 1})
        assert refused.is_error
        assert "healthlocker grant list_visits" in refused.content[0].text


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_family(server: Server) -> None:
    client = OAuthClient.register(server, "Refresher")
    first = client.authorize(scopes=["read:list_labs"])
    assert client.refresh().status_code == 200
    second = client.tokens
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read:list_labs"
    client.tokens = first  # an attacker replays the old refresh token
    assert client.refresh().status_code == 400
    client.tokens = second  # ... and the family is gone for the legitimate holder too
    reply = client.refresh()
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_a_revoked_access_token_is_refused(server: Server) -> None:
    client = OAuthClient.register(server, "Revoker")
    tokens = client.authorize(scopes=["read:list_labs"])
    headers = _mcp_headers(tokens["access_token"])
    assert httpx2.post(server.mcp, json=_call("list_labs"), headers=headers).status_code == 200
    # The SDK's revocation form model wants client_secret present even for a public client.
    r = httpx2.post(
        server.base + "/revoke",
        data={"token": tokens["access_token"], "client_id": client.client_id, "client_secret": ""},
    )
    assert r.status_code == 200
    assert httpx2.post(server.mcp, json=_call("list_labs"), headers=headers).status_code == 401


# -- attacks on the resource server ------------------------------------------------------------


def _mcp_headers(token: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _call(tool: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {"limit": 2}},
    }


def _forge(home: Path, server: Server, **changes: Any) -> str:
    """A token signed with the server's own key (read from the vault), with chosen claims."""
    with Vault.open(home, prompt=lambda _: PASSPHRASE) as vault:
        body = OAuthStore(vault).get("key", "signing")
    assert body is not None
    key = ECKey.import_key(body["jwk"])
    now = int(time.time())
    claims = {
        "iss": server.base,
        "aud": server.mcp,
        "sub": "owner",
        "client_id": "forged",
        "scope": "read:list_labs",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "x",
    }
    claims.update(changes)
    return jwt.encode(
        {"alg": "ES256", "kid": key.kid}, {k: v for k, v in claims.items() if v is not None}, key
    )


def _none_token(server: Server) -> str:
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {
        "iss": server.base,
        "aud": server.mcp,
        "client_id": "x",
        "scope": "read:list_labs",
        "exp": int(time.time()) + 300,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "malformed",
        "alg none",
        "wrong signature",
        "wrong issuer",
        "wrong audience",
        "expired",
        "not yet valid",
    ],
)
def test_bad_tokens_get_401_pointing_at_the_metadata(server: Server, home: Path, case: str) -> None:
    now = int(time.time())
    other = ECKey.generate_key("P-256", parameters={"kid": "evil"})
    make = {
        "no token": lambda: None,
        "malformed": lambda: "not-a-jwt",
        "alg none": lambda: _none_token(server),
        "wrong signature": lambda: jwt.encode(
            {"alg": "ES256", "kid": "evil"},
            {
                "iss": server.base,
                "aud": server.mcp,
                "client_id": "x",
                "scope": "read:list_labs",
                "exp": now + 300,
            },
            other,
        ),
        "wrong issuer": lambda: _forge(home, server, iss="https://evil.example"),
        "wrong audience": lambda: _forge(home, server, aud="https://other.example/mcp"),
        "expired": lambda: _forge(home, server, exp=now - 3600, iat=now - 4000, nbf=now - 4000),
        "not yet valid": lambda: _forge(home, server, nbf=now + 3600),
    }[case]
    token = make()
    r = httpx2.post(server.mcp, json=_call("list_labs"), headers=_mcp_headers(token))
    assert r.status_code == 401
    assert "resource_metadata=" in r.headers["www-authenticate"]
    no_data(r)
    meta = httpx2.get(server.base + "/.well-known/oauth-protected-resource/mcp").json()
    assert meta["resource"] == server.mcp
    assert meta["authorization_servers"] == [server.base + "/"]


def test_a_forged_token_with_a_valid_signature_still_needs_a_grant(
    server: Server, home: Path
) -> None:
    r = httpx2.post(server.mcp, json=_call("list_labs"), headers=_mcp_headers(_forge(home, server)))
    assert r.status_code == 200
    assert r.json()["result"]["isError"] is True
    no_data(r)


def test_a_reused_code_and_a_wrong_verifier_are_refused(server: Server) -> None:
    client = OAuthClient.register(server, "Coder")
    verifier, challenge = pkce()
    start = client.start(scopes=["read:list_labs"], challenge=challenge)
    code = code_from(client.consent(start.headers["location"]).headers["location"])
    wrong = client.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": "x" * 50,
        }
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    client.exchange(code, verifier)
    again = client.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        }
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_redirect_uri_one_character_off_is_refused_without_redirecting(server: Server) -> None:
    client = OAuthClient.register(server, "Typo")
    _, challenge = pkce()
    r = client.start(challenge=challenge, redirect_uri=client.redirect_uri + "x")
    assert r.status_code == 400
    assert "location" not in r.headers


def test_registration_refuses_plain_http_redirects_off_loopback(server: Server) -> None:
    r = httpx2.post(
        server.base + "/register",
        json={
            "client_name": "bad",
            "redirect_uris": ["http://evil.example/cb"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_redirect_uri"


def test_bad_host_and_bad_origin_are_refused(server: Server, labs_client: OAuthClient) -> None:
    headers = _mcp_headers(labs_client.tokens["access_token"])
    r = httpx2.post(
        server.mcp, json=_call("list_labs"), headers={**headers, "Host": "evil.example"}
    )
    assert r.status_code == 421
    no_data(r)
    r = httpx2.post(
        server.mcp, json=_call("list_labs"), headers={**headers, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    no_data(r)


def test_a_5_mb_body_is_refused_413(server: Server, labs_client: OAuthClient) -> None:
    headers = {
        **_mcp_headers(labs_client.tokens["access_token"]),
        "Content-Type": "application/json",
    }
    r = httpx2.post(server.mcp, content=b" " * (5 * 1024 * 1024), headers=headers)
    assert r.status_code == 413


def test_a_body_in_1_byte_chunks_is_capped_too(server: Server, labs_client: OAuthClient) -> None:
    """No Content-Length: chunked transfer of 1-byte chunks past the cap, written in bulk."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(server.base).port
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {labs_client.tokens['access_token']}\r\n"
        "Accept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port or 0), timeout=30) as sock:
        sock.sendall(head.encode())
        chunk = b"1\r\n \r\n" * 65536
        reply = b""
        try:
            for _ in range(20):  # 1.25 MiB in 1-byte chunks: past the 1 MiB cap
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in reply:
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
        except OSError:
            pass
    assert reply.startswith(b"HTTP/1.1 413"), reply[:80]


def test_pages_carry_security_headers(server: Server) -> None:
    r = httpx2.get(server.base + "/account")
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none'
    assert r.headers["cache-control"] == "no-store"


def test_pages_let_browsers_send_their_origin_and_null_origins_are_refused(server: Server) -> None:
    """Regression: with the Guard's no-referrer on the pages, Chromium posted their forms with
    `Origin: null`, which the Origin allowlist refused; the pages now say same-origin."""
    page = httpx2.get(server.base + "/account")
    assert page.headers["referrer-policy"] == "same-origin"
    null = httpx2.post(server.base + "/login", data={"csrf": "x"}, headers={"Origin": "null"})
    assert null.status_code == 403


def test_the_consent_page_refuses_a_wrong_passphrase_and_a_forged_form(server: Server) -> None:
    client = OAuthClient.register(server, "Guesser")
    _, challenge = pkce()
    start = client.start(scopes=["read:list_labs"], challenge=challenge)
    wrong = client.consent(start.headers["location"], passphrase="not it at all")
    assert wrong.status_code == 200
    assert "does not unlock" in wrong.text
    request_id = start.headers["location"].split("request=")[1]
    forged = httpx2.post(
        server.base + "/consent",
        data={
            "request": request_id,
            "csrf": "guess",
            "action": "allow",
            "tool": "list_labs",
            "passphrase": PASSPHRASE,
        },
    )
    assert forged.status_code == 403


def test_deny_on_the_consent_page_redirects_with_access_denied(server: Server) -> None:
    client = OAuthClient.register(server, "Denied")
    _, challenge = pkce()
    start = client.start(scopes=["read:list_labs"], challenge=challenge, state="abc")
    answer = client.consent(start.headers["location"], action="deny")
    assert answer.status_code == 303
    assert "error=access_denied" in answer.headers["location"]
    assert "state=abc" in answer.headers["location"]
    assert "code=" not in answer.headers["location"]


def test_the_account_page_lists_and_revokes_grants(server: Server) -> None:
    client = OAuthClient.register(server, "Account Viewer")
    tokens = client.authorize(scopes=["read:list_conditions"])
    with httpx2.Client(base_url=server.base) as browser:
        page = browser.get("/account")
        csrf = page.text.split('name=csrf value="')[1].split('"')[0]
        assert (
            browser.post("/login", data={"csrf": csrf, "passphrase": PASSPHRASE}).status_code == 303
        )
        account = browser.get("/account")
        assert "Account Viewer" in account.text
        assert "Audit log" in account.text
        shown = f"Account Viewer ({client.client_id[:8]})"  # its own name and a short id
        grant = account.text.split(f"{shown}</td><td>Conditions")[1]
        grant_id = grant.split('name=grant value="')[1].split('"')[0]
        session_csrf = grant.split('name=csrf value="')[1].split('"')[0]
        revoked = browser.post("/account/revoke", data={"csrf": session_csrf, "grant": grant_id})
        assert revoked.status_code == 303
    r = httpx2.post(
        server.mcp, json=_call("list_conditions"), headers=_mcp_headers(tokens["access_token"])
    )
    assert r.json()["result"]["isError"] is True


def test_a_non_loopback_bind_without_tls_is_refused(home: Path) -> None:
    done = run_cli("serve", "--http", "--host", "0.0.0.0", home=home)
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("serve", "--http", "--public-url", "http://health.example.org", home=home)
    assert done.returncode == 1
    assert "must use https" in done.stderr


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_without_a_grant_clients_are_sent_to_the_consent_page_never_asked_a_form(
    server: Server, home: Path, mode: str
) -> None:
    """Stateless HTTP has no back-channel for a legacy elicitation request, and a remote client
    could answer a form itself: a 2026 client is asked to open the consent page (URL mode), and
    a legacy one is told the page's address and the grant command. (More: test_remote_consent.)
    """
    client = OAuthClient.register(server, f"Asked {mode}")
    tokens = client.authorize(scopes=["read:list_labs"])
    grants = json.loads(run_cli("grants", "--json", home=home).stdout)
    mine = [g["id"] for g in grants if g["client"] == client.client_id]
    assert run_cli("revoke", mine[0], home=home).returncode == 0
    asked: list[Any] = []

    async def answer(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action="decline")

    async with mcp_client(
        server.mcp, tokens["access_token"], mode=mode, elicitation_callback=answer
    ) as mcp:
        result = await mcp.call_tool("list_labs", {"limit": 1})
    assert result.is_error
    no_data_in(result.content[0].text)
    if mode == "legacy":
        text = result.content[0].text
        assert f"{server.base}/consent?request=" in text
        assert f"healthlocker grant list_labs --client {client.client_id}" in text
        assert asked == []
    else:
        assert [p.mode for p in asked] == ["url"]
        assert asked[0].url.startswith(f"{server.base}/consent?request=")
        assert "list_labs" in asked[0].message
        assert "dismissed" in result.content[0].text
    grants = json.loads(run_cli("grants", "--json", home=home).stdout)
    assert not [g for g in grants if g["client"] == client.client_id and g["revoked"] is None]


def no_data_in(text: str) -> None:
    assert not any(word in text for word in SAMPLE_WORDS)


def test_a_body_that_trickles_in_is_cut_off(server: Server, labs_client: OAuthClient) -> None:
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(server.base).port or 0
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {labs_client.tokens['access_token']}\r\n"
        "Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n"
    )
    started = time.monotonic()
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        sock.settimeout(1.5)
        while not reply and time.monotonic() - started < 25:
            try:
                sock.sendall(b" ")  # one byte every 1.5 s: 100 bytes would take 150 s
                reply = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
    assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
    assert time.monotonic() - started < 25


def test_sigterm_lets_the_server_stop_gracefully(home: Path) -> None:
    with serving(home) as server:
        client = OAuthClient.register(server, "Goodbye")
        client.authorize(scopes=["read:list_labs"])
        server.process.terminate()
        # uvicorn finishes in-flight requests, then re-raises the signal it caught.
        assert server.process.wait(timeout=20) in (0, -15)
        assert "Traceback" not in server.log()
    verified = run_cli("audit", "--verify", home=home)
    assert verified.returncode == 0, verified.stderr
