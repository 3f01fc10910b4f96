"""The SMART Health Link routes of remote mode: what a clinician's app asks of a share.

``POST /shl/{secret}/manifest`` (JSON: ``recipient``, ``passcode``, ``embeddedLengthMax``) and
``GET /shl/{secret}/file/{n}?ticket=…``, answered by ``healthlocker.sharing.Shares`` over the
vault (passcode tries, expiry, tickets and the audit entry of every answer are there). No
bearer token: the link is the capability, as the IG has it; the ``Guard`` in front still caps
bodies and rates. The links' other half, the key, never reaches this server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from healthlocker.server._state import ServerState

if TYPE_CHECKING:
    from healthlocker.sharing import Answer, Shares


class ShlRoutes:
    def __init__(self, state: ServerState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url

    def routes(self) -> list[Route]:
        return [
            Route("/shl/{secret}/manifest", self.manifest, methods=["POST"]),
            Route("/shl/{secret}/file/{n}", self.file, methods=["GET"]),
        ]

    async def manifest(self, request: Request) -> Response:
        secret = str(request.path_params["secret"])
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            body = None
        return await self._answer(
            lambda shares: shares.manifest(secret, body, base_url=self.base_url)
        )

    async def file(self, request: Request) -> Response:
        secret, n = str(request.path_params["secret"]), str(request.path_params["n"])
        ticket = request.query_params.get("ticket", "")
        index = int(n) if n.isdigit() and len(n) < 6 else -1
        return await self._answer(lambda shares: shares.file(secret, index, ticket))

    async def _answer(self, ask: Callable[[Shares], Answer]) -> Response:
        def run() -> Answer:
            from healthlocker.sharing import Shares

            return self.state.using(lambda vault: ask(Shares(vault)))

        answer = await anyio.to_thread.run_sync(run)
        return Response(answer.body, answer.status, media_type=answer.content_type)
