"""The vault: an encrypted SQLite store of FHIR R4 resources, one key per source.

:class:`Vault` is the facade other packages use. Behind it, by responsibility: the connection
and its transactions (``_db``), the keys (``_keys``, unlocking in ``_unlock``), sources and type
names (``_sources``), writes (``_writes``), reads and their caches (``_query``), and the sealed
tables other packages keep (``_sealed``, declared in ``_tables``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

from healthlocker.errors import StoreError, VaultExistsError, VaultNotFoundError
from healthlocker.store import _unlock
from healthlocker.store._checkpoint import Checkpointer
from healthlocker.store._crypto import random_id, random_key
from healthlocker.store._db import Database
from healthlocker.store._keys import Keys, write_system_keys
from healthlocker.store._query import Reader, StoredResource
from healthlocker.store._schema import FORMAT, connect, create_tables
from healthlocker.store._sealed import SealedTable, Table
from healthlocker.store._sources import SourceInfo, Sources, now
from healthlocker.store._stage import Notice, clear_stale
from healthlocker.store._state import Counter, State, new_record
from healthlocker.store._tables import TABLES
from healthlocker.store._types import Item
from healthlocker.store._writes import BatchResult, Writer

_PARTS = ("", "-wal", "-shm", "-journal")


class Vault:
    """An unlocked vault. Create with :meth:`create`, :meth:`open` or :meth:`ephemeral`."""

    def __init__(
        self, db: Database, vault_id: str, vmk: bytes, counter: Counter | None = None
    ) -> None:
        self._db = db
        self.path = db.path
        self.vault_id = vault_id
        self._keys = Keys(db, vault_id, vmk)
        self._state = State(db, self._keys, counter)
        self._sources = Sources(db, self._keys, self._state)
        self._reader = Reader(db, self._keys, self._sources)
        folder = None if db.path is None else db.path.parent
        self._writer = Writer(db, self._keys, self._sources, self._reader, folder)
        self._tables: dict[str, SealedTable] = {}
        self._side: list[Database] = []

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls, home: str | Path | None = None, *, passphrase: str | None, keyring: bool = False
    ) -> Vault:
        """Create a new, empty vault. At least one of *passphrase* and *keyring* is required."""
        folder = _unlock.vault_home(home)
        path = folder / _unlock.DB_NAME
        if path.exists():
            raise VaultExistsError(f"a vault already exists in {folder}")
        if not passphrase and not keyring:
            raise StoreError("a new vault needs a passphrase or --keyring")
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder} is a file, not a folder; give --home a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:  # a file in the way, no permission, a read-only disk
            raise StoreError(
                f"cannot make the vault folder {folder}: {exc.strerror or exc}; "
                "give --home (or HEALTHLOCKER_HOME) a folder you can write"
            ) from None
        # Built under a temporary name and renamed into place when whole: a crash or a kill
        # during creation (key derivation takes a while) never leaves a half-made vault.
        partial = folder / f".{_unlock.DB_NAME}.partial"
        _remove(partial, _PARTS)
        old_umask = os.umask(0o077)
        try:
            db = Database(connect(partial), partial)
        finally:
            os.umask(old_umask)
        vault_id, vmk = random_id(16), random_key()
        try:
            _initialise(db, vault_id, vmk)
            with db.transaction():
                if passphrase:
                    _unlock.write_slot(db, vault_id, "passphrase", passphrase, vmk)
                if keyring:
                    secret = _unlock.new_keyring_secret(vault_id)
                    _unlock.write_slot(db, vault_id, "keyring", secret, vmk)
            db.checkpoint()
            db.close()
            os.replace(partial, path)
        except BaseException:
            db.close()
            _remove(partial, _PARTS[:3])
            raise
        _remove(partial, _PARTS[1:3])
        counter = Counter(folder, vault_id, keyring=keyring)
        counter.advance(1, exactly=True)  # a new vault: any older count here was another's
        return cls(Database(connect(path), path), vault_id, vmk, counter)

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        *,
        prompt: _unlock.Prompt | None = None,
        on_wait: Notice | None = None,
        allow_rollback: bool = False,
    ) -> Vault:
        """Open and unlock an existing vault (passphrase from env, keyring, or *prompt*).

        RollbackError when the file is older than the state last seen here (see ``_state``),
        unless *allow_rollback* (``verify`` reports it instead). *on_wait* is told, in one
        line, when an import or forget must wait for another one."""
        folder = _unlock.vault_home(home)
        path = folder / _unlock.DB_NAME
        if not path.is_file():
            raise VaultNotFoundError(f"no vault in {folder}; run `healthlocker init` first")
        db = Database(connect(path), path)
        try:
            row = db.one("SELECT value FROM meta WHERE name = 'vault_id'")
            fmt = db.one("SELECT value FROM meta WHERE name = 'format'")
        except Exception:
            db.close()
            raise StoreError(f"{path} is not a healthlocker vault") from None
        if row is None or fmt is None or int(fmt[0]) != FORMAT:
            db.close()
            raise StoreError(_format_message(path, None if fmt is None else int(fmt[0])))
        vault_id = str(row[0])
        try:
            vmk = _unlock.unlock_master_key(db, vault_id, prompt)
            create_tables(db)  # what a vault made by an older version lacks
            keyring = "keyring" in _unlock.slot_names(db)
            vault = cls(db, vault_id, vmk, Counter(folder, vault_id, keyring=keyring))
            if not allow_rollback:
                vault._state.check_rollback()
        except BaseException:
            db.close()
            raise
        vault._writer.on_wait = on_wait
        clear_stale(folder)  # what an import killed mid-way left (sealed rows; never used)
        return vault

    @classmethod
    def ephemeral(cls) -> Vault:
        """An in-memory vault with a throwaway key: nothing reaches the disk."""
        db = Database(connect(None), None)
        vault_id, vmk = random_id(16), random_key()
        _initialise(db, vault_id, vmk)
        return cls(db, vault_id, vmk)

    def close(self) -> None:
        if self._state.counter is not None:
            self._state.counter.flush()
        for side in self._side:
            side.close()
        self._db.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys ------------------------------------------------------------------------------

    def change_passphrase(self, new_passphrase: str, *, rotate: bool = False) -> bool:
        """Re-wrap the master key under a new passphrase; with *rotate*, make a new master key
        too (every key re-wrapped, new vault and data keys for later writes; see ``Keys.
        rotate``). The old slot is overwritten and the log checkpointed: False when another
        process's open read kept the old slot in the log (it goes once that read ends)."""
        with self._db.transaction():
            if rotate:
                self._keys.rotate(new_passphrase)
            else:
                self._keys.change_passphrase(new_passphrase)
            self._state.update(lambda record: None)  # a new epoch: the old slots are stale
        return self._db.checkpoint(patience=2)

    def check_passphrase(self, passphrase: str) -> bool:
        """Whether *passphrase* unlocks this vault, in constant time (the pages' sign-in)."""
        return self._keys.check_passphrase(passphrase)

    def add_keyring(self) -> None:
        """Let the OS keyring unlock this vault too: a new random secret there, a slot here
        (replacing any keyring slot before). UnlockError where no keyring is usable."""
        self._keys.add_keyring()

    def remove_keyring(self) -> None:
        """Stop the OS keyring unlocking this vault: its slot here and its secret there go.
        Refused when it is the only way to unlock the vault."""
        self._keys.remove_keyring()

    def keyring_unlocks(self) -> bool:
        """Whether a process without a passphrase (an assistant's spawned server) can unlock
        this vault: it has a keyring slot and the OS keyring holds its secret."""
        return self._keys.keyring_unlocks()

    def passphrase_check(self) -> Callable[[str], bool]:
        """A passphrase check whose slow part needs no connection (see ``Keys``)."""
        return self._keys.passphrase_check()

    def tag(self, term: str) -> bytes:
        """The keyed blind-index tag of a term (type, code, month, ...)."""
        return self._keys.tag(term)

    def digest(self, data: bytes) -> bytes:
        """A keyed digest (HMAC-SHA-256 under the index key)."""
        return self._keys.digest(data)

    def seal_meta(self, data: bytes, *, table: str, row: str) -> bytes:
        """Seal vault-level metadata with the vault key, bound to its table and row."""
        return self._keys.seal_meta(data, table=table, row=row)

    def unseal_meta(self, token: bytes, *, table: str, row: str) -> bytes:
        return self._keys.unseal_meta(token, table=table, row=row)

    # -- transactions and sealed tables ----------------------------------------------------

    def transaction(self) -> AbstractContextManager[None]:
        """``with vault.transaction():`` every write inside, or none. Nests: an inner one is a
        savepoint, so its failure undoes only its own writes."""
        return self._db.transaction()

    def snapshot(self) -> AbstractContextManager[None]:
        """``with vault.snapshot():`` every read inside sees one committed state, whatever
        other processes commit meanwhile (for checks that compare several reads)."""
        return self._db.snapshot()

    def table(self, name: str) -> SealedTable:
        """The handle on a sealed table declared in the store (`store._tables`: grants, audit,
        oauth, links, shares)."""
        found = self._tables.get(name)
        if found is None:
            spec = _spec(name)
            found = self._tables[name] = SealedTable(spec, self._db, self._keys, self._state)
        return found

    def side_table(self, name: str) -> SealedTable:
        """A read-only handle on a sealed table over a connection of its own, for reads that
        must not wait behind the vault's connection (a file vault only)."""
        if self.path is None:
            raise StoreError("an in-memory vault has no second connection")
        side = Database(connect(self.path, read_only=True), self.path)
        self._side.append(side)
        return SealedTable(_spec(name), side, self._keys, State(side, self._keys, None))

    def start_checkpointer(self, every: float = 1.0) -> Checkpointer | None:
        """Move the write-ahead log into the file every *every* seconds, on a thread and a
        connection of its own (see :class:`Checkpointer`); None for an in-memory vault."""
        return None if self.path is None else Checkpointer(self._db, self.path, every)

    # -- writes ----------------------------------------------------------------------------

    def import_batch(
        self,
        items: Iterable[Item],
        *,
        source: str,
        kind: str,
        name: str,
        file_digest: bytes,
        on_item: Callable[[], None] | None = None,
        validated: bool = False,
        on_publish: Callable[[], None] | None = None,
    ) -> BatchResult:
        """Validate and store one batch atomically (see :meth:`Writer.import_batch`)."""
        return self._writer.import_batch(
            items,
            source=source,
            kind=kind,
            name=name,
            file_digest=file_digest,
            on_item=on_item,
            validated=validated,
            on_publish=on_publish,
        )

    def forget(self, label: str | None) -> list[str]:
        """Crypto-erase one source (or every one, with None), in one transaction: its data key,
        resources and batches, the details of audit entries that returned its records, and for
        a linked API its link and sealed tokens; then scrub the freed pages. Returns the labels
        of the sources erased; SourceNotFoundError if *label* names no source and no link."""
        return self._writer.forget(label, [self.table(name) for name in TABLES])

    def scrub(self) -> bool:
        """Push freed (already zeroed, by secure_delete) pages out of the WAL and the file;
        False when another connection's open read kept part of the log."""
        return self._db.scrub()

    # -- reads -----------------------------------------------------------------------------

    def version(self) -> tuple[int, int]:
        """Changes whenever stored resources may have changed (here or in another process)."""
        return self._db.version()

    def resources(
        self,
        resource_type: str,
        *,
        terms: Iterable[str] = (),
        since: date | str | None = None,
        until: date | str | None = None,
    ) -> list[StoredResource]:
        """Resources of one type, optionally having any of *terms* and dated in [since, until]
        (see :meth:`Reader.resources`)."""
        return self._reader.resources(resource_type, terms=terms, since=since, until=until)

    def iter_all(self) -> Iterator[dict[str, Any]]:
        """Every stored resource, decrypted, one per type/id (the newest import wins)."""
        return self._reader.iter_all()

    def source_label(self, source_id: str) -> str:
        return self._reader.source_label(source_id)

    def source_labels(self) -> dict[str, str]:
        """Source id -> label, cached until the database changes."""
        return self._reader.source_labels()

    def sources(self) -> list[SourceInfo]:
        return self._sources.all()

    def drop_caches(self) -> None:
        """Forget every decrypted resource and query result, as right after opening."""
        self._reader.reset()

    def stats(self) -> dict[str, Any]:
        db = self._db
        size = sum(
            Path(str(self.path) + s).stat().st_size
            for s in ("", "-wal")
            if self.path and Path(str(self.path) + s).exists()
        )
        return {
            "path": str(self.path) if self.path else None,
            "resources": db.one("SELECT count(*) FROM resources")[0],
            "sources": db.one("SELECT count(*) FROM sources")[0],
            "batches": db.one("SELECT count(*) FROM batches")[0],
            "bytes": size,
            "unlock": _unlock.slot_names(db),
        }

    def check_integrity(self) -> bool:
        """Whether SQLite finds the vault file intact (``PRAGMA integrity_check``)."""
        return bool(self._db.one("PRAGMA integrity_check") == ("ok",))

    def verify(self) -> list[str]:
        """Check the whole vault (not the audit chain: ``consent`` does that): one line per
        problem, naming no health data; empty when everything is authentic and current."""
        from healthlocker.store._verify import Checker

        checker = Checker(self._db, self._keys, self._state, self._sources)
        with self._db.snapshot():
            return checker.run([self.table(name) for name in TABLES])

    def accept_restore(self) -> None:
        """Take this vault's state as the latest (after the person restored a backup on
        purpose): the counter outside the file is set to its epoch."""
        if self._state.counter is not None:
            self._state.counter.advance(self._state.epoch(), exactly=True)


