"""Remote mode: the MCP server over Streamable HTTP, behind OAuth 2.1.

The SDK's Streamable HTTP app (stateless, so any worker can answer any request) carries the
resource-server side: bearer validation through our ``JwtVerifier`` with
``validate_token_resource`` on, 401 with ``WWW-Authenticate`` pointing at the protected
resource metadata (RFC 9728), and -- with the built-in authorization server -- the OAuth
routes (metadata, dynamic registration, authorize, token, revoke) over ``VaultAuthProvider``.
Around it: per-tool scopes (403 ``insufficient_scope``), the consent and account pages, a
health endpoint, and the ``Guard`` (Host/Origin allowlists, body caps, rate limits, headers).
An incoming token is only ever verified here; it is never sent on to any other service.
"""

from __future__ import annotations

import gc
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from joserfc.jwk import ECKey, KeySet
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.request_state import RequestStateSecurity
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from healthlocker import charts
from healthlocker.catalogue import PROMPTS, RESOURCES, TOOL_NAMES
from healthlocker.consent import ConsentGate
from healthlocker.errors import HealthLockerError
from healthlocker.server._asks import Asks
from healthlocker.server._guard import (
    MCP_BODY_LIMIT,
    ASGIApp,
    Guard,
    GuardSettings,
    Receive,
    Scope,
    Send,
)
from healthlocker.server._oauth import VaultAuthProvider
from healthlocker.server._oauth_routes import oauth_routes
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._pages import Pages
from healthlocker.server._shl import ShlRoutes
from healthlocker.server._state import ServerState
from healthlocker.server._tokens import (
    ALL_SCOPES,
    JwtVerifier,
    Signer,
    new_signing_key,
    scope_for,
)
from healthlocker.store import Vault

MCP_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# What a prompt or resource reads, as tools: it needs their scopes.
PROMPT_TOOLS = {p.name: p.reads for p in PROMPTS}
RESOURCE_TOOLS = {r.uri: r.reads for r in RESOURCES}
# A chart's view holds no record, but only a token that may call its tool learns of it.
VIEW_TOOLS = {v.uri: (v.tool,) for v in charts.VIEWS.values()}


