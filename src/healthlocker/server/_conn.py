"""Connections in remote mode: no client can hold the server's connections half-open.

Uvicorn answers 503 to everyone once 500 connections are open, and it waits for a request's
headers for as long as they take, so 520 connections that each sent half a request line
(slowloris) made every request fail for as long as they were held. This protocol, uvicorn's
own with two rules added (``serve_http`` passes it as uvicorn's ``http``), closes:

- a connection whose request head (request line and headers) is not complete 10 s after the
  connection opened, or after its first byte once it was idle between requests;
- a new connection from an address that already holds 64 open ones.

A reverse proxy in front holds every client's connections itself and opens its own to this
server, from its own address: the per-address rule then counts the proxy's (its keep-alive pool
should stay below 64), and the proxy's header timeouts protect it (``docs/remote.md``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.auto import AutoHTTPProtocol

HEAD_DEADLINE = 10.0
PER_ADDRESS = 64


class _Rules:
    """The two rules, as a mixin in front of uvicorn's protocol class."""

    open_per_address: ClassVar[Counter[str]] = Counter()  # this process's connections, by address
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any  # uvicorn's request-response cycle: set once a request head is complete

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if peer else "?"
        self._deadline: asyncio.TimerHandle | None = None
        self.open_per_address[self._address] += 1
        if self.open_per_address[self._address] > PER_ADDRESS:
            transport.abort()
            return
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._watch()  # the first bytes of a new request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.open_per_address[self._address] -= 1
        if self.open_per_address[self._address] <= 0:
            del self.open_per_address[self._address]
        super().connection_lost(exc)  # type: ignore[misc]

    def _watch(self) -> None:
        cycle = self.cycle
        self._deadline = self.loop.call_later(HEAD_DEADLINE, self._expire, cycle)

    def _expire(self, cycle: Any) -> None:
        self._deadline = None
        if self.cycle is cycle:  # no request head came in time
            self.transport.abort()


GuardedHTTPProtocol: type[asyncio.Protocol] = type(
    "GuardedHTTPProtocol", (_Rules, AutoHTTPProtocol), {}
)
