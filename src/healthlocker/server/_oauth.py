"""The built-in OAuth 2.1 authorization server, for a person hosting their own vault.

It plugs into the SDK's authorization routes (``OAuthAuthorizationServerProvider``): the SDK
parses requests, checks PKCE S256, exact redirect URIs and client authentication; this class
decides and keeps state, sealed in the vault (``_oauth_store``). ``authorize`` sends the
browser to our consent page; the person unlocks with their passphrase and picks tools, a
duration and a records window, which become the client's grants (the consent model of
``healthlocker.consent``) and the scopes of its tokens. Access tokens are short-lived JWTs;
refresh tokens rotate, and a reused one revokes its whole family.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from healthlocker.consent import GrantStore
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._state import ServerState
from healthlocker.server._tokens import ALL_SCOPES, JwtVerifier, Signer, scope_for, tools_in

if TYPE_CHECKING:
    from healthlocker.store import SealedTable

T = TypeVar("T")
CODE_TTL = 300
PENDING_TTL = 600
REFRESH_TTL = 30 * 86400
MAX_CLIENTS = 200


@dataclass(frozen=True)
class Pending:
    """An authorization request waiting for the person on the consent page."""

    request_id: str
    client_id: str
    client_name: str
    scopes: list[str]
    redirect_uri: str
    csrf: str


class VaultAuthProvider:
    def __init__(
        self,
        state: ServerState,
        store: OAuthStore,
        signer: Signer,
        verifier: JwtVerifier,
        consent_url: str,
    ):
        self.state = state
        self.store = store  # over the state's vault; used only under its lock (``db``)
        self.signer = signer
        self.verifier = verifier
        self.consent_url = consent_url
        self.resource = signer.audience
        self._revoked: SealedTable | None = None

    async def db(self, fn: Callable[[OAuthStore], T]) -> T:
        return await anyio.to_thread.run_sync(lambda: self.state.using(lambda _: fn(self.store)))

    # -- clients -----------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        body = await self.db(lambda s: s.get("client", client_id))
        return OAuthClientInformationFull.model_validate(body) if body else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        for uri in client_info.redirect_uris or []:
            if not _acceptable_redirect(str(uri)):
                raise RegistrationError(
                    "invalid_redirect_uri",
                    "redirect URIs must use https, or http on a loopback address",
                )
        if client_info.scope and not set(client_info.scope.split()) <= set(ALL_SCOPES):
            raise RegistrationError("invalid_client_metadata", "unknown scope requested")

        def save(s: OAuthStore) -> None:
            if len(s.all("client")) >= MAX_CLIENTS:
                raise RegistrationError("invalid_client_metadata", "too many registered clients")
            s.put("client", client_info.client_id or "", client_info.model_dump(mode="json"), None)

        await self.db(save)

    # -- authorization -----------------------------------------------------------------------

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self.resource.rstrip("/"):
            raise AuthorizeError("invalid_target", "this server only issues tokens for itself")
        scopes = params.scopes or ALL_SCOPES
        if not set(scopes) <= set(ALL_SCOPES):
            raise AuthorizeError("invalid_scope", "unknown scope requested")
        request_id = new_secret()
        body = {
            "client_id": client.client_id,
            "client_name": (client.client_name or client.client_id or "")[:80],
            "scopes": scopes,
            "code_challenge": params.code_challenge,
            "redirect_uri": str(params.redirect_uri),
            "explicit": params.redirect_uri_provided_explicitly,
            "state": params.state,
            "csrf": new_secret(),
        }
        await self.db(lambda s: s.put("pending", s.secret_id(request_id), body, PENDING_TTL))
        return f"{self.consent_url}?request={request_id}"

    def pending(self, s: OAuthStore, request_id: str) -> Pending | None:
        body = s.get("pending", s.secret_id(request_id))
        if body is None:
            return None
        return Pending(
            request_id,
            body["client_id"],
            body["client_name"],
            body["scopes"],
            body["redirect_uri"],
            body["csrf"],
        )

    def decide(
        self,
        s: OAuthStore,
        request_id: str,
        *,
        tools: list[str] | None,
        duration: timedelta,
        window: str,
    ) -> str:
        """The person answered (tools None: denied): grants, a code, the redirect back."""
        body = s.take("pending", s.secret_id(request_id))
        if body is None:
            raise LookupError("this authorization request has expired; start again")
        redirect, state = body["redirect_uri"], body["state"]
        if not tools:
            return construct_redirect_uri(
                redirect,
                error="access_denied",
                error_description="the person did not allow it",
                state=state,
            )
        offered = tools_in(body["scopes"])
        chosen = [t for t in offered if t in tools]
        grants = GrantStore(s.vault)
        for tool in chosen:
            grants.add(client=body["client_id"], tool=tool, duration=duration, window=window)
        code = new_secret()
        s.put(
            "code",
            s.secret_id(code),
            {
                "client_id": body["client_id"],
                "scopes": [scope_for(t) for t in chosen],
                "code_challenge": body["code_challenge"],
                "redirect_uri": redirect,
                "explicit": body["explicit"],
                "resource": self.resource,
                "refresh_ttl": min(REFRESH_TTL, int(duration.total_seconds())),
            },
            CODE_TTL,
        )
        return construct_redirect_uri(redirect, code=code, state=state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        body = await self.db(lambda s: s.get("code", s.secret_id(authorization_code)))
        if body is None or body["client_id"] != client.client_id:
            return None
        return AuthorizationCode(
            code=authorization_code,
            scopes=body["scopes"],
            expires_at=time.time() + CODE_TTL,
            client_id=body["client_id"],
            code_challenge=body["code_challenge"],
            redirect_uri=body["redirect_uri"],
            redirect_uri_provided_explicitly=body["explicit"],
            resource=body["resource"],
            subject="owner",
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        def redeem(s: OAuthStore) -> OAuthToken:
            body = s.take("code", s.secret_id(authorization_code.code))
            if body is None:  # another request (any worker) redeemed it first
                raise TokenError("invalid_grant", "authorization code already used")
            return self._issue(
                s, body["client_id"], body["scopes"], new_secret(), body["refresh_ttl"]
            )

        return await self.db(redeem)

    # -- refresh and revocation ----------------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        def load(s: OAuthStore) -> dict[str, Any] | None:
            body = s.get("refresh", s.secret_id(refresh_token))
            if body is not None and body.get("used"):
                # A rotated token came back: someone holds a copy. End the whole family.
                s.delete_where("refresh", family=body["family"])
                return None
            return body

        body = await self.db(load)
        if body is None or body["client_id"] != client.client_id:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=body["client_id"],
            scopes=body["scopes"],
            expires_at=int(body["expires_at"]),
            resource=self.resource,
            subject="owner",
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        def rotate(s: OAuthStore) -> OAuthToken:
            row_id = s.secret_id(refresh_token.token)
            body = s.take("refresh", row_id)
            if body is None or body.get("used"):
                raise TokenError("invalid_grant", "refresh token already used")
            left = int(body["expires_at"] - time.time())
            s.put("refresh", row_id, {**body, "used": True}, max(left, 1))
            granted = [sc for sc in (scopes or body["scopes"]) if sc in body["scopes"]]
            return self._issue(s, body["client_id"], granted, body["family"], left)

        return await self.db(rotate)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return await self.verifier.verify_token(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        if isinstance(token, RefreshToken):

            def end_family(s: OAuthStore) -> None:
                body = s.get("refresh", s.secret_id(token.token))
                if body is not None:
                    s.delete_where("refresh", family=body["family"])

            await self.db(end_family)
            return
        jti = str((token.claims or {}).get("jti") or "")
        left = max((token.expires_at or 0) - time.time(), 60.0)
        if jti:
            await self.db(lambda s: s.put("revoked", jti, {}, left))

    async def is_revoked(self, jti: str) -> bool:
        # Every request asks this: a read of its own, off the tools' lock and thread pool.
        # The row's presence and expiry say it all; its sealed body is empty.
        if self._revoked is None:
            self._revoked = self.state.using(lambda v: v.side_table("oauth"))
        return self._revoked.has(("revoked", jti))

    def _issue(
        self, s: OAuthStore, client_id: str, scopes: list[str], family: str, refresh_ttl: int
    ) -> OAuthToken:
        access, _ = self.signer.issue(client_id=client_id, scopes=scopes, jti=new_secret())
        refresh = new_secret()
        s.put(
            "refresh",
            s.secret_id(refresh),
            {
                "client_id": client_id,
                "scopes": scopes,
                "family": family,
                "expires_at": time.time() + refresh_ttl,
            },
            refresh_ttl,
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.signer.ttl,
            scope=" ".join(scopes),
            refresh_token=refresh,
        )


def _acceptable_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
