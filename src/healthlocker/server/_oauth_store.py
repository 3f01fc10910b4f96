"""What the built-in authorization server keeps, sealed in the vault.

One table, ``oauth``: registered clients, pending authorization requests, authorization
codes, refresh tokens, revoked access-token ids, page sessions and the signing key. Each body
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

Kind = Literal["client", "pending", "code", "refresh", "revoked", "session", "key", "login"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS oauth (kind TEXT NOT NULL, id TEXT NOT NULL, "
    "expires REAL, body BLOB NOT NULL, PRIMARY KEY (kind, id))"
)


def new_secret() -> str:
    """A bearer secret with 256 bits of entropy (codes, refresh tokens, session ids)."""
    return secrets.token_urlsafe(32)


class OAuthStore:
    """Sealed rows by kind and id; callers hold the server's vault lock."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        vault.conn.execute(_SCHEMA)

    def secret_id(self, secret: str) -> str:
        """The row id of a secret: a keyed digest, never the secret itself."""
        return self.vault.digest(secret.encode()).hex()

    def put(self, kind: Kind, row_id: str, body: dict[str, Any], ttl: float | None) -> None:
        expires = time.time() + ttl if ttl is not None else None
        sealed = self.vault.seal_meta(
            json.dumps(body).encode(), table="oauth", row=_row(kind, row_id)
        )
        self.vault.conn.execute(
            "INSERT OR REPLACE INTO oauth VALUES (?, ?, ?, ?)", (kind, row_id, expires, sealed)
        )

    def get(self, kind: Kind, row_id: str) -> dict[str, Any] | None:
        row = self.vault.conn.execute(
            "SELECT expires, body FROM oauth WHERE kind = ? AND id = ?", (kind, row_id)
        ).fetchone()
        if row is None or (row[0] is not None and row[0] < time.time()):
            return None
        body: dict[str, Any] = json.loads(
            self.vault.unseal_meta(row[1], table="oauth", row=_row(kind, row_id))
        )
        return body

    def take(self, kind: Kind, row_id: str) -> dict[str, Any] | None:
        """Read and delete in one transaction: a second taker (any worker) gets None."""
        conn = self.vault.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            body = self.get(kind, row_id)
            conn.execute("DELETE FROM oauth WHERE kind = ? AND id = ?", (kind, row_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return body

    def delete(self, kind: Kind, row_id: str) -> bool:
        cur = self.vault.conn.execute("DELETE FROM oauth WHERE kind = ? AND id = ?", (kind, row_id))
        return cur.rowcount > 0

    def all(self, kind: Kind) -> list[tuple[str, dict[str, Any]]]:
        now = time.time()
        out = []
        for row_id, expires, body in self.vault.conn.execute(
            "SELECT id, expires, body FROM oauth WHERE kind = ?", (kind,)
        ):
            if expires is None or expires >= now:
                plain = self.vault.unseal_meta(body, table="oauth", row=_row(kind, row_id))
                out.append((row_id, json.loads(plain)))
        return out

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
        conn = self.vault.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            body = self.get("key", name)
            if body is None:
                body = make()
                self.put("key", name, body, None)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return body

    def purge_expired(self) -> None:
        self.vault.conn.execute(
            "DELETE FROM oauth WHERE expires IS NOT NULL AND expires < ?", (time.time(),)
        )


def _row(kind: str, row_id: str) -> str:
    return f"{kind}:{row_id}"