def _spec(name: str) -> Table:
    spec = TABLES.get(name)
    if spec is None:
        raise StoreError(f"the vault declares no table {name!r}; one of: {', '.join(TABLES)}")
    return spec


def _initialise(db: Database, vault_id: str, vmk: bytes) -> None:
    """A new vault's tables, meta, system keys and state record (epoch 1, an empty audit)."""
    create_tables(db)
    with db.transaction():
        db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
        db.execute("INSERT INTO meta VALUES ('vault_id', ?)", (vault_id,))
        db.execute("INSERT INTO meta VALUES ('created', ?)", (now(),))
        write_system_keys(db, vault_id, vmk)
        State(db, Keys(db, vault_id, vmk), None).write(new_record())


def _format_message(path: Path, found: int | None) -> str:
    if found is not None and found < FORMAT:
        return (
            f"{path} was made by an older healthlocker (vault format {found}; this version "
            f"reads {FORMAT}, which authenticates every index and keeps a state record). "
            "Export it with the version that made it (`healthlocker export`), then import the "
            "export into a new vault"
        )
    return f"{path} is not a healthlocker vault this version can read"


def _remove(base: Path, suffixes: Iterable[str]) -> None:
    for suffix in suffixes:
        Path(str(base) + suffix).unlink(missing_ok=True)
