"""Two of the SDK's authorization-server routes, as this server needs them.

- The metadata (``/.well-known/oauth-authorization-server``) lists ``none`` among the token
  endpoint's authentication methods: the public clients (hosted assistants, PKCE without a
  secret) that register here use it.
- ``/authorize`` answers an error in the request with a page, not a redirect, for a client the
  person never allowed anything: otherwise anyone could register ``https://evil.example`` and
  turn this server's address into a link that bounces a browser there without a word. A client
  the person allowed gets the redirect OAuth prescribes.

Both wrap the SDK's own handlers (``build_metadata``, ``MetadataHandler``,
``AuthorizationHandler``); they go in front of the SDK's routes of the same paths.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import build_metadata, cors_middleware
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from healthlocker.server._clients import consented
from healthlocker.server._oauth import VaultAuthProvider
from healthlocker.server._pages import page


def oauth_routes(provider: VaultAuthProvider, auth: AuthSettings) -> list[Route]:
    metadata = build_metadata(
        auth.issuer_url,
        auth.service_documentation_url,
        auth.client_registration_options or ClientRegistrationOptions(),
        auth.revocation_options or RevocationOptions(),
    )
    metadata.token_endpoint_auth_methods_supported = [
        "none",
        *(metadata.token_endpoint_auth_methods_supported or []),
    ]
    authorization = AuthorizationHandler(provider)

    async def authorize(request: Request) -> Response:
        response = await authorization.handle(request)
        location = response.headers.get("location", "")
        if response.status_code != 302 or location.startswith(provider.consent_url + "?"):
            return response
        params = request.query_params if request.method == "GET" else await request.form()
        client_id = str(params.get("client_id") or "")
        allowed: bool = bool(client_id) and await provider.db(lambda s: consented(s, client_id))
        if allowed:
            return response
        return page(
            "This sign-in cannot go on",
            "<p>The assistant's sign-in request is not valid here"
            + (f" ({html.escape(_error(location))})" if _error(location) else "")
            + ". Nothing was shared, and you were not sent anywhere. Start again from your "
            "assistant, or ask its maker.</p>",
            status=400,
        )

    return [
        Route(
            "/.well-known/oauth-authorization-server",
            cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        Route("/authorize", authorize, methods=["GET", "POST"]),
    ]


def _error(location: str) -> str:
    """The OAuth error code a redirect carried (a fixed vocabulary), or ""."""
    code = parse_qs(urlsplit(location).query).get("error", [""])[0]
    return code if code.replace("_", "").isalpha() else ""
