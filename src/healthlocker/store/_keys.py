"""The vault's keys once unlocked: the master key, what it wraps, and what they seal.

The master key (VMK) wraps every other key (``keys`` table): the *vault key*, which seals
vault-level metadata (sources, type names, batches, the state record and the declared sealed
tables), the *index key*, which makes keyed blind-index tags and digests, and one data key per
source. Unlocking the VMK itself (slots, passphrase, OS keyring) is :mod:`healthlocker.store.
_unlock`. :meth:`Keys.rotate` replaces the VMK and adds new vault and data keys for later
writes (the old ones stay, re-wrapped, to open what they sealed).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from healthlocker.errors import HealthLockerError, StoreError, UnlockError
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
        self._meta_keys = self._keyset("vault", "")
        index = self._keyset("index", "")
        self._index_key = index.keys[index.primary]
        self._tags: dict[str, bytes] = {}

    @property
    def _vmk_bytes(self) -> bytes:
        return self._vmk.keys[self._vmk.primary]

    # -- the passphrase and the master key -------------------------------------------------

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-wrap the master key under a new passphrase (inside the caller's transaction)."""
        if not new_passphrase:
            raise StoreError("the new passphrase is empty")
        _unlock.write_slot(self._db, self.vault_id, "passphrase", new_passphrase, self._vmk_bytes)

    def rotate(self, new_passphrase: str | None) -> None:
        """A new master key (inside the caller's transaction): every key re-wrapped under it,
        every slot rewritten (the passphrase one under *new_passphrase* when given), and a new
        vault key and new data keys that seal what is written from now on."""
        slots = _unlock.slot_names(self._db)
        secrets: dict[str, str] = {}
        if "keyring" in slots:
            secret = _unlock.keyring_secret(self.vault_id)
            if secret is None:
                raise UnlockError("the OS keyring holds no secret for this vault; nothing changed")
            secrets["keyring"] = secret
        if new_passphrase:
            secrets["passphrase"] = new_passphrase
        elif "passphrase" in slots or not secrets:
            raise StoreError("a new master key needs the new passphrase; nothing changed")
        new = KeySet.single(self.vault_id[:16], random_key())
        rows = self._db.execute("SELECT id, owner, wrapped FROM keys").fetchall()
        for key_id, owner, wrapped in rows:
            plain = self._unwrap(key_id, owner, wrapped)
            ctx = {"t": "keys", "row": key_id, "src": owner}
            self._db.execute(
                "UPDATE keys SET wrapped = ? WHERE id = ?", (seal(new, plain, context=ctx), key_id)
            )
        self._vmk = new
        owners = [r[0] for r in self._db.execute("SELECT id FROM sources")]
        for purpose, owner in [("vault", ""), *(("source", o) for o in owners)]:
            self._add_key(purpose, owner)
        for name, secret in secrets.items():
            _unlock.write_slot(self._db, self.vault_id, name, secret, self._vmk_bytes)
        self._source_keys.clear()
        self._meta_keys = self._keyset("vault", "")

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

    # -- the OS keyring ------------------------------------------------------------------

    def add_keyring(self) -> None:
        secret = _unlock.new_keyring_secret(self.vault_id)
        try:
            with self._db.transaction():
                _unlock.write_slot(self._db, self.vault_id, "keyring", secret, self._vmk_bytes)
        except BaseException:
            _unlock.delete_keyring_secret(self.vault_id)
            raise

    def remove_keyring(self) -> None:
        slots = _unlock.slot_names(self._db)
        if "keyring" not in slots:
            raise StoreError("the OS keyring does not unlock this vault; nothing to remove")
        if slots == ["keyring"]:
            raise StoreError(
                "the OS keyring is this vault's only way to unlock; set a passphrase first "
                "(`healthlocker passphrase`)"
            )
        with self._db.transaction():
            self._db.execute("DELETE FROM slots WHERE name = 'keyring'")
        _unlock.delete_keyring_secret(self.vault_id)

    def keyring_unlocks(self) -> bool:
        if "keyring" not in _unlock.slot_names(self._db):
            return False
        secret = _unlock.keyring_secret(self.vault_id)
        if secret is None:
            return False
        try:
            key = _unlock.open_slot(self._db, self.vault_id, "keyring", secret)
        except HealthLockerError:
            return False
        return hmac.compare_digest(key, self._vmk_bytes)

    # -- wrapped keys ----------------------------------------------------------------------

    def _unwrap(self, key_id: str, owner: str, wrapped: bytes) -> bytes:
        return unseal(self._vmk, wrapped, context={"t": "keys", "row": key_id, "src": owner})

    def _keyset(self, purpose: str, owner: str) -> KeySet:
        """Every key of this purpose and owner; the newest seals."""
        keys = KeySet()
        for key_id, wrapped in self._db.execute(
            "SELECT id, wrapped FROM keys WHERE purpose = ? AND owner = ? ORDER BY rowid",
            (purpose, owner),
        ):
            keys = keys.with_key(key_id, self._unwrap(key_id, owner, wrapped), primary=True)
        if not keys.keys and purpose != "source":
            raise StoreError("the vault is missing a key; it may be damaged")
        return keys

    def _add_key(self, purpose: str, owner: str) -> tuple[str, bytes]:
        key_id, key = random_id(), random_key()
        wrapped = seal(self._vmk, key, context={"t": "keys", "row": key_id, "src": owner})
        self._db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", (key_id, purpose, owner, wrapped))
        return key_id, key

    def source_keyset(self, source_id: str) -> KeySet:
        keys = self._source_keys.get(source_id)
        if keys is None:
            keys = self._source_keys[source_id] = self._keyset("source", source_id)
        return keys

    def plan_source_key(self, source_id: str) -> None:
        """A data key for a source not stored yet: sealing can start now, and
        :meth:`store_source_key` stores this same key when the source is stored."""
        self._source_keys[source_id] = KeySet.single(random_id(), random_key())

    def store_source_key(self, source_id: str) -> str:
        """Store (inside the caller's transaction) the planned key of a new source."""
        keys = self._source_keys[source_id]
        ctx = {"t": "keys", "row": keys.primary, "src": source_id}
        wrapped = seal(self._vmk, keys.keys[keys.primary], context=ctx)
        self._db.execute(
            "INSERT INTO keys VALUES (?, 'source', ?, ?)", (keys.primary, source_id, wrapped)
        )
        return keys.primary

    def drop_source_keys(self, source_ids: list[str] | None = None) -> None:
        """Forget unwrapped data keys (all, with None): after a rollback or a forget."""
        if source_ids is None:
            self._source_keys.clear()
        for source_id in source_ids or ():
            self._source_keys.pop(source_id, None)

    def check_all(self) -> list[str]:
        """Every wrapped key that fails to open under the master key, by id (for verify)."""
        bad = []
        for key_id, owner, wrapped in self._db.execute("SELECT id, owner, wrapped FROM keys"):
            try:
                self._unwrap(key_id, owner, wrapped)
            except HealthLockerError:
                bad.append(key_id)
        return bad

    # -- sealing, tags, digests ------------------------------------------------------------

    def seal_meta(self, data: bytes, *, table: str, row: str) -> bytes:
        """Seal vault-level metadata with the vault key, bound to its table and row."""
        return seal(self._meta_keys, data, context={"t": table, "row": row})

    def unseal_meta(self, token: bytes, *, table: str, row: str) -> bytes:
        return unseal(self._meta_keys, token, context={"t": table, "row": row})

    def seal_resource(self, source_id: str, place: dict[str, str], data: bytes) -> bytes:
        """Seal a resource with its source's key, bound to every index column of its row
        (*place*: see :func:`resource_place`)."""
        return seal(self.source_keyset(source_id), data, context=place)

    def open_resource(self, source_id: str, place: dict[str, str], token: bytes) -> bytes:
        return unseal(self.source_keyset(source_id), token, context=place)

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


def resource_place(
    source_id: str, rkey: bytes, type_tag: bytes, month_tag: bytes | None, digest: bytes
) -> dict[str, str]:
    """What a resource's seal is bound to: its table, source and every index column of its row,
    so a relabelled type or month, or a body moved to another row, fails to open."""
    return {
        "t": "resources",
        "src": source_id,
        "row": rkey.hex(),
        "type": type_tag.hex(),
        "month": month_tag.hex() if month_tag else "",
        "digest": digest.hex(),
    }
