"""Transport safety for remote mode, as one ASGI middleware in front of every route.

- Host and Origin allowlists (DNS rebinding), built from ``--public-url`` and the bind address.
- Request bodies are read here, before any route sees them, against a size cap and a deadline:
  a declared ``Content-Length`` over the cap, a chunked body that grows past it (however small
  its chunks) or a body that trickles in slower than the deadline is refused without reaching
  the app.
- A JSON body nested deeper than 64 levels is refused before anything parses it (a deeply
  nested body would otherwise reach Python's recursion limit in a parser).
- Rate limits per client: a token bucket for each OAuth client whose bearer token is valid,
  and one per address for everything else (a fresh made-up token per request shares its
  address's bucket). Registrations (``/register``) have a stricter bucket per address: 10 at
  once, then one every 6 minutes. (Passphrase tries have their own: see ``_passphrase``.)
- Security headers on every response: no framing, no sniffing, no referrer, no caching, a
  locked-down default Content-Security-Policy (pages that need more set their own).
Limits are per worker process: with N workers a client gets at most N times the rate.
"""

from __future__ import annotations

import json
import math
import re
import time
from array import array
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import anyio
import anyio.to_thread

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MCP_BODY_LIMIT = 1024 * 1024
FORM_BODY_LIMIT = 64 * 1024
BODY_DEADLINE = 10.0
MAX_DEPTH = 64
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# JSON strings (closed, or running to the end), whose brackets do not nest anything.
_STRINGS = re.compile(rb'(?s)"(?:[^"\\]|\\.)*+(?:"|\Z)')
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
Identify = Callable[[str], Awaitable[str | None]]
"""The OAuth client a bearer token was validly issued to, or None."""


@dataclass
class GuardSettings:
    allowed_hosts: frozenset[str]
    allowed_origins: frozenset[str]
    mcp_path: str = "/mcp"
    rate: float = 50.0  # requests per second, sustained, per token or address
    burst: int = 100
    hsts: bool = False
    body_deadline: float = BODY_DEADLINE
    identify: Identify | None = None


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    rate: float
    burst: int
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, *, spend: bool = True) -> float:
        """0 when allowed (spending a token unless told not to); else the seconds to wait."""
        now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) > 10_000:
                self.buckets.clear()  # bounded memory under address churn
            bucket = self.buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1 if spend else 0
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        """Return a token taken for something that turned out not to count."""
        bucket = self.buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + 1)


class Guard:
    def __init__(self, app: ASGIApp, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings
        self.calls = RateLimiter(settings.rate, settings.burst)
        self.registrations = RateLimiter(rate=1 / 360, burst=10)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(headers) or await self._over_rate(scope, headers)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            limit = MCP_BODY_LIMIT if scope["path"] == self.settings.mcp_path else FORM_BODY_LIMIT
            body, problem = await self._read_body(receive, headers, limit)
            if problem is None and "json" in headers.get("content-type", ""):
                problem = await _nesting(body)
            if problem is not None:
                await _plain(send, *problem)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[str, str]) -> tuple[int, str, dict[str, str]] | None:
        if headers.get("host", "").lower() not in self.settings.allowed_hosts:
            return 421, "This host name is not served here.", {}
        origin = headers.get("origin")
        if origin is not None and origin.lower().rstrip("/") not in self.settings.allowed_origins:
            return 403, "Cross-origin requests from this origin are not allowed.", {}
        return None

    async def _over_rate(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]] | None:
        address = (scope.get("client") or ("?", 0))[0]
        if scope["path"] == "/register" and scope["method"] == "POST":
            wait = self.registrations.take(address)
            if wait:
                return _too_many("Too many registrations from this address", wait)
        auth = headers.get("authorization", "")
        client = None
        if auth[:7].lower() == "bearer " and self.settings.identify is not None:
            client = await self.settings.identify(auth[7:].strip())
        wait = self.calls.take(f"client:{client}" if client else f"addr:{address}")
        return _too_many("Too many requests; slow down", wait) if wait else None

    async def _read_body(
        self, receive: Receive, headers: dict[str, str], limit: int
    ) -> tuple[bytes, tuple[int, str, dict[str, str]] | None]:
        too_big = (413, f"Request body over {limit} bytes.", {"connection": "close"})
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return b"", too_big
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.settings.body_deadline) as timer:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return b"", (400, "The client went away.", {})
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return b"", too_big
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if timer.cancelled_caught:
            return b"", (408, "The request body came too slowly.", {"connection": "close"})
        return b"".join(chunks), None

    def _with_headers(self, send: Send) -> Send:
        hsts = self.settings.hsts

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"cache-control": b"no-store",
                    b"content-security-policy": DEFAULT_CSP.encode(),
                }
                if hsts:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra.items() if k not in present),
                ]
            await send(message)

        return sender


def _too_many(what: str, wait: float) -> tuple[int, str, dict[str, str]]:
    seconds = math.ceil(wait)
    return 429, f"{what}; try again in {seconds} s.", {"retry-after": str(seconds)}


async def _nesting(body: bytes) -> tuple[int, str, dict[str, str]] | None:
    """A 400 when *body* (JSON) nests deeper than MAX_DEPTH (a big body is measured on a
    worker thread, off the event loop)."""
    deep = (
        await anyio.to_thread.run_sync(depth, body) if len(body) > 65536 else depth(body)
    ) > MAX_DEPTH
    return (400, f"The request nests deeper than {MAX_DEPTH} levels.", {}) if deep else None


def depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not
    count), in linear time."""
    if b'"' in body:
        body = _STRINGS.sub(b"", body)
    brackets = body.translate(_SIGNS, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets)), default=0)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then wait for the disconnect, as the server would report it

    return replay


async def _plain(send: Send, status: int, text: str, headers: dict[str, str]) -> None:
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((k.encode(), v.encode()) for k, v in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
