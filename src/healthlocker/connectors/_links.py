"""Linked FHIR APIs, kept sealed in the vault's ``links`` table.

A row holds a random id, the keyed tag of the link's name (so it can be found without
decrypting every row) and one sealed body: name, FHIR base, endpoints, client id and secret,
scopes, patient id, tokens, token expiry, the sync cursor and what the last sync did. The body
is sealed with the vault key and bound to its row, like sources and grants; nothing about a
link is readable without unlocking the vault.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from healthlocker.errors import LinkNotFoundError
from healthlocker.store import Vault

_TABLE = """
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY, name_tag BLOB NOT NULL UNIQUE, body BLOB NOT NULL)
"""


def now() -> datetime:
    return datetime.now(UTC)


def stamp(when: datetime | None = None) -> str:
    return (when or now()).isoformat(timespec="seconds")


@dataclass
class Link:
    """One linked API. Secrets are kept out of ``repr`` so they never reach a log or trace."""

    name: str
    fhir_base: str
    client_id: str
    authorize_url: str
    token_url: str
    patient: str
    scope: str  # as granted
    preset: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    access_token: str = field(default="", repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: str | None = None  # ISO 8601, UTC
    cursor: str | None = None  # server time the last successful sync started at
    last_sync: str | None = None  # our clock, when the last sync finished
    last_counts: dict[str, int] = field(default_factory=dict)
    created: str = field(default_factory=stamp)

    def expires_in(self) -> float | None:
        if not self.expires_at:
            return None
        return (datetime.fromisoformat(self.expires_at) - now()).total_seconds()

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the secrets."""
        hidden = {"client_secret", "access_token", "refresh_token"}
        out = {k: v for k, v in asdict(self).items() if k not in hidden}
        out["has_refresh_token"] = bool(self.refresh_token)
        return out


class LinkStore:
    """The vault's linked APIs. Creates its table on first use."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        vault.conn.execute(_TABLE)

    def _tag(self, name: str) -> bytes:
        return self.vault.tag(f"link|{name}")

    def _load(self, row_id: str, body: bytes) -> Link:
        data = json.loads(self.vault.unseal_meta(body, table="links", row=row_id))
        known = {f.name for f in fields(Link)}
        return Link(**{k: v for k, v in data.items() if k in known})

    def get(self, name: str) -> Link:
        row = self.vault.conn.execute(
            "SELECT id, body FROM links WHERE name_tag = ?", (self._tag(name),)
        ).fetchone()
        if row is None:
            raise LinkNotFoundError(
                f"no linked API named {name!r}; `healthlocker sources` lists them, "
                "`healthlocker connect` adds one"
            )
        return self._load(row[0], row[1])

    def exists(self, name: str) -> bool:
        return (
            self.vault.conn.execute(
                "SELECT 1 FROM links WHERE name_tag = ?", (self._tag(name),)
            ).fetchone()
            is not None
        )

    def all(self) -> list[Link]:
        rows = self.vault.conn.execute("SELECT id, body FROM links").fetchall()
        return sorted((self._load(r[0], r[1]) for r in rows), key=lambda link: link.name)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.all())

    def save(self, link: Link) -> None:
        """Insert or replace the link of this name, in its own short transaction."""
        conn = self.vault.conn
        tag = self._tag(link.name)
        body = json.dumps(asdict(link), separators=(",", ":")).encode()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT id FROM links WHERE name_tag = ?", (tag,)).fetchone()
            row_id = row[0] if row else secrets.token_hex(16)
            sealed = self.vault.seal_meta(body, table="links", row=row_id)
            conn.execute(
                "INSERT INTO links (id, name_tag, body) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                (row_id, tag, sealed),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def delete_in_transaction(self, name: str | None) -> int:
        """Delete one link (or all, with None) inside the caller's transaction."""
        conn = self.vault.conn
        if name is None:
            return conn.execute("DELETE FROM links").rowcount
        return conn.execute("DELETE FROM links WHERE name_tag = ?", (self._tag(name),)).rowcount

    def delete(self, name: str | None) -> int:
        conn = self.vault.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = self.delete_in_transaction(name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.vault.scrub()
        return gone
