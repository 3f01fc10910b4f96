"""What the built-in authorization server keeps, sealed in the vault.

One table, ``oauth``: registered clients, pending authorization requests, consent requests of
tool calls (asks), authorization codes, refresh tokens, revoked access-token ids and clients,
page sessions and the signing key. Each body
is sealed with the vault key and bound to its kind and id. Secrets (codes, refresh tokens,
session ids) are stored only as keyed digests, so the vault file never holds a usable one.
Every worker process opens the same vault, so this state is shared across workers.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

from healthlocker.store import Vault

ACCESS_TTL = 600  # seconds an access token lives
LEEWAY = 30  # seconds of clock skew tolerated on a token's exp/nbf/iat
Kind = Literal["client", "pending", "ask", "code", "refresh", "revoked", "session", "key", "login"]


def new_secret() -> str:
    """A bearer secret with 256 bits of entropy (codes, refresh tokens, session ids)."""
    return secrets.token_urlsafe(32)


class OAuthStore:
    """Sealed rows by kind and id (the store's ``oauth`` table); callers hold the server's
    vault lock."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._table = vault.table("oauth")

    def secret_id(self, secret: str) -> str:
        """The row id of a secret: a keyed digest, never the secret itself."""
        return self.vault.digest(secret.encode()).hex()

    def put(self, kind: Kind, row_id: str, body: dict[str, Any], ttl: float | None) -> None:
        expires = time.time() + ttl if ttl is not None else None
        self._table.put((kind, row_id), expires=expires, body=json.dumps(body).encode())

    def get(self, kind: Kind, row_id: str) -> dict[str, Any] | None:
        plain = self._table.body((kind, row_id))  # None once expired
        if plain is None:
            return None
        body: dict[str, Any] = json.loads(plain)
        return body

    def take(self, kind: Kind, row_id: str) -> dict[str, Any] | None:
        """Read and delete in one transaction: a second taker (any worker) gets None."""
        with self.vault.transaction():
            body = self.get(kind, row_id)
            self._table.delete((kind, row_id))
        return body

    def delete(self, kind: Kind, row_id: str) -> bool:
        return self._table.delete((kind, row_id))

    def all(self, kind: Kind) -> list[tuple[str, dict[str, Any]]]:
        return [
            (row_id, json.loads(self._table.open((kind, row_id), body)))
            for row_id, body in self._table.rows("id", "body", kind=kind)
        ]

    def delete_where(self, kind: Kind, **match: Any) -> int:
        """Delete every row of *kind* whose body has these values (e.g. one token family)."""
        doomed = [
            rid for rid, body in self.all(kind) if all(body.get(k) == v for k, v in match.items())
        ]
        for rid in doomed:
            self.delete(kind, rid)
        return len(doomed)

    def lasting(self, name: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """A vault-wide secret (signing key, request-state key), made once by whichever
        worker comes first; the others read the same one."""
        with self.vault.transaction():
            body = self.get("key", name)
            if body is None:
                body = make()
                self.put("key", name, body, None)
        return body

    def purge_expired(self) -> None:
        self._table.purge_expired()
