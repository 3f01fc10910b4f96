"""The vault: an encrypted SQLite store of FHIR R4 resources, one key per source."""

from __future__ import annotations

import hmac
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthlocker.errors import (
    HealthLockerError,
    SourceNotFoundError,
    StoreError,
    VaultExistsError,
    VaultNotFoundError,
)
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
from healthlocker.store._fhirpaths import clinical_date, index_terms
from healthlocker.store._query import QueryMixin, bump_resources_version, month_span
from healthlocker.store._schema import FORMAT, connect, create_tables
from healthlocker.store._types import Item
from healthlocker.store._validate import validate_resource

if TYPE_CHECKING:
    import sqlite_utils


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# One encoder for every body: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_MAX_TAGS = 50_000


def _dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


@dataclass
class BatchResult:
    """What one atomic batch did."""

    source: str
    name: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_file: bool = False
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class SourceInfo:
    id: str
    label: str
    kind: str
    created: str
    updated: str
    batches: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Vault(QueryMixin):
    """An unlocked vault. Create with :meth:`create`, :meth:`open` or :meth:`ephemeral`."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None, vault_id: str, vmk: bytes):
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        self.path = path
        self.vault_id = vault_id
        self._vmk = KeySet.single(vault_id[:16], vmk)
        self._source_keys: dict[str, KeySet] = {}
        self._writes = 0
        vault_key = self._system_key("vault")
        self._meta_keys = KeySet.single(vault_key[0], vault_key[1])
        self._index_key = self._system_key("index")[1]
        self._type_names: dict[bytes, str] = {}
        self._tags: dict[str, bytes] = {}
        self._init_query_cache()

    @property
    def db(self) -> sqlite_utils.Database:
        """The same connection through sqlite-utils, made on first use: importing sqlite-utils
        costs about 40 ms, which a server's start-up and tool calls never need."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

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
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Built under a temporary name and renamed into place when whole: a crash or a kill
        # during creation (key derivation takes a while) never leaves a half-made vault.
        partial = folder / f".{_unlock.DB_NAME}.partial"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        old_umask = os.umask(0o077)
        try:
            conn = connect(partial)
        finally:
            os.umask(old_umask)
        vault_id = random_id(16)
        vmk = random_key()
        try:
            cls._initialise(conn, vault_id, vmk)
            conn.execute("BEGIN IMMEDIATE")
            if passphrase:
                _unlock.write_slot(conn, vault_id, "passphrase", passphrase, vmk)
            if keyring:
                secret = _unlock.new_keyring_secret(vault_id)
                _unlock.write_slot(conn, vault_id, "keyring", secret, vmk)
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            os.replace(partial, path)
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(partial) + suffix).unlink(missing_ok=True)
            raise
        for suffix in ("-wal", "-shm"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        return cls(connect(path), path, vault_id, vmk)

    @classmethod
    def open(cls, home: str | Path | None = None, *, prompt: _unlock.Prompt | None = None) -> Vault:
        """Open and unlock an existing vault (passphrase from env, keyring, or *prompt*)."""
        folder = _unlock.vault_home(home)
        path = folder / _unlock.DB_NAME
        if not path.is_file():
            raise VaultNotFoundError(f"no vault in {folder}; run `healthlocker init` first")
        conn = connect(path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'vault_id'").fetchone()
            fmt = conn.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
        except Exception:
            conn.close()
            raise StoreError(f"{path} is not a healthlocker vault") from None
        if row is None or fmt is None or int(fmt[0]) != FORMAT:
            conn.close()
            raise StoreError(f"{path} is not a healthlocker vault this version can read")
        vault_id = str(row[0])
        try:
            vmk = _unlock.unlock_master_key(conn, vault_id, prompt)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, vault_id, vmk)

    @classmethod
    def ephemeral(cls) -> Vault:
        """An in-memory vault with a throwaway key: nothing reaches the disk."""
        conn = connect(None)
        vault_id, vmk = random_id(16), random_key()
        cls._initialise(conn, vault_id, vmk)
        return cls(conn, None, vault_id, vmk)

    @staticmethod
    def _initialise(conn: sqlite3.Connection, vault_id: str, vmk: bytes) -> None:
        create_tables(conn)
        vmk_keys = KeySet.single(vault_id[:16], vmk)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
        conn.execute("INSERT INTO meta VALUES ('vault_id', ?)", (vault_id,))
        conn.execute("INSERT INTO meta VALUES ('created', ?)", (_now(),))
        for purpose in ("vault", "index"):
            key_id = random_id()
            wrapped = seal(vmk_keys, random_key(), context={"t": "keys", "row": key_id, "src": ""})
            conn.execute("INSERT INTO keys VALUES (?, ?, '', ?)", (key_id, purpose, wrapped))
        conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-wrap the master key under a new passphrase; the data stays as sealed."""
        if not new_passphrase:
            raise StoreError("the new passphrase is empty")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            _unlock.write_slot(
                self.conn, self.vault_id, "passphrase", new_passphrase, self._vmk_bytes
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def check_passphrase(self, passphrase: str) -> bool:
        """Whether *passphrase* unlocks this vault (the browser pages' sign-in), in constant
        time with respect to the stored key; False for a vault without a passphrase slot."""
        if not passphrase or len(passphrase) > 1024:
            return False
        try:
            key = _unlock.open_slot(self.conn, self.vault_id, "passphrase", passphrase)
        except HealthLockerError:
            return False
        return hmac.compare_digest(key, self._vmk_bytes)

    @property
    def _vmk_bytes(self) -> bytes:
        return self._vmk.keys[self._vmk.primary]

    # -- keys ------------------------------------------------------------------------------

    def _unwrap(self, key_id: str, owner: str, wrapped: bytes) -> bytes:
        return unseal(self._vmk, wrapped, context={"t": "keys", "row": key_id, "src": owner})

    def _system_key(self, purpose: str) -> tuple[str, bytes]:
        row = self.conn.execute(
            "SELECT id, wrapped FROM keys WHERE purpose = ? AND owner = ''", (purpose,)
        ).fetchone()
        if row is None:
            raise StoreError("the vault is missing a key; it may be damaged")
        return row[0], self._unwrap(row[0], "", row[1])

    def _source_keyset(self, source_id: str) -> KeySet:
        keys = self._source_keys.get(source_id)
        if keys is None:
            keys = KeySet()
            for key_id, wrapped in self.conn.execute(
                "SELECT id, wrapped FROM keys WHERE purpose = 'source' AND owner = ? "
                "ORDER BY rowid",
                (source_id,),
            ):
                keys = keys.with_key(key_id, self._unwrap(key_id, source_id, wrapped), primary=True)
            self._source_keys[source_id] = keys
        return keys

    def tag(self, term: str) -> bytes:
        """The keyed blind-index tag of a term (type, code, month, ...)."""
        return blind(self._index_key, term)

    def _term_tag(self, term: str) -> bytes:
        """:meth:`tag`, remembered: the type, month and code terms of an import repeat."""
        found = self._tags.get(term)
        if found is None:
            if len(self._tags) >= _MAX_TAGS:
                self._tags.clear()
            found = self._tags[term] = blind(self._index_key, term)
        return found

    def seal_meta(self, data: bytes, *, table: str, row: str) -> bytes:
        """Seal vault-level metadata (sources, grants, audit) with the vault key."""
        return seal(self._meta_keys, data, context={"t": table, "row": row})

    def unseal_meta(self, token: bytes, *, table: str, row: str) -> bytes:
        return unseal(self._meta_keys, token, context={"t": table, "row": row})

    def digest(self, data: bytes) -> bytes:
        return keyed_digest(self._index_key, data)

    # -- sources ---------------------------------------------------------------------------

    def _source_row(self, label: str) -> tuple[str, dict[str, Any]] | None:
        row = self.conn.execute(
            "SELECT id, body FROM sources WHERE label_tag = ?", (self.tag(f"source|{label}"),)
        ).fetchone()
        if row is None:
            return None
        return row[0], json.loads(self.unseal_meta(row[1], table="sources", row=row[0]))

    def _ensure_source(self, label: str, kind: str) -> tuple[str, dict[str, Any]]:
        found = self._source_row(label)
        if found is not None:
            return found
        source_id, key_id = random_id(), random_id()
        wrapped = seal(
            self._vmk, random_key(), context={"t": "keys", "row": key_id, "src": source_id}
        )
        self.conn.execute(
            "INSERT INTO keys VALUES (?, 'source', ?, ?)", (key_id, source_id, wrapped)
        )
        info = {"label": label, "kind": kind, "created": _now(), "updated": _now()}
        self.conn.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?)",
            (
                source_id,
                self.tag(f"source|{label}"),
                key_id,
                self.seal_meta(_dumps(info), table="sources", row=source_id),
            ),
        )
        return source_id, info

    def sources(self) -> list[SourceInfo]:
        counts: dict[str, dict[str, int]] = {}
        for source_id, type_tag, n in self.conn.execute(
            "SELECT source_id, type_tag, count(*) FROM resources GROUP BY source_id, type_tag"
        ):
            counts.setdefault(source_id, {})[self._type_name(type_tag)] = n
        batches = dict(
            self.conn.execute("SELECT source_id, count(*) FROM batches GROUP BY source_id")
        )
        out = []
        for source_id, body in self.conn.execute("SELECT id, body FROM sources"):
            info = json.loads(self.unseal_meta(body, table="sources", row=source_id))
            out.append(
                SourceInfo(
                    source_id,
                    info["label"],
                    info["kind"],
                    info["created"],
                    info["updated"],
                    batches.get(source_id, 0),
                    dict(sorted(counts.get(source_id, {}).items())),
                )
            )
        return sorted(out, key=lambda s: s.label)

    def _source_labels(self) -> dict[str, str]:
        # Only the small sources table: this runs on every audited call.
        return {
            source_id: json.loads(self.unseal_meta(body, table="sources", row=source_id))["label"]
            for source_id, body in self.conn.execute("SELECT id, body FROM sources")
        }

    def _type_name(self, tag: bytes) -> str:
        name = self._type_names.get(tag)
        if name is None:
            row = self.conn.execute("SELECT body FROM type_names WHERE tag = ?", (tag,)).fetchone()
            name = (
                self.unseal_meta(row[0], table="type_names", row=tag.hex()).decode() if row else "?"
            )
            self._type_names[tag] = name
        return name

    def _remember_type(self, rtype: str, tag: bytes) -> None:
        if tag not in self._type_names:
            self.conn.execute(
                "INSERT OR IGNORE INTO type_names VALUES (?, ?)",
                (tag, self.seal_meta(rtype.encode(), table="type_names", row=tag.hex())),
            )
            self._type_names[tag] = rtype

    # -- import ----------------------------------------------------------------------------

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
    ) -> BatchResult:
        """Validate and store one batch atomically: all of it, or (on any error) none of it.

        A batch whose file digest this source already holds is skipped whole; a resource equal
        to the stored one is left untouched, so importing the same input twice changes nothing.
        ``validated=True`` says every item already passed :func:`validate_resource` (in a
        worker, over bytes with this very digest); then only the basics are checked here.
        """
        conn = self.conn
        result = BatchResult(source=source, name=name)
        conn.execute("BEGIN IMMEDIATE")
        type_cache = dict(self._type_names)
        try:
            source_id, info = self._ensure_source(source, kind)
            file_tag = self.tag(f"file|{file_digest.hex()}")
            if conn.execute(
                "SELECT 1 FROM batches WHERE source_id = ? AND file_tag = ?", (source_id, file_tag)
            ).fetchone():
                conn.execute("ROLLBACK")
                result.skipped_file = True
                return result
            keys = self._source_keyset(source_id)
            for where, resource in items:
                self._store_one(source_id, keys, where, resource, result, validated)
                if on_item is not None:
                    on_item()
            batch_id = random_id()
            body = {
                "name": name,
                "kind": kind,
                "at": _now(),
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
            conn.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?)",
                (
                    batch_id,
                    source_id,
                    file_tag,
                    self.seal_meta(_dumps(body), table="batches", row=batch_id),
                ),
            )
            info["updated"] = _now()
            conn.execute(
                "UPDATE sources SET body = ? WHERE id = ?",
                (self.seal_meta(_dumps(info), table="sources", row=source_id), source_id),
            )
            bump_resources_version(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._type_names = type_cache
            self._source_keys.clear()
            raise
        self._writes += 1
        return result

    def _store_one(
        self,
        source_id: str,
        keys: KeySet,
        where: str,
        resource: dict[str, Any],
        result: BatchResult,
        validated: bool,
    ) -> None:
        rtype = resource.get("resourceType") if validated else None
        if not isinstance(rtype, str):
            rtype = validate_resource(resource, where=where)
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid:
            raise StoreError(f"{where}: the {rtype} has no id")
        rkey = self.tag(f"{rtype}/{rid}")
        body = _dumps(resource)
        digest = self.digest(body)[:16]
        conn = self.conn
        row = conn.execute(
            "SELECT id, digest FROM resources WHERE source_id = ? AND rkey = ?", (source_id, rkey)
        ).fetchone()
        result.by_type[rtype] = result.by_type.get(rtype, 0) + 1
        if row is not None and row[1] == digest:
            result.unchanged += 1
            return
        type_tag = self._term_tag(f"type|{rtype}")
        self._remember_type(rtype, type_tag)
        date = clinical_date(resource)
        month_tag = (
            self._term_tag(f"month|{rtype}|{date[:7]}") if date and month_span(date) else None
        )
        sealed = seal(keys, body, context={"t": "resources", "row": rkey.hex(), "src": source_id})
        if row is None:
            cur = conn.execute(
                "INSERT INTO resources (source_id, rkey, type_tag, month_tag, digest, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (source_id, rkey, type_tag, month_tag, digest, sealed),
            )
            rowid = cur.lastrowid
            result.added += 1
        else:
            rowid = row[0]
            conn.execute(
                "UPDATE resources SET type_tag = ?, month_tag = ?, digest = ?, body = ? "
                "WHERE id = ?",
                (type_tag, month_tag, digest, sealed, rowid),
            )
            conn.execute("DELETE FROM resource_terms WHERE resource_id = ?", (rowid,))
            result.updated += 1
        conn.executemany(
            "INSERT OR IGNORE INTO resource_terms (tag, resource_id) VALUES (?, ?)",
            [(self._term_tag(f"{rtype}|{term}"), rowid) for term in index_terms(resource)],
        )

    # -- forgetting ------------------------------------------------------------------------

    def forget(
        self, label: str | None, *, also: Callable[[list[str]], object] | None = None
    ) -> list[str]:
        """Crypto-erase one source (or all, with None).

        Its keys are destroyed, its rows deleted, and the freed pages scrubbed. *also* runs
        inside the same transaction with the source ids (the audit uses it to drop details).
        """
        conn = self.conn
        if label is None:
            ids = [r[0] for r in conn.execute("SELECT id FROM sources")]
            labels = [s.label for s in self.sources()]
        else:
            found = self._source_row(label)
            if found is None:
                raise SourceNotFoundError(
                    f"no source named {label!r}; `healthlocker sources` lists them"
                )
            ids, labels = [found[0]], [label]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for source_id in ids:
                conn.execute(
                    "DELETE FROM resource_terms WHERE resource_id IN "
                    "(SELECT id FROM resources WHERE source_id = ?)",
                    (source_id,),
                )
                for table, column in (
                    ("resources", "source_id"),
                    ("batches", "source_id"),
                    ("keys", "owner"),
                    ("sources", "id"),
                ):
                    conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (source_id,))
            if also is not None:
                also(ids)
            bump_resources_version(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        for source_id in ids:
            self._source_keys.pop(source_id, None)
        self._opened.clear()
        self._writes += 1
        self.scrub()
        return labels

    def scrub(self) -> None:
        """Push freed (already zeroed, by secure_delete) pages out of the WAL and the file."""
        if self.path is None:
            return
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading everything ----------------------------------------------------------------

    def iter_all(self) -> Iterator[dict[str, Any]]:
        """Every stored resource, decrypted, one per type/id (the newest import wins)."""
        seen: set[bytes] = set()
        for rowid, source_id, rkey, body in self.conn.execute(
            "SELECT id, source_id, rkey, body FROM resources ORDER BY id DESC"
        ):
            if rkey in seen:
                continue
            seen.add(rkey)
            yield self._open_body(rowid, source_id, rkey, body)

    def _open_body(self, rowid: int, source_id: str, rkey: bytes, body: bytes) -> dict[str, Any]:
        data = unseal(
            self._source_keyset(source_id),
            body,
            context={"t": "resources", "row": rkey.hex(), "src": source_id},
        )
        resource: dict[str, Any] = json.loads(data)
        return resource

    def stats(self) -> dict[str, Any]:
        conn = self.conn
        size = sum(
            Path(str(self.path) + s).stat().st_size
            for s in ("", "-wal")
            if self.path and Path(str(self.path) + s).exists()
        )
        return {
            "path": str(self.path) if self.path else None,
            "resources": conn.execute("SELECT count(*) FROM resources").fetchone()[0],
            "sources": conn.execute("SELECT count(*) FROM sources").fetchone()[0],
            "batches": conn.execute("SELECT count(*) FROM batches").fetchone()[0],
            "bytes": size,
            "unlock": _unlock.slot_names(self.conn),
        }
