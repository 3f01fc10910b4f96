"""Where the vault lives and how it is unlocked: key slots, passphrase and OS keyring.

A random vault master key (VMK) seals every other key. Each *slot* holds the VMK wrapped by a
key-encryption key derived (Argon2id) from one secret: the person's passphrase, or a random
secret kept in the OS keyring. Changing the passphrase rewrites one slot; no data is re-sealed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from healthlocker.errors import UnlockError
from healthlocker.store._crypto import (
    DEFAULT_KDF,
    KeySet,
    derive_key,
    seal,
    unseal,
)
from healthlocker.store._db import Database

ENV_HOME = "HEALTHLOCKER_HOME"
ENV_PASSPHRASE = "HEALTHLOCKER_PASSPHRASE"
KEYRING_SERVICE = "healthlocker"
DB_NAME = "vault.db"

Prompt = Callable[[str], str]


def vault_home(home: str | Path | None = None) -> Path:
    """The vault folder: the argument, else $HEALTHLOCKER_HOME, else the per-user data folder."""
    if home is not None:
        return Path(home)
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("healthlocker", appauthor=False))


def _slot_keys(vault_id: str, kek: bytes) -> KeySet:
    return KeySet.single(vault_id[:16], kek)


def write_slot(db: Database, vault_id: str, name: str, secret: str, vmk: bytes) -> None:
    salt = os.urandom(16)
    kek = derive_key(secret, salt, DEFAULT_KDF)
    wrapped = seal(_slot_keys(vault_id, kek), vmk, context={"t": "slots", "row": name})
    db.execute(
        "INSERT OR REPLACE INTO slots (name, salt, kdf, wrapped) VALUES (?, ?, ?, ?)",
        (name, salt, json.dumps(DEFAULT_KDF), wrapped),
    )


def open_slot(db: Database, vault_id: str, name: str, secret: str) -> bytes:
    return open_read_slot(vault_id, name, read_slot(db, name), secret)


def read_slot(db: Database, name: str) -> tuple[bytes, str, bytes]:
    """The stored slot *name* (salt, KDF settings, wrapped key): quick, unlike opening it."""
    row = db.one("SELECT salt, kdf, wrapped FROM slots WHERE name = ?", (name,))
    if row is None:
        raise UnlockError(f"this vault has no {name} unlock slot")
    return row[0], row[1], row[2]


def open_read_slot(vault_id: str, name: str, row: tuple[bytes, str, bytes], secret: str) -> bytes:
    """The master key in a slot read before: the slow key derivation, without the connection."""
    kek = derive_key(secret, row[0], json.loads(row[1]))
    try:
        return unseal(_slot_keys(vault_id, kek), row[2], context={"t": "slots", "row": name})
    except Exception:
        if name == "passphrase":
            raise UnlockError(
                "wrong passphrase for this vault (check HEALTHLOCKER_PASSPHRASE)"
            ) from None
        raise UnlockError(f"the {name} secret does not unlock this vault") from None


def slot_names(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM slots ORDER BY name")]


def new_keyring_secret(vault_id: str) -> str:
    """Make a random secret, store it in the OS keyring, and return it."""
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, f"vault-{vault_id}", secret)
    except Exception as exc:  # keyring raises backend-specific errors
        raise UnlockError(
            f"no usable OS keyring here ({type(exc).__name__}): macOS Keychain and Windows "
            "Credential Locker work as they are; on Linux, run a Secret Service (GNOME Keyring "
            "or KWallet) in your session. Until then, unlock with a passphrase"
        ) from None
    return secret


def keyring_secret(vault_id: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, f"vault-{vault_id}")
    except Exception:
        return None


def delete_keyring_secret(vault_id: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, f"vault-{vault_id}")
    except Exception:
        return


def unlock_master_key(db: Database, vault_id: str, prompt: Prompt | None) -> bytes:
    """Try, in order: $HEALTHLOCKER_PASSPHRASE, the OS keyring slot, an interactive prompt."""
    slots = slot_names(db)
    env = os.environ.get(ENV_PASSPHRASE)
    if env and "passphrase" in slots:
        return open_slot(db, vault_id, "passphrase", env)
    if "keyring" in slots:
        secret = keyring_secret(vault_id)
        if secret is not None:
            return open_slot(db, vault_id, "keyring", secret)
    if "passphrase" in slots and prompt is not None:
        return open_slot(db, vault_id, "passphrase", prompt("Vault passphrase: "))
    if "passphrase" in slots:
        raise UnlockError(
            f"the vault is locked: set {ENV_PASSPHRASE} or run in a terminal to be asked"
        )
    raise UnlockError("the OS keyring holds no secret for this vault; it cannot be unlocked")