@dataclass(frozen=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str | None = None
    behind_proxy: bool = False
    issuer: str | None = None  # an external identity provider; None: the built-in server
    jwks_url: str | None = None
    rate: float = 50.0
    burst: int = 100

    @property
    def base(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def resource(self) -> str:
        return self.base + MCP_PATH

    def check(self) -> None:
        """Refuse settings that would expose the vault without TLS."""
        parts = urlsplit(self.base)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
        ):
            raise HealthLockerError(
                f"--public-url must be an origin like https://health.example.org, not {self.base!r}"
            )
        if self.host not in LOOPBACK and not self.behind_proxy:
            raise HealthLockerError(
                f"refusing to listen on {self.host}: without TLS the vault would be exposed. "
                "Bind 127.0.0.1 and put a TLS proxy in front, or pass --behind-tls-proxy if "
                "one already terminates TLS for this address"
            )
        if parts.scheme != "https" and parts.hostname not in LOOPBACK:
            raise HealthLockerError("--public-url must use https unless it is a loopback address")
        if self.issuer and not self.jwks_url:
            raise HealthLockerError("--issuer needs the provider's --jwks-url")

    def hosts_and_origins(self) -> tuple[frozenset[str], frozenset[str]]:
        parts = urlsplit(self.base)
        default = {"http": 80, "https": 443}[parts.scheme]
        port = parts.port or default
        name = (parts.hostname or "").lower()
        shown = f"[{name}]" if ":" in name else name
        hosts = {f"{shown}:{port}"} | ({shown} if port == default else set())
        origins = {f"{parts.scheme}://{shown}" + ("" if port == default else f":{port}")}
        if self.host in LOOPBACK:
            for loop in ("127.0.0.1", "localhost", "[::1]"):
                hosts.add(f"{loop}:{self.port}")
                origins.add(f"http://{loop}:{self.port}")
        return frozenset(hosts), frozenset(origins)


@dataclass(frozen=True)
class _Authority:
    """Who issues the tokens remote mode accepts: this server (``provider``, signing with
    ``signer``) or the identity provider of ``--issuer``."""

    issuer: str
    verifier: JwtVerifier
    provider: VaultAuthProvider | None = None
    signer: Signer | None = None


def _authority(
    state: ServerState, store: OAuthStore, keys: dict[str, str], config: HttpConfig
) -> _Authority:
    if config.issuer:
        verifier = JwtVerifier(RemoteKeys(config.jwks_url or ""), config.issuer, config.resource)
        return _Authority(config.issuer, verifier)
    signer = Signer(ECKey.import_key(keys["signing"]), config.base, config.resource)
    public = KeySet([signer.key])

    async def local_keys(refresh: bool) -> KeySet:
        return public

    verifier = JwtVerifier(local_keys, config.base, config.resource)
    provider = VaultAuthProvider(state, store, signer, verifier, config.base + "/consent")
    verifier.is_revoked = provider.is_revoked
    state.asks = Asks(config.base + "/consent")  # tool calls ask on the consent page
    return _Authority(config.base, verifier, provider, signer)


def _routes(state: ServerState, config: HttpConfig, authority: _Authority) -> list[Route]:
    """The routes beside MCP's: health, SMART Health Links and, with the built-in
    authorization server, its pages and its key set."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route("/healthz", health, methods=["GET"])]
    routes += ShlRoutes(state, config.base).routes()
    provider, signer = authority.provider, authority.signer
    if provider is not None and signer is not None and state.asks is not None:
        secure = config.base.startswith("https://")
        routes += Pages(provider, state.asks, secure_cookies=secure).routes()
        jwks = signer.jwks()

        async def keyset(request: Request) -> Response:
            return JSONResponse(jwks)

        routes.append(Route("/.well-known/jwks.json", keyset, methods=["GET"]))
    return routes


def build_http_app(vault: Vault, config: HttpConfig, *, log_level: str = "WARNING") -> ASGIApp:
    """The whole remote-mode ASGI app over one open vault.

    Longer than most on purpose: read top to bottom, it is the order in which the layers are
    built and wrap each other (authority, MCP server, routes, transport, scope check, guard).
    """
    from healthlocker.server._app import build_server

    config.check()
    state = ServerState(vault, ConsentGate, None, over_http=True)
    store = state.using(OAuthStore)
    keys = state.using(lambda _: _lasting_keys(store))
    authority = _authority(state, store, keys, config)
    provider, verifier = authority.provider, authority.verifier
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(authority.issuer),
        resource_server_url=AnyHttpUrl(config.resource),
        validate_token_resource=True,
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=ALL_SCOPES, default_scopes=ALL_SCOPES
        ),
        revocation_options=RevocationOptions(enabled=True),
    )
    server = build_server(
        state,
        log_level=log_level,  # type: ignore[arg-type]
        mcp_options={
            # With the built-in server the SDK verifies through provider.load_access_token,
            # which is the same verifier.
            **({"auth_server_provider": provider} if provider else {"token_verifier": verifier}),
            "auth": auth,
            # Workers share the vault, so they share the key that seals 2026-era request state.
            "request_state_security": RequestStateSecurity(
                keys=[bytes.fromhex(keys["request_state"])]
            ),
        },
    )
    hosts, origins = config.hosts_and_origins()
    routes = _routes(state, config, authority)
    for route in routes:
        server.custom_route(route.path, methods=sorted(route.methods or []))(route.endpoint)
    # Each worker warms its caches in the background, so its first clients don't queue behind it.
    threading.Thread(target=_warm, args=(state,), name="hl-warm-up", daemon=True).start()
    vault.start_checkpointer()  # audit commits never pay for moving the log into the file

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=MCP_BODY_LIMIT,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=sorted(hosts),
            allowed_origins=sorted(origins),
        ),
        host=config.host,
    )
    if provider is not None:  # in front of the SDK's own routes of the same paths
        app.router.routes[:0] = oauth_routes(provider, auth)
    app.user_middleware.append(  # innermost: after the SDK's bearer authentication
        Middleware(
            ScopeCheck, metadata_url=str(build_resource_metadata_url(AnyHttpUrl(config.resource)))
        )
    )
    return Guard(
        app,
        GuardSettings(
            allowed_hosts=hosts,
            allowed_origins=origins,
            mcp_path=MCP_PATH,
            rate=config.rate,
            burst=config.burst,
            hsts=config.base.startswith("https://"),
            identify=verifier.client_of,
        ),
    )


def _warm(state: ServerState) -> None:
    """Warm the caches (``warm_up``), then take what they hold out of the garbage collector's
    sight: it lives as long as the process, and under load the collector's full passes over it
    took 100-130 ms each, every few seconds, while every call waited."""
    from healthlocker.server._tools import warm_up

    warm_up(state)
    gc.collect()
    gc.freeze()


def _lasting_keys(store: OAuthStore) -> dict[str, Any]:
    signing = store.lasting(
        "signing", lambda: {"jwk": new_signing_key(new_secret()[:16]).as_dict(private=True)}
    )
    request_state = store.lasting("request_state", lambda: {"hex": secrets.token_bytes(32).hex()})
    store.purge_expired()
    return {"signing": signing["jwk"], "request_state": request_state["hex"]}


class RemoteKeys:
    """An external provider's JWKS, cached; fetched again on an unknown ``kid`` (at most every
    30 s), so a key rotation there needs no restart here."""

    def __init__(self, url: str, ttl: float = 300.0) -> None:
        self.url = url
        self.ttl = ttl
        self._keys: KeySet | None = None
        self._at = 0.0

    async def __call__(self, refresh: bool) -> KeySet:
        age = time.monotonic() - self._at
        if self._keys is None or age > self.ttl or (refresh and age > 30):
            async with httpx2.AsyncClient(timeout=10, follow_redirects=False) as http:
                response = await http.get(self.url)
                response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
            self._at = time.monotonic()
        return self._keys


class ScopeCheck:
    """403 ``insufficient_scope`` when the token lacks the scope of the tool (or of the tools
    behind the prompt or resource) a JSON-RPC request asks for, before the server runs it."""

    def __init__(self, app: ASGIApp, metadata_url: str) -> None:
        self.app = app
        self.metadata_url = metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not isinstance(user, AuthenticatedUser)
        ):
            await self.app(scope, receive, send)
            return
        first = await receive()  # the Guard delivers the whole, capped body in one message
        missing = [s for s in _needed(first.get("body", b"")) if s not in user.scopes]
        if missing:
            await _insufficient(send, missing, self.metadata_url)
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return dict(first)
            return dict(await receive())

        await self.app(scope, replay, send)


def _needed(body: bytes) -> list[str]:
    try:
        message = json.loads(body)
    except ValueError:
        return []  # the SDK answers malformed JSON-RPC itself
    messages = message if isinstance(message, list) else [message]
    needed: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        params = m.get("params")
        params = params if isinstance(params, dict) else {}
        name = str(params.get("name", ""))
        if m.get("method") == "tools/call" and name in TOOL_NAMES:
            needed.append(scope_for(name))
        elif m.get("method") == "prompts/get":
            needed += [scope_for(t) for t in PROMPT_TOOLS.get(name, ())]
        elif m.get("method") == "resources/read":
            # Any other URI needs what every resource needs: no token learns which exist.
            uri = str(params.get("uri", ""))
            reads = (
                RESOURCE_TOOLS.get(uri)
                or VIEW_TOOLS.get(uri)
                or {t for r in RESOURCE_TOOLS.values() for t in r}
            )
            needed += [scope_for(t) for t in sorted(reads)]
    return needed


async def _insufficient(send: Send, missing: list[str], metadata_url: str) -> None:
    scope = " ".join(sorted(set(missing)))
    body = json.dumps(
        {"error": "insufficient_scope", "error_description": f"Required scope: {scope}"}
    ).encode()
    header = (
        f'Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{metadata_url}"'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", header.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
