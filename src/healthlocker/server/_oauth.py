"""The built-in OAuth 2.1 authorization server, for a person hosting their own vault.

It plugs into the SDK's authorization routes (``OAuthAuthorizationServerProvider``): the SDK
parses requests, checks PKCE S256, exact redirect URIs and client authentication; this class
decides and keeps state, sealed in the vault (``_oauth_store``). ``authorize`` sends the
browser to our consent page; the person unlocks with their passphrase and picks tools, a
duration and a records window, which become the client's grants (the consent model of
``healthlocker.consent``) and the scopes of its tokens. Access tokens are short-lived JWTs;
refresh tokens rotate, and a reused one ends its whole family, as does revoking any grant of
the client after the family began.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from healthlocker.consent import GrantStore
from healthlocker.server._clients import check_registration, mark_consented, save_client
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._state import ServerState
from healthlocker.server._tokens import ALL_SCOPES, JwtVerifier, Signer, scope_for, tools_in

if TYPE_CHECKING:
    from healthlocker.store import SealedTable

T = TypeVar("T")
CODE_TTL = 300
PENDING_TTL = 600
REFRESH_TTL = 30 * 86400


@dataclass(frozen=True)
class Pending:
    """An authorization request waiting for the person on the consent page."""

    request_id: str
    client_id: str
    scopes: list[str]
    redirect_uri: str
    csrf: str


class VaultAuthProvider(
    OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]
):
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
        """Run *fn* with the OAuth store, on a worker thread, under the vault's lock."""
        return await anyio.to_thread.run_sync(lambda: self.state.using(lambda _: fn(self.store)))

    # -- clients -----------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        body = await self.db(lambda s: s.get("client", client_id))
        return OAuthClientInformationFull.model_validate(body) if body else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        check_registration(client_info)
        await self.db(lambda s: save_client(s, client_info))

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
            request_id, body["client_id"], body["scopes"], body["redirect_uri"], body["csrf"]
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
        """The person answered (tools None: denied): grants, a code, the redirect back; all
        of it in one transaction."""
        with s.vault.transaction():
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
            chosen = [t for t in tools_in(body["scopes"]) if t in tools]
            grants = GrantStore(s.vault)
            for tool in chosen:
                grants.add(client=body["client_id"], tool=tool, duration=duration, window=window)
            mark_consented(s, body["client_id"])
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
        body = await self.db(lambda s: self._usable(s, refresh_token))
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
        def rotate(s: OAuthStore) -> OAuthToken | None:
            # Load, check and rotate in one transaction: a concurrent replay of the same token
            # (any worker) finds it used and ends the family, whichever request came first.
            with s.vault.transaction():
                body = self._usable(s, refresh_token.token)
                if body is None:
                    return None
                left = int(body["expires_at"] - time.time())
                used = {**body, "used": True}
                s.put("refresh", s.secret_id(refresh_token.token), used, max(left, 1))
                granted = [sc for sc in (scopes or body["scopes"]) if sc in body["scopes"]]
                return self._issue(
                    s, body["client_id"], granted, body["family"], left, body.get("began", "")
                )

        issued = await self.db(rotate)
        if issued is None:  # outside the transaction, which must keep the family's end
            raise TokenError("invalid_grant", "this refresh token was used before or withdrawn")
        return issued

    def _usable(self, s: OAuthStore, token: str) -> dict[str, Any] | None:
        """The refresh token's row, if it may still be used. A token that was used before (so
        someone holds a copy), or whose client had a grant revoked since the family began,
        ends its whole family, in one transaction."""
        with s.vault.transaction():
            body = s.get("refresh", s.secret_id(token))
            if body is None:
                return None
            if body.get("used") or _withdrawn(s, body):
                s.delete_where("refresh", family=body["family"])
                return None
            return body

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

    async def is_revoked(self, jti: str, client_id: str) -> bool:
        # Every request asks this: a read of its own, off the tools' lock and thread pool.
        # The row's presence and expiry say it all; its sealed body is empty.
        if self._revoked is None:
            self._revoked = self.state.using(lambda v: v.side_table("oauth"))
        return self._revoked.has(("revoked", jti)) or self._revoked.has(
            ("revoked", f"client:{client_id}")
        )

    def _issue(
        self,
        s: OAuthStore,
        client_id: str,
        scopes: list[str],
        family: str,
        refresh_ttl: int,
        began: str | None = None,
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
                "began": began or _now(),
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _withdrawn(s: OAuthStore, body: dict[str, Any]) -> bool:
    """Whether the person revoked a grant of this family's client since the family began
    (a family from before this was recorded counts any revocation). A revocation is kept to
    the second, so one in the second the family began counts too."""
    began = datetime.fromisoformat(body.get("began") or "2000-01-01T00:00:00+00:00")
    return any(
        g.client == body["client_id"]
        and g.revoked is not None
        and datetime.fromisoformat(g.revoked) + timedelta(seconds=1) > began
        for g in GrantStore(s.vault).all()
    )
