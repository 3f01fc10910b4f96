"""Bearer tokens for remote mode: scopes per tool, signing (built-in server), validation.

Access tokens are JWTs (RFC 9068 shape): signed with an ES256 key kept sealed in the vault by
the built-in authorization server, or by an external identity provider whose JWKS we fetch.
Validation checks the signature against the key set (asymmetric algorithms only, so
``alg: none`` and HMAC confusion are refused), the issuer, the audience (this server's
resource URL), expiry and not-before, and leaves scope checks to the caller, per tool.
All JOSE work is joserfc's; nothing here hand-rolls token crypto.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet
from mcp.server.auth.provider import AccessToken

from healthlocker.catalogue import TOOLS, tool
from healthlocker.server._oauth_store import ACCESS_TTL, LEEWAY

ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]


def scope_for(name: str) -> str:
    """The one read scope that lets a token call the tool *name* (e.g. ``read:list_labs``);
    prompts and resources need the scopes of the tools they read."""
    return tool(name).scope


ALL_SCOPES = [t.scope for t in TOOLS]


def tools_in(scopes: Iterable[str]) -> list[str]:
    """The tools a set of scopes covers, in the catalogue's order."""
    wanted = set(scopes)
    return [t.name for t in TOOLS if t.scope in wanted]


def new_signing_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})


@dataclass
class Signer:
    """Issues access tokens with the built-in authorization server's key."""

    key: ECKey
    issuer: str
    audience: str
    ttl: int = ACCESS_TTL

    def issue(self, *, client_id: str, scopes: list[str], jti: str) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "owner",
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": jti,
        }
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key), now + self.ttl

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))


KeySource = Callable[[bool], Awaitable[KeySet]]
"""Returns the verification keys; ``True`` asks for a refresh (an unknown ``kid`` was seen)."""


@dataclass
class JwtVerifier:
    """The SDK's ``TokenVerifier``: a valid token becomes an ``AccessToken``, anything else None."""

    keys: KeySource
    issuer: str
    audience: str
    is_revoked: Callable[[str, str], Awaitable[bool]] | None = None  # (jti, client id)
    _registry: jwt.JWTClaimsRegistry = field(init=False)
    # Tokens whose signature checked out, with their claims: the Guard (to key its rate limits)
    # and the SDK both ask for each request's token, and a signature need be checked once.
    _seen: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        claims = await self._claims(token)
        if claims is None:
            return None
        client_id = claims.get("client_id") or claims.get("azp")
        if not isinstance(client_id, str) or not client_id:
            return None
        jti = claims.get("jti")
        if self.is_revoked is not None and await self.is_revoked(
            jti if isinstance(jti, str) else "", client_id
        ):
            return None
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else []
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(claims["exp"]),
            # validate_token_resource compares this with our resource URL; the registry above
            # already required the audience, so this is the value it matched.
            resource=self.audience,
            subject=str(claims.get("sub") or "") or None,
            claims={"iss": claims.get("iss"), "jti": jti},
        )

    async def client_of(self, token: str) -> str | None:
        """The client *token* was validly issued to (signature, issuer, audience, times), or
        None. Revocation is not checked: this only names who is asking."""
        claims = await self._claims(token)
        client_id = claims.get("client_id") or claims.get("azp") if claims else None
        return client_id if isinstance(client_id, str) and client_id else None

    async def _claims(self, token: str) -> dict[str, Any] | None:
        seen = self._seen.get(token)
        if seen is not None:
            try:
                self._registry.validate(seen)  # still within its times
            except (JoseError, ValueError, TypeError):
                del self._seen[token]
                return None
            return seen
        claims = await self._check(token)
        if claims is not None:
            if len(self._seen) >= 4096:
                self._seen.clear()  # bounded memory; they are checked again
            self._seen[token] = claims
        return claims

    async def _check(self, token: str) -> dict[str, Any] | None:
        if len(token) > 8192 or token.count(".") != 2:
            return None
        for refresh in (False, True):
            try:
                decoded = jwt.decode(token, await self.keys(refresh), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                if not refresh:
                    continue  # maybe the provider rotated its keys: fetch them once more
                return None
            except JoseError:
                return None
            except (ValueError, TypeError, KeyError):
                return None
            try:
                self._registry.validate(decoded.claims)  # also nbf and iat, with leeway
            except (JoseError, ValueError, TypeError):
                return None
            return dict(decoded.claims)
        return None
