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
    """The vault's linked APIs, in the store's ``links`` table. ``Vault.forget(name)`` erases
    a link with its tokens, together with what was synced from it."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._table = vault.table("links")

    def _load(self, row_id: str, body: bytes) -> Link:
        data = json.loads(self._table.open(row_id, body))
        known = {f.name for f in fields(Link)}
        return Link(**{k: v for k, v in data.items() if k in known})

    def _row(self, name: str) -> tuple[str, bytes] | None:
        found = self._table.rows("id", "body", name_tag=self._table.tag(name))
        return (found[0][0], found[0][1]) if found else None

    def get(self, name: str) -> Link:
        row = self._row(name)
        if row is None:
            raise LinkNotFoundError(
                f"no linked API named {name!r}; `healthlocker sources` lists them, "
                "`healthlocker connect` adds one"
            )
        return self._load(*row)

    def exists(self, name: str) -> bool:
        return self._row(name) is not None

    def all(self) -> list[Link]:
        rows = self._table.rows("id", "body")
        return sorted((self._load(r[0], r[1]) for r in rows), key=lambda link: link.name)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.all())

    def save(self, link: Link) -> None:
        """Insert or replace the link of this name, in its own short transaction."""
        tag = self._table.tag(link.name)
        body = json.dumps(asdict(link), separators=(",", ":")).encode()
        with self.vault.transaction():
            row = self._row(link.name)
            row_id = row[0] if row else secrets.token_hex(16)
            self._table.put(row_id, name_tag=tag, body=body)
