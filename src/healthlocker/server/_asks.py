"""Consent over HTTP: the person answers on this server's own page, never the client.

A remote client can answer an elicitation form itself, so over Streamable HTTP a tool call that
no live grant covers is never offered one. It gets a consent request, an *ask*: a link to this
server's consent page, which only the person can answer (it asks for the vault passphrase).

- A client that can open links (URL-mode elicitation, MCP 2026-07-28): the call returns an
  ``InputRequiredResult`` whose one request is the page's address. When the client retries, the
  person's answer on the page decides: a grant, just this once, or no. A retry before they have
  answered waits a little, then says "still waiting" (the same request, no new question).
- With an older client that declares URL mode, the call ends in the protocol's
  "URL elicitation required" error (-32042) carrying the address; the client opens it and calls
  again. Any other client is refused with the address in the message, and the exact
  ``healthlocker grant`` command.

An ask lives sealed in the ``oauth`` table for 10 minutes; there is one waiting per client and
tool, and its answer is used once. The address holds a token derived from a random nonce with
the index key, and the row is found by a digest of that token, so the vault file never holds
a usable address.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from mcp import UrlElicitationRequiredError
from mcp.server.mcpserver import Context
from mcp.types import ElicitRequest, ElicitRequestURLParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least

from healthlocker.consent import AuditEvent, Decision, grant_command
from healthlocker.errors import DeclinedError, RefusedError
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._registry import label_of

if TYPE_CHECKING:
    from healthlocker.catalogue import ToolSpec
    from healthlocker.server._state import ServerState

ASK_TTL = 600
WAIT = 5.0  # how long a retry waits for the person's answer before saying "still waiting"
_KEY = "consent"
_ASKED, _WAITING = "consent:asked", "consent:waiting"  # request_state (sealed by the SDK)
_MODERN = "2026-07-28"
Answer = Literal["pending", "once", "denied", "granted"]


@dataclass(frozen=True)
class Ask:
    token: str
    client_id: str
    tool: str
    csrf: str
    answer: Answer


class Asks:
    """The asks of tool calls, over the OAuth store (callers hold the server's vault lock)."""

    def __init__(self, page_url: str) -> None:
        self.page_url = page_url

    def url(self, token: str) -> str:
        return f"{self.page_url}?request={token}"

    def open(self, s: OAuthStore, *, client: str, tool: str) -> str:
        """The address of the waiting ask for this client and tool (made if there is none)."""
        for _, body in self._of(s, client, tool):
            if body["answer"] == "pending":
                return self.url(self._token(s, body["nonce"]))
        nonce = new_secret()
        token = self._token(s, nonce)
        body = {"client_id": client, "tool": tool, "nonce": nonce, "csrf": new_secret()}
        s.put("ask", s.secret_id(token), {**body, "answer": "pending"}, ASK_TTL)
        return self.url(token)

    def get(self, s: OAuthStore, token: str) -> Ask | None:
        body = s.get("ask", s.secret_id(token))
        if body is None:
            return None
        return Ask(token, body["client_id"], body["tool"], body["csrf"], body["answer"])

    def answer(self, s: OAuthStore, ask: Ask, answer: Answer, window: str = "all") -> None:
        """The person's answer on the page (a lasting grant is stored by the caller)."""
        row_id = s.secret_id(ask.token)
        body = s.get("ask", row_id)
        if body is not None:
            s.put("ask", row_id, {**body, "answer": answer, "window": window}, ASK_TTL)

    def settle(self, s: OAuthStore, *, client: str, tool: str) -> tuple[Answer, str] | None:
        """Take the person's answer to an ask of this client and tool, if there is one:
        ("once", window), ("denied", ""), or ("granted", "") (the grant decides)."""
        with s.vault.transaction():
            for row_id, body in self._of(s, client, tool):
                if body["answer"] != "pending":
                    s.delete("ask", row_id)
                    return body["answer"], str(body.get("window") or "all")
        return None

    def drop(self, s: OAuthStore, *, client: str, tool: str) -> None:
        for row_id, _ in self._of(s, client, tool):
            s.delete("ask", row_id)

    @staticmethod
    def _of(s: OAuthStore, client: str, tool: str) -> list[tuple[str, dict[str, Any]]]:
        return [(r, b) for r, b in s.all("ask") if b["client_id"] == client and b["tool"] == tool]

    @staticmethod
    def _token(s: OAuthStore, nonce: str) -> str:
        digest = s.vault.digest(b"ask-url" + nonce.encode())
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def remote_consent(
    state: ServerState, ctx: Context, *, client: str, tool: ToolSpec, arguments: dict[str, Any]
) -> Decision | InputRequiredResult | None:
    """Consent for a tool call over HTTP: None when a live grant decides, the person's
    just-this-once decision, or the request to ask them (2026-07-28); else the call is refused
    (audited) with the page's address."""
    asks = state.asks
    if asks is None:  # an external identity provider: no page here to ask on
        if not state.decide(client=client, tool=tool.name).allowed:
            _refuse(state, client, tool, arguments, None, client)
        return None
    reply = (ctx.input_responses or {}).get(_KEY)
    if isinstance(reply, ElicitResult) and reply.action != "accept":
        state.using(lambda v: asks.drop(OAuthStore(v), client=client, tool=tool.name))
        _decline(state, client, tool, arguments, "dismissed the request")
    # The client opened the page (it accepted the request, or retries while the person answers).
    opened = isinstance(reply, ElicitResult) or ctx.request_state == _WAITING
    deadline = time.monotonic() + (WAIT if opened else 0)
    while True:
        decided = _decided(state, asks, client=client, tool=tool, arguments=arguments)
        if decided is not None:
            return decided if isinstance(decided, Decision) else None
        if not opened or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    url, shown = state.using(lambda v: _open(asks, OAuthStore(v), client, tool.name))
    if not _can_open_links(ctx):
        _refuse(state, client, tool, arguments, url, shown)
    if not is_version_at_least(ctx.protocol_version or "", _MODERN):
        state.record(
            AuditEvent(client=client, tool=tool.name, arguments=arguments, outcome="refused")
        )
        params = ElicitRequestURLParams(
            message=_message(shown, tool), url=url, elicitation_id=url[-22:]
        )
        raise UrlElicitationRequiredError([params])
    if opened:
        # The person went to the page but has not answered yet: the same request again, with
        # no new question (the client retries after a pause).
        return InputRequiredResult(request_state=_WAITING)
    params = ElicitRequestURLParams(message=_message(shown, tool), url=url)
    return InputRequiredResult(
        input_requests={_KEY: ElicitRequest(params=params)}, request_state=_ASKED
    )


def _decided(
    state: ServerState, asks: Asks, *, client: str, tool: ToolSpec, arguments: dict[str, Any]
) -> Decision | Literal[True] | None:
    """A live grant (True), the person's just-this-once answer (its Decision), or nothing yet;
    a "no" on the page refuses the call."""
    if state.decide(client=client, tool=tool.name).allowed:
        return True
    settled = state.using(lambda v: asks.settle(OAuthStore(v), client=client, tool=tool.name))
    if settled is None:
        return None
    answer, window = settled
    if answer == "once":
        return state.grant(client=client, tool=tool.name, duration=None, window=window)
    if answer == "denied":
        _decline(state, client, tool, arguments, "did not allow it on the consent page")
    return None  # "granted", but no live grant now (revoked since): ask again


def _open(asks: Asks, s: OAuthStore, client: str, tool: str) -> tuple[str, str]:
    """The waiting ask's address, and the client as the person knows it (its own name and
    short id)."""
    body = s.get("client", client)
    return asks.open(s, client=client, tool=tool), label_of(client, body or {}).text


def _can_open_links(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None and caps.elicitation.url is not None


def _message(shown: str, tool: ToolSpec) -> str:
    return (
        f"healthlocker: {shown!r} asks to read {tool.purpose} ({tool.name}). Open this "
        "healthlocker page to choose; it asks for your vault passphrase."
    )


def _refuse(
    state: ServerState,
    client: str,
    tool: ToolSpec,
    arguments: dict[str, Any],
    url: str | None,
    shown: str,
) -> NoReturn:
    command = grant_command(client=client, tool=tool.name)
    if url:
        why = (
            f"No grant lets {shown!r} use {tool.name}. The person can allow it on healthlocker's "
            f"page {url} (it asks for the vault passphrase), or run: {command}"
        )
    else:
        why = (
            f"No grant lets {shown!r} use {tool.name}, and there is no consent page to ask on. "
            f"To allow it, run: {command}"
        )
    error = RefusedError(why)
    state.refuse(client=client, tool=tool.name, arguments=arguments, outcome="refused", error=error)


def _decline(
    state: ServerState, client: str, tool: ToolSpec, arguments: dict[str, Any], how: str
) -> NoReturn:
    state.refuse(
        client=client,
        tool=tool.name,
        arguments=arguments,
        outcome="declined",
        error=DeclinedError(
            f"The person {how}: {tool.name} returned no data. Ask them before trying again."
        ),
    )
