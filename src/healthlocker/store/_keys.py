"""The vault's keys once unlocked: the master key, what it wraps, and what they seal.

The master key (VMK) wraps every other key (``keys`` table): the *vault key*, which seals
vault-level metadata (sources, type names, batches and the declared sealed tables), the *index
key*, which makes keyed blind-index tags and digests, and one data key per source. Unlocking the
VMK itself (slots, passphrase, OS keyring) is :mod:`healthlocker.store._unlock`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from healthlocker.errors import HealthLockerError, StoreError
from healthlocker.store import _unlock
from healthlocker.store._crypto import (
    KeySet,
    blind,
    keyed_digest,
    random_id,
    random_key,
    seal,
    unseal,
)
from healthlocker.store._db import Database

_MAX_TAGS = 50_000


def write_system_keys(db: Database, vault_id: str, vmk: bytes) -> None:
    """Make a new vault's vault and index keys, wrapped under *vmk* (inside a transaction)."""
    vmk_keys = KeySet.single(vault_id[:16], vmk)
    for purpose in ("vault", "index"):
        key_id = random_id()
        wrapped = seal(vmk_keys, random_key(), context={"t": "keys", "row": key_id, "src": ""})
        db.execute("INSERT INTO keys VALUES (?, ?, '', ?)", (key_id, purpose, wrapped))


class Keys:
    """Wrapping, sealing, tags and digests for one unlocked vault."""

    def __init__(self, db: Database, vault_id: str, vmk: bytes) -> None:
        self._db = db
        self.vault_id = vault_id
        self._vmk = KeySet.single(vault_id[:16], vmk)
        self._source_keys: dict[str, KeySet] = {}
        vault_key = self._system_key("vault")
        self._meta_keys = KeySet.single(vault_key[0], vault_key[1])
        self._index_key = self._system_key("index")[1]
        self._tags: dict[str, bytes] = {}

    @property
    def _vmk_bytes(self) -> bytes:
        return self._vmk.keys[self._vmk.primary]

    # -- the passphrase --------------------------------------------------------------------

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-wrap the master key under a new passphrase; the data stays as sealed."""
        if not new_passphrase:
            raise StoreError("the new passphrase is empty")
        with self._db.transaction():
            _unlock.write_slot(
                self._db, self.vault_id, "passphrase", new_passphrase, self._vmk_bytes
            )

    def check_passphrase(self, passphrase: str) -> bool:
        """Whether *passphrase* unlocks this vault (the browser pages' sign-in), in constant
        time with respect to the stored key; False for a vault without a passphrase slot."""
        return self.passphrase_check()(passphrase)

    def passphrase_check(self) -> Callable[[str], bool]:
        """:meth:`check_passphrase` in two steps: the slot is read now (quick, on the caller's
        connection and lock); the returned check does the slow key derivation without touching
        the connection, so a server can run it off its vault lock."""
        try:
            row = _unlock.read_slot(self._db, "passphrase")
        except HealthLockerError:
            row = None
        expected = self._vmk_bytes

        def check(passphrase: str) -> bool:
            if row is None or not passphrase or len(passphrase) > 1024:
                return False
            try:
                key = _unlock.open_read_slot(self.vault_id, "passphrase", row, passphrase)
            except HealthLockerError:
                return False
            return hmac.compare_digest(key, expected)

        return check

    # -- wrapped keys ----------------------------------------------------------------------

    def _unwrap(self, key_id: str, owner: str, wrapped: bytes) -> bytes:
        return unseal(self._vmk, wrapped, context={"t": "keys", "row": key_id, "src": owner})

    def _system_key(self, purpose: str) -> tuple[str, bytes]:
        row = self._db.one(
            "SELECT id, wrapped FROM keys WHERE purpose = ? AND owner = ''", (purpose,)
        )
        if row is None:
            raise StoreError("the vault is missing a key; it may be damaged")
        return row[0], self._unwrap(row[0], "", row[1])

    def new_source_key(self, source_id: str) -> str:
        """Make and store (inside the caller's transaction) a data key for a new source."""
        key_id = random_id()
        wrapped = seal(
            self._vmk, random_key(), context={"t": "keys", "row": key_id, "src": source_id}
        )
        self._db.execute(
            "INSERT INTO keys VALUES (?, 'source', ?, ?)", (key_id, source_id, wrapped)
        )
        return key_id

    def source_keyset(self, source_id: str) -> KeySet:
        keys = self._source_keys.get(source_id)
        if keys is None:
            keys = KeySet()
            for key_id, wrapped in self._db.execute(
                "SELECT id, wrapped FROM keys WHERE purpose = 'source' AND owner = ? "
                "ORDER BY rowid",
                (source_id,),
            ):
                keys = keys.with_key(key_id, self._unwrap(key_id, source_id, wrapped), primary=True)
            self._source_keys[source_id] = keys
        return keys

    def drop_source_keys(self, source_ids: list[str] | None = None) -> None:
        """Forget unwrapped data keys (all, with None): after a rollback or a forget."""
        if source_ids is None:
            self._source_keys.clear()
        for source_id in source_ids or ():
            self._source_keys.pop(source_id, None)

    # -- sealing, tags, digests ------------------------------------------------------------

    def seal_meta(self, data: bytes, *, table: str, row: str) -> bytes:
        """Seal vault-level metadata with the vault key, bound to its table and row."""
        return seal(self._meta_keys, data, context={"t": table, "row": row})

    def unseal_meta(self, token: bytes, *, table: str, row: str) -> bytes:
        return unseal(self._meta_keys, token, context={"t": table, "row": row})

    def seal_resource(self, source_id: str, row: str, data: bytes) -> bytes:
        return seal(
            self.source_keyset(source_id),
            data,
            context={"t": "resources", "row": row, "src": source_id},
        )

    def open_resource(self, source_id: str, row: str, token: bytes) -> bytes:
        return unseal(
            self.source_keyset(source_id),
            token,
            context={"t": "resources", "row": row, "src": source_id},
        )

    def tag(self, term: str) -> bytes:
        """The keyed blind-index tag of a term (type, code, month, ...)."""
        return blind(self._index_key, term)

    def term_tag(self, term: str) -> bytes:
        """:meth:`tag`, remembered: the type, month and code terms of an import repeat."""
        found = self._tags.get(term)
        if found is None:
            if len(self._tags) >= _MAX_TAGS:
                self._tags.clear()
            found = self._tags[term] = blind(self._index_key, term)
        return found

    def digest(self, data: bytes) -> bytes:
        return keyed_digest(self._index_key, data)
