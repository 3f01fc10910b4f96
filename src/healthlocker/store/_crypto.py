"""Sealing: the only module that touches ``cryptography``.

A recipe in the manner of ``cryptography.fernet``: ``seal(keys, data, context=...)`` and
``unseal(keys, token, context=...)``. AES-256-GCM with a fresh random 96-bit nonce per seal.
The token names the key that sealed it, so a :class:`KeySet` holding several keys opens old
tokens after a rotation. The *context* (table, row, source, ...) is authenticated as associated
data, so a ciphertext moved to another row, table or source fails to open. Any failure raises
one opaque :class:`IntegrityError` that says nothing about the content.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from healthlocker.errors import IntegrityError

_VERSION = b"\x01"
_KEY_ID_LEN = 8
_NONCE_LEN = 12
KEY_LEN = 32

# RFC 9106 §4, second recommended option (memory-constrained): Argon2id, t=3, p=4, m=64 MiB.
# Stored with each vault, so stronger settings later do not lock out older vaults.
DEFAULT_KDF: dict[str, int | str] = {
    "alg": "argon2id",
    "iterations": 3,
    "lanes": 4,
    "memory_kib": 65536,
}


def random_key() -> bytes:
    return os.urandom(KEY_LEN)


def random_id(nbytes: int = _KEY_ID_LEN) -> str:
    return os.urandom(nbytes).hex()


def derive_key(passphrase: str, salt: bytes, params: Mapping[str, int | str]) -> bytes:
    """Stretch a passphrase into a key-encryption key with Argon2id."""
    if params.get("alg") != "argon2id":
        raise IntegrityError("this vault uses a key derivation this version does not know")
    kdf = Argon2id(
        salt=salt,
        length=KEY_LEN,
        iterations=int(params["iterations"]),
        lanes=int(params["lanes"]),
        memory_cost=int(params["memory_kib"]),
    )
    return kdf.derive(passphrase.encode("utf-8"))


def _aad(key_id: bytes, context: Mapping[str, str | int]) -> bytes:
    # Canonical, unambiguous encoding: sorted "name=value" pairs joined by NUL.
    parts = [f"{k}={context[k]}" for k in sorted(context)]
    return _VERSION + key_id + b"\x00".join(p.encode("utf-8") for p in parts)


@dataclass(frozen=True)
class KeySet:
    """Keys by id; the first is used to seal, all are tried (by id) to open."""

    keys: dict[str, bytes] = field(default_factory=dict)
    primary: str = ""

    @classmethod
    def single(cls, key_id: str, key: bytes) -> KeySet:
        return cls({key_id: key}, key_id)

    def with_key(self, key_id: str, key: bytes, *, primary: bool = False) -> KeySet:
        keys = {**self.keys, key_id: key}
        return KeySet(keys, key_id if primary or not self.primary else self.primary)


def seal(keys: KeySet, data: bytes, *, context: Mapping[str, str | int]) -> bytes:
    """Encrypt and authenticate *data*, bound to *context*."""
    key_id = bytes.fromhex(keys.primary)
    nonce = os.urandom(_NONCE_LEN)
    ct = AESGCM(keys.keys[keys.primary]).encrypt(nonce, data, _aad(key_id, context))
    return _VERSION + key_id + nonce + ct


def unseal(keys: KeySet, token: bytes, *, context: Mapping[str, str | int]) -> bytes:
    """Open a token made by :func:`seal` with the same context, or raise IntegrityError."""
    head = 1 + _KEY_ID_LEN + _NONCE_LEN
    if len(token) < head + 16 or token[:1] != _VERSION:
        raise IntegrityError("a sealed value in the vault is damaged")
    key_id = token[1 : 1 + _KEY_ID_LEN]
    key = keys.keys.get(key_id.hex())
    if key is None:
        raise IntegrityError("a sealed value in the vault cannot be opened with its key")
    try:
        return AESGCM(key).decrypt(
            token[1 + _KEY_ID_LEN : head], token[head:], _aad(key_id, context)
        )
    except InvalidTag:
        raise IntegrityError("a sealed value in the vault failed its integrity check") from None


# hmac.digest is the one-shot HMAC in C: the same value as hmac.new(...).digest(), without
# building an HMAC object per call (an import makes several tags per resource).


def blind(key: bytes, value: str) -> bytes:
    """Keyed blind index: equal inputs give equal tags, tags reveal nothing without the key."""
    return hmac.digest(key, value.encode("utf-8"), "sha256")[:16]


def keyed_digest(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


def keyed_hasher(key: bytes) -> hmac.HMAC:
    """:func:`keyed_digest` fed in parts (its ``digest()`` is the same value)."""
    return hmac.new(key, digestmod="sha256")
