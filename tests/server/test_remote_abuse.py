"""Remote-mode abuse (issue 19), each attack performed against a real `serve --http`.

Different clients come from different loopback addresses (any 127.x.y.z is this machine), as
they would from different machines: the attacker's address is never the person's.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from healthlocker.server._oauth_store import OAuthStore
from healthlocker.store import Vault
from helpers import PASSPHRASE
from server.remote import (
    REDIRECT,
    OAuthClient,
    Server,
    from_address,
    next_address,
    pkce,
    serving,
)

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}


@pytest.fixture
def fresh(synthea_home: Path) -> Iterator[Server]:
    """A server of its own, whose rate limits nobody else has spent."""
    with serving(synthea_home) as s:
        yield s


def _from(address: str) -> httpx2.Client:
    return httpx2.Client(transport=from_address(address), timeout=30)


def _call(tool: str = "list_labs") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {"limit": 1}},
    }


# -- connections ----------------------------------------------------------------------------


def test_520_half_open_requests_from_one_address_do_not_shut_anyone_out(server: Server) -> None:
    """Slowloris: each connection sends half a request and waits. Uvicorn answered 503 to every
    request while 500 were held. Now one address keeps at most 64, and a request head must be
    complete within 10 s."""
    port = urlsplit(server.base).port or 0
    attacker = next_address()
    held: list[socket.socket] = []
    try:
        for _ in range(520):
            sock = socket.socket()
            sock.bind((attacker, 0))
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            except OSError:
                sock.close()  # refused at once: more than this address may hold
                continue
            held.append(sock)
        started = time.monotonic()
        with _from(next_address()) as person:
            assert person.get(server.base + "/healthz").status_code == 200
        assert time.monotonic() - started < 5
        time.sleep(11)  # past the 10 s a request head may take
        still_open = 0
        for sock in held:
            try:
                sock.settimeout(0.5)
                still_open += sock.recv(1) != b""
            except TimeoutError:
                still_open += 1
            except OSError:
                pass  # reset: closed by the server
        assert still_open == 0
    finally:
        for sock in held:
            sock.close()


# -- registration ---------------------------------------------------------------------------


def test_registrations_from_one_address_are_limited_and_expire_unless_allowed(
    server: Server, synthea_home: Path
) -> None:
    """187 registrations from one address filled the 200-client cap for good."""
    body = {
        "client_name": "Filler",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    }
    with _from(next_address()) as attacker:
        codes = [attacker.post(server.base + "/register", json=body) for _ in range(14)]
    assert [r.status_code for r in codes] == [201] * 10 + [429] * 4
    assert "Too many registrations" in codes[-1].text
    person = OAuthClient.register(server, "The Persons Assistant")  # from another address
    filler = codes[0].json()["client_id"]
    with Vault.open(synthea_home, prompt=lambda _: PASSPHRASE) as vault:
        table = vault.table("oauth")
        left = table.get(("client", filler), "expires")
        kept = table.get(("client", person.client_id), "expires")
    assert left is not None and 0 < left[0] - time.time() <= 3600  # gone within the hour
    person.authorize(scopes=["read:list_labs"])
    with Vault.open(synthea_home, prompt=lambda _: PASSPHRASE) as vault:
        kept = vault.table("oauth").get(("client", person.client_id), "expires")
    assert kept == (None,)  # allowed something: it stays until the person removes it

    with _from(next_address()) as browser:
        _sign_in(server, browser)
        account = browser.get(server.base + "/account").text
        assert f"Filler ({filler[:8]})" in account
        assert "its registration ends within an hour" in account
        csrf = account.split('name=csrf value="')[1].split('"')[0]
        removed = browser.post(
            server.base + "/account/client", data={"csrf": csrf, "client": filler}
        )
        assert removed.status_code == 303
        assert f"Filler ({filler[:8]})" not in browser.get(server.base + "/account").text
    with Vault.open(synthea_home, prompt=lambda _: PASSPHRASE) as vault:
        assert OAuthStore(vault).get("client", filler) is None


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("redirect_uris", ["https://claude.ai@evil.example/cb"], "invalid_redirect_uri"),
        ("client_name", "[/link]", "invalid_client_metadata"),
        ("client_name", "[conceal]Claude", "invalid_client_metadata"),
    ],
)
def test_registration_refuses_user_info_in_redirects_and_markup_in_names(
    server: Server, field: str, value: Any, error: str
) -> None:
    body = {"client_name": "Fine", "redirect_uris": [REDIRECT], field: value}
    with _from(next_address()) as http:
        r = http.post(server.base + "/register", json=body)
    assert r.status_code == 400
    assert r.json()["error"] == error


def test_the_metadata_lists_none_for_public_clients(server: Server) -> None:
    meta = httpx2.get(server.base + "/.well-known/oauth-authorization-server").json()
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert meta["authorization_endpoint"] == server.base + "/authorize"


# -- /authorize -----------------------------------------------------------------------------


def test_authorize_errors_show_a_page_for_clients_never_allowed_anything(server: Server) -> None:
    """A bad scope redirected the browser to any registered https URI without a word: an open
    redirect anyone could register."""
    evil = OAuthClient.register(server, "Bouncer", redirect_uri="https://evil.example/cb")
    _, challenge = pkce()
    r = evil.start(scopes=["read:everything"], challenge=challenge)
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "evil.example" not in r.text and "Nothing was shared" in r.text

    allowed = OAuthClient.register(server, "Allowed Before")
    allowed.authorize(scopes=["read:list_labs"])
    _, challenge = pkce()
    r = allowed.start(scopes=["read:everything"], challenge=challenge)
    assert r.status_code == 302  # OAuth's own error redirect, to a client the person knows
    assert r.headers["location"].startswith(REDIRECT + "?error=invalid_scope")


# -- bodies and rates -----------------------------------------------------------------------


def test_a_deeply_nested_body_is_refused_400_not_a_recursion_error(server: Server) -> None:
    client = OAuthClient.register(server, "Nester")
    tokens = client.authorize(scopes=["read:list_labs"])
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"}
    deep = "[" * 50_000 + "]" * 50_000
    body = (
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_labs",'
        f'"arguments":{{"test":{deep}}}}}}}'
    )
    r = httpx2.post(
        server.mcp, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert "nests deeper than 64" in r.text
    r = httpx2.post(
        server.base + "/register",
        content='{"client_name":' + "[" * 20_000 + "]" * 20_000 + "}",  # under 64 KiB
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    fine = httpx2.post(server.mcp, json=_call(), headers=headers)  # the server is unharmed
    assert fine.status_code == 200
    assert "RecursionError" not in server.log() and "Traceback" not in server.log()


def test_a_fresh_bogus_bearer_per_request_shares_its_address_bucket(fresh: Server) -> None:
    """Rate buckets were keyed on the Authorization header: a made-up token per request got a
    fresh bucket each time. Now only a valid token gets a bucket of its own."""
    client = OAuthClient.register(fresh, "Legit")
    tokens = client.authorize(scopes=["read:list_labs"])
    with _from(next_address()) as attacker:
        codes = [
            attacker.post(
                fresh.mcp,
                json=_call(),
                headers={**MCP_HEADERS, "Authorization": f"Bearer {secrets.token_hex(16)}"},
            ).status_code
            for _ in range(130)
        ]
        assert set(codes) == {401, 429}
        # The same address with a valid token: the client's own bucket.
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"}
        assert attacker.post(fresh.mcp, json=_call(), headers=headers).status_code == 200


# -- the passphrase -------------------------------------------------------------------------


def _sign_in(
    server: Server, browser: httpx2.Client, passphrase: str = PASSPHRASE
) -> httpx2.Response:
    page = browser.get(server.base + "/account")
    csrf = page.text.split('name=csrf value="')[1].split('"')[0]
    return browser.post(server.base + "/login", data={"csrf": csrf, "passphrase": passphrase})


def test_passphrase_tries_are_limited_per_address_with_a_clear_wait(fresh: Server) -> None:
    with _from(next_address()) as guesser:
        said = [_sign_in(fresh, guesser, f"guess {n}").text for n in range(5)]
        assert all("does not unlock" in text for text in said)
        right = _sign_in(fresh, guesser)  # even the right one waits now
        assert right.status_code == 401
        assert "Too many tries; wait" in right.text and "does not unlock" not in right.text
    with _from(next_address()) as owner:  # the owner, elsewhere, is not locked out
        assert _sign_in(fresh, owner).status_code == 303


def test_many_addresses_do_not_multiply_guesses_nor_slow_the_tools(fresh: Server) -> None:
    """8 loopback addresses gave 40 guesses in 6 s, and each guess held the vault lock (a
    tool call took 2.25 s instead of 5 ms)."""
    client = OAuthClient.register(fresh, "Busy Tools")
    tokens = client.authorize(scopes=["read:list_labs"])
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx2.post(fresh.mcp, json=_call(), headers=headers).status_code == 200  # warm
    said: list[str] = []

    def guess(address: str) -> None:
        with _from(address) as guesser:
            for n in range(5):
                said.append(_sign_in(fresh, guesser, f"guess {n}").text)

    threads = [threading.Thread(target=guess, args=(next_address(),)) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.5)  # the guesses are under way
    call_started = time.monotonic()
    assert httpx2.post(fresh.mcp, json=_call(), headers=headers).status_code == 200
    call_took = time.monotonic() - call_started
    for t in threads:
        t.join(timeout=120)
    took = time.monotonic() - started
    tried = sum("does not unlock" in text for text in said)
    waited = sum("Too many tries" in text for text in said)
    assert tried + waited == 40
    assert tried <= 20 + took * 0.5 + 1  # everyone's bucket: 20, then one every 2 s
    assert waited >= 40 - tried > 0
    assert call_took < 1.0, f"a tool call waited {call_took:.2f} s behind passphrase guesses"


def test_behind_a_proxy_on_this_machine_one_guesser_does_not_lock_the_owner_out(
    synthea_home: Path,
) -> None:
    """Behind a same-host proxy every request came from 127.0.0.1: five wrong guesses locked
    the owner out. With an https public URL the proxy's X-Forwarded-For counts."""
    with serving(synthea_home, "--public-url", "https://health.example.org") as server:
        guesser = {"Host": "health.example.org", "X-Forwarded-For": "203.0.113.5"}
        for n in range(6):
            said = _sign_in_via_proxy(server, guesser, f"guess {n}")
        assert "Too many tries" in said.text
        owner = {"Host": "health.example.org", "X-Forwarded-For": "198.51.100.7"}
        assert _sign_in_via_proxy(server, owner, PASSPHRASE).status_code == 303


def _sign_in_via_proxy(server: Server, headers: dict[str, str], passphrase: str) -> httpx2.Response:
    """Sign in as a browser behind the proxy would. The pages' cookies are Secure (the public
    URL is https), so the form's cookie is sent back by hand over this plain loopback hop."""
    headers = {**headers, "X-Forwarded-Proto": "https"}
    page = httpx2.get(server.base + "/account", headers=headers)
    csrf = page.text.split('name=csrf value="')[1].split('"')[0]
    cookie = {"Cookie": f"hl_login={csrf}"}
    return httpx2.post(
        server.base + "/login",
        data={"csrf": csrf, "passphrase": passphrase},
        headers={**headers, **cookie},
    )
