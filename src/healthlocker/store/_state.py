"""The vault's state record, its epoch, and the copy of the epoch kept outside the vault file.

One sealed value in ``meta`` (``state``) says what the vault holds as a whole: an *epoch* that
every write transaction raises by one, the audit log's head (its last sequence number and chain
value), a manifest of each sealed table (row count and a keyed multiset hash of its rows) and a
digest of each source's row (which holds that source's manifest of resources; see
``_manifest``). The record is made with the vault; a vault without one was wiped.

A row, grant, manifest or audit head written back from an earlier state no longer matches the
record. The record itself written back (with everything it describes: a rolled-back file) is
caught by the :class:`Counter`: the last epoch seen, kept in a small file beside the vault and,
for a vault that unlocks with the OS keyring, in the keyring too. A vault whose epoch is below
the counter was rolled back (or restored from a backup) since it was last used here.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from healthlocker.errors import IntegrityError, RollbackError, StoreError
from healthlocker.store._db import Database
from healthlocker.store._keys import Keys

NAME = "state"
GENESIS = "00" * 32
COUNTER_FILE = "vault.counter"
_KEYRING_EVERY = 1.0  # seconds between keyring writes (it can be slow); flushed on close

Record = dict[str, Any]


def new_record() -> Record:
    return {"epoch": 1, "audit": [0, GENESIS], "tables": {}, "sources": {}}


class State:
    """Reads and updates the sealed state record (inside the caller's transaction)."""

    def __init__(self, db: Database, keys: Keys, counter: Counter | None) -> None:
        self._db = db
        self._keys = keys
        self.counter = counter
        self._raw: bytes | None = None
        self._parsed: Record = {}
        self._txn = -1
        self._base = 0  # the committed epoch when the open transaction first read the record

    def read(self) -> Record:
        """The record as stored now (IntegrityError when missing or not sealed here)."""
        row = self._db.one("SELECT value FROM meta WHERE name = ?", (NAME,))
        if row is None:
            raise IntegrityError(
                "the vault's state record is missing: the vault was wiped or damaged; "
                "run `healthlocker verify`"
            )
        if row[0] != self._raw:
            plain = self._keys.unseal_meta(row[0], table="meta", row=NAME)
            self._parsed, self._raw = json.loads(plain), row[0]
        return self._parsed

    def write(self, record: Record) -> None:
        """Store the record (inside a transaction: a new vault's first, or :meth:`update`)."""
        sealed = self._keys.seal_meta(json.dumps(record).encode(), table="meta", row=NAME)
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (NAME, sealed))
        self._raw, self._parsed = sealed, record  # the next read need not open it again

    def update(self, change: Callable[[Record], None]) -> None:
        """Apply *change* to the record, one epoch past the last committed one; inside a
        transaction. The counter outside the file follows once the transaction commits."""
        if not self._db.in_transaction:
            raise StoreError("the state record changes only inside a transaction")
        record = json.loads(json.dumps(self.read()))  # a copy: the cached one stays as read
        if self._txn != self._db.txn:
            self._txn, self._base = self._db.txn, int(record["epoch"])
        change(record)
        record["epoch"] = self._base + 1
        self.write(record)
        if self.counter is not None:
            self._db.after_commit(self._advance)

    def _advance(self) -> None:
        """After a commit: the epoch it wrote (read back only if a savepoint was undone, which
        may have undone the record's last update) goes to the counter."""
        if self.counter is not None:
            with contextlib.suppress(IntegrityError):
                epoch = self.epoch() if self._db.undone else self._base + 1
                self.counter.advance(epoch)

    def epoch(self) -> int:
        return int(self.read()["epoch"])

    def check_rollback(self) -> None:
        """RollbackError when the file is older than the epoch last seen; else move the
        counter up to it (a copy opened here for the first time starts the count)."""
        if self.counter is None:
            return
        epoch, seen = self.epoch(), self.counter.value()
        if seen is not None and epoch < seen:
            raise RollbackError(
                f"the vault is older than it was when last used here (epoch {epoch}, last "
                f"seen {seen}): it was rolled back or restored from a backup. If you "
                "restored it yourself, run `healthlocker verify --accept-restore`"
            )
        self.counter.advance(epoch)


class Counter:
    """The last epoch seen, outside the vault file: ``vault.counter`` beside it, and the OS
    keyring for a vault that unlocks with one. Only ever moves up (several processes write
    it, each after its own commit)."""

    def __init__(self, folder: Path, vault_id: str, *, keyring: bool) -> None:
        self.path = folder / COUNTER_FILE
        self._vault_id = vault_id
        self._keyring = keyring
        self._keyring_due: int | None = None
        self._keyring_at = 0.0

    def value(self) -> int | None:
        """The highest epoch recorded outside the file, or None where nothing is."""
        found = [v for v in (self.file_value(), self.keyring_value()) if v is not None]
        return max(found) if found else None

    def file_value(self) -> int | None:
        try:
            return self._parse(self.path.read_bytes())
        except OSError:
            return None

    def _parse(self, raw: bytes) -> int | None:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("vault") != self._vault_id:
            return None
        value = data.get("epoch")
        return value if isinstance(value, int) else None

    def keyring_value(self) -> int | None:
        if not self._keyring:
            return None
        try:
            import keyring

            stored = keyring.get_password("healthlocker", self._keyring_name)
            return int(stored) if stored else None
        except Exception:  # keyring raises backend-specific errors
            return None

    @property
    def _keyring_name(self) -> str:
        return f"vault-{self._vault_id}-epoch"

    def advance(self, epoch: int, *, exactly: bool = False) -> None:
        """Record *epoch* unless a higher one is recorded (``exactly``: record it as is, for a
        restore the person accepted). A failure to write (a full disk) is not an error: a
        counter that lags only sees less, it never calls a good vault rolled back."""
        with contextlib.suppress(OSError):
            self._write_file(epoch, exactly)
        if self._keyring:
            self._keyring_due = epoch
            if exactly or time.monotonic() - self._keyring_at >= _KEYRING_EVERY:
                self.flush(exactly=exactly)

    def _write_file(self, epoch: int, exactly: bool) -> None:
        import fcntl

        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            stored = self._parse(os.pread(fd, 256, 0))
            if exactly or stored is None or epoch > stored:
                # Fixed width, written in place: no new block is needed on a full disk.
                text = json.dumps({"vault": self._vault_id, "epoch": epoch}).ljust(95) + "\n"
                os.pwrite(fd, text.encode("ascii"), 0)
                os.ftruncate(fd, len(text))
        finally:
            os.close(fd)

    def flush(self, *, exactly: bool = False) -> None:
        """Write the keyring copy now if it is behind (done on close)."""
        due, self._keyring_due = self._keyring_due, None
        if due is None or not self._keyring:
            return
        stored = self.keyring_value()
        if exactly or stored is None or due > stored:
            with contextlib.suppress(Exception):
                import keyring

                keyring.set_password("healthlocker", self._keyring_name, str(due))
        self._keyring_at = time.monotonic()
