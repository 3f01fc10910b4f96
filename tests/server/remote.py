"""Remote-mode test helpers: a real `healthlocker serve --http` process and an OAuth client.

The client does what a hosted assistant does: dynamic registration, the authorization request
with PKCE S256, the person's answer on the consent page (here by posting the page's own form),
the code exchange, then MCP calls with the bearer token through the SDK's real HTTP client.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from helpers import PASSPHRASE, free_port

REDIRECT = "http://127.0.0.1:5599/callback"


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    stderr: Path

    @property
    def mcp(self) -> str:
        return self.base + "/mcp"

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(home: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`healthlocker serve --http` on a free loopback port, until the block ends."""
    port = free_port()
    log = home.parent / f"serve-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    full_env |= {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    full_env |= env or {}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "healthlocker.cli",
                "serve",
                "--http",
                "--port",
                str(port),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=full_env,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}: {server.log()}")
        try:
            if httpx2.get(server.base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy: " + server.log())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


@dataclass
class OAuthClient:
    """A registered client and, after ``authorize``, its tokens."""

    server: Server
    client_id: str = ""
    client_secret: str | None = None
    redirect_uri: str = REDIRECT
    tokens: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def register(cls, server: Server, name: str = "Test Assistant", **meta: Any) -> OAuthClient:
        body = {
            "client_name": name,
            "redirect_uris": [meta.pop("redirect_uri", REDIRECT)],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            **meta,
        }
        # Each from an address of its own: the server allows 10 registrations an hour from one.
        with httpx2.Client(transport=from_address(next_address()), timeout=10) as http:
            r = http.post(server.base + "/register", json=body)
        assert r.status_code == 201, r.text
        info = r.json()
        return cls(server, info["client_id"], info.get("client_secret"), body["redirect_uris"][0])

    def start(
        self,
        *,
        scopes: list[str] | None = None,
        redirect_uri: str | None = None,
        challenge: str,
        state: str = "st4te",
    ) -> httpx2.Response:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": self.server.mcp,
        }
        if scopes:
            params["scope"] = " ".join(scopes)
        return httpx2.get(self.server.base + "/authorize", params=params, timeout=10)

    def consent(self, consent_url: str, **choices: Any) -> httpx2.Response:
        """Answer the consent page as the person would (see :func:`answer_page`)."""
        return answer_page(self.server, consent_url, **choices)

    def authorize(
        self,
        *,
        scopes: list[str] | None = None,
        tools: list[str] | None = None,
        duration: str = "1h",
        window: str = "all",
    ) -> dict[str, Any]:
        verifier, challenge = pkce()
        start = self.start(scopes=scopes, challenge=challenge)
        assert start.status_code == 302, start.text
        answered = self.consent(
            start.headers["location"], tools=tools, duration=duration, window=window
        )
        assert answered.status_code == 303, answered.text
        code = code_from(answered.headers["location"])
        return self.exchange(code, verifier)

    def exchange(self, code: str, verifier: str, redirect_uri: str | None = None) -> dict[str, Any]:
        r = self.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "code_verifier": verifier,
                "resource": self.server.mcp,
            }
        )
        assert r.status_code == 200, r.text
        self.tokens = r.json()
        return self.tokens

    def token_request(self, data: dict[str, str]) -> httpx2.Response:
        return httpx2.post(
            self.server.base + "/token", data={"client_id": self.client_id, **data}, timeout=10
        )

    def refresh(self) -> httpx2.Response:
        r = self.token_request(
            {"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]}
        )
        if r.status_code == 200:
            self.tokens = r.json()
        return r


def answer_page(
    server: Server,
    url: str,
    *,
    tools: list[str] | None = None,
    duration: str = "1h",
    window: str = "all",
    action: str = "allow",
    passphrase: str = PASSPHRASE,
) -> httpx2.Response:
    """The person answers a consent page (an assistant's sign-in, or a tool call's request):
    load it, tick *tools* (None: every one offered), choose, type the passphrase, post."""
    with httpx2.Client(base_url=server.base, timeout=30) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)"', page.text))
        offered = re.findall(r'name="tool" value="(\w+)"', page.text)
        data: dict[str, Any] = {
            **fields,
            "duration": duration,
            "window": window,
            "passphrase": passphrase,
            "action": action,
            "tool": offered if tools is None else tools,
        }
        return browser.post("/consent", data=data)


_ADDRESSES = itertools.count(1)


def next_address() -> str:
    """A loopback address not used before in this test session (127.1.x.y)."""
    n = next(_ADDRESSES)
    return f"127.1.{n // 250 % 250}.{n % 250 + 1}"


def from_address(address: str) -> httpx2.HTTPTransport:
    """A transport whose connections come from *address* (any 127.x.y.z is this machine)."""
    return httpx2.HTTPTransport(local_address=address)


def code_from(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert "code" in query, location
    return query["code"][0]


@asynccontextmanager
async def mcp_client(url: str, token: str | None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), **kwargs) as client,
    ):
        yield client
