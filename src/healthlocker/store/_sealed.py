"""Sealed tables: a table declared once in the store, and the handle other packages use.

A :class:`Table` says everything about one table: its columns, which of them are sealed (with
the vault key, the seal bound to the table and the row's key, so a value copied to another row
or table fails to open), whether rows expire, whether it is a hash chain (the audit log, whose
head the state record keeps), and what ``forget`` must drop from it. The store creates every
declared table when a vault is opened; :class:`SealedTable` reads and writes one without any
SQL outside the store.

Every write of a table that is not a chain updates its manifest in the state record (row count
and a keyed multiset hash of every column of every row, see ``_manifest``), in the write's own
transaction; every read checks the table against it whenever it changed. A row deleted, added,
edited (a sealed value or a plain one, such as an expiry time) or written back from an earlier
state -- a revoked grant's live body, say -- makes the read fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from healthlocker.errors import IntegrityError, StoreError
from healthlocker.store._db import Database
from healthlocker.store._keys import Keys
from healthlocker.store._manifest import Manifest, moved, row_hash, table_sum
from healthlocker.store._state import State

KeyPart = str | int
Key = KeyPart | tuple[KeyPart, ...]


class Sealed(bytes):
    """A value already sealed for its place (made by :meth:`SealedTable.seal`): stored as is."""


@dataclass(frozen=True)
class Forgetting:
    """What one ``forget`` erases: a source label (None: every source) and the source ids."""

    label: str | None
    source_ids: tuple[str, ...]


ForgetHook = Callable[["SealedTable", Database, Forgetting], int]


@dataclass(frozen=True)
class Table:
    """One sealed table's declaration."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type and constraints)
    key: tuple[str, ...] = ("id",)
    sealed: Mapping[str, str] = field(default_factory=dict)  # column -> table its seal binds to
    constraints: tuple[str, ...] = ()
    expires: str | None = None  # a column holding the Unix time after which a row is gone
    name_tag: str | None = None  # rows are found by name: the blind tag of "{name_tag}|{name}"
    chained: bool = False  # a hash chain that vouches for itself; the state keeps its head
    forget: ForgetHook | None = None  # drops what the table holds of forgotten sources
    # Its rows change what the tools answer (whom a record is about): a write bumps the vault's
    # version, so a running server's cached answers go.
    shapes_answers: bool = False

    @property
    def ddl(self) -> str:
        parts = [f"{name} {decl}" for name, decl in self.columns] + list(self.constraints)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(parts)});"

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.columns)

    @property
    def unique(self) -> tuple[str, ...]:
        """Columns besides the key that no two rows share (a write replaces such a row)."""
        return tuple(n for n, decl in self.columns if "UNIQUE" in decl and n not in self.key)


def _key(key: Key) -> tuple[KeyPart, ...]:
    return key if isinstance(key, tuple) else (key,)


class SealedTable:
    """Rows of one declared table. Several writes are made atomic by ``vault.transaction()``."""

    def __init__(self, spec: Table, db: Database, keys: Keys, state: State) -> None:
        self.spec = spec
        self._db = db
        self._keys = keys
        self._state = state
        self._body = next(iter(spec.sealed))
        self._sql: dict[tuple[Any, ...], str] = {}
        self._all = ", ".join(name for name, _ in spec.columns)
        self._verified: Manifest | None = None

    # -- sealing ---------------------------------------------------------------------------

    def seal(self, key: Key, plain: bytes, column: str | None = None) -> Sealed:
        """*plain* sealed for *column* (default: the first sealed column) of the row *key*."""
        table, row = self._place(key, column)
        return Sealed(self._keys.seal_meta(plain, table=table, row=row))

    def open(self, key: Key, token: bytes, column: str | None = None) -> bytes:
        """Open a sealed value read from the row *key*; IntegrityError if it was not sealed
        there (edited, or moved from another row, column or table)."""
        table, row = self._place(key, column)
        return self._keys.unseal_meta(token, table=table, row=row)

    def _place(self, key: Key, column: str | None) -> tuple[str, str]:
        table = self.spec.sealed.get(column or self._body)
        if table is None:
            raise StoreError(f"{self.spec.name}.{column} is not a sealed column")
        return table, ":".join(str(part) for part in _key(key))

    def tag(self, name: str) -> bytes:
        """The blind tag a row found by name carries (tables declared with ``name_tag``)."""
        if self.spec.name_tag is None:
            raise StoreError(f"rows of {self.spec.name} are not found by name")
        return self._keys.tag(f"{self.spec.name_tag}|{name}")

    # -- writing ---------------------------------------------------------------------------

    def put(self, key: Key, **values: Any) -> None:
        """Write the row *key*, replacing any row it conflicts with. Values of sealed columns
        are sealed here unless already :class:`Sealed`."""
        self._write("INSERT OR REPLACE", key, values)

    def insert(self, key: Key, **values: Any) -> None:
        """Write a new row *key*; an error (and nothing written) if the key is taken."""
        self._write("INSERT", key, values)

    def _write(self, verb: str, key: Key, values: dict[str, Any]) -> None:
        parts = _key(key)
        names = (*self.spec.key, *values)
        args = list(parts)
        for column, value in values.items():
            if column in self.spec.sealed and value is not None and not isinstance(value, Sealed):
                value = self.seal(parts, value, column)
            args.append(value)
        sql = self._statement(
            (verb, names),
            lambda: (
                f"{verb} INTO {self.spec.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})"
            ),
            names,
        )
        keyed = dict(zip(self.spec.key, parts, strict=True))
        with self._db.transaction():
            replaced: list[tuple[Any, ...]] = []
            if verb != "INSERT":
                clash = [{c: values[c]} for c in self.spec.unique if values.get(c) is not None]
                replaced = self._select([keyed, *clash])
            self._db.execute(sql, args)
            self._changed(self._select([keyed]), replaced)

    def delete(self, key: Key) -> bool:
        """Delete the row *key*; whether there was one."""
        return self.delete_where(**dict(zip(self.spec.key, _key(key), strict=True))) > 0

    def delete_where(self, **match: Any) -> int:
        """Delete every row whose columns equal *match* (every row, with none); how many."""
        where, args = self._where(match, live=False)
        return self._delete(where, args)

    def purge_expired(self) -> int:
        """Delete the rows whose time is past."""
        if self.spec.expires is None:
            return 0
        return self._delete(f" WHERE {self.spec.expires} < ?", [time.time()])

    def _delete(self, where: str, args: list[Any]) -> int:
        with self._db.transaction():
            gone = self._db.execute(f"SELECT {self._all} FROM {self.spec.name}{where}", args)
            gone_rows = gone.fetchall()
            if gone_rows:
                self._db.execute(f"DELETE FROM {self.spec.name}{where}", args)
                self._changed([], gone_rows)
        return len(gone_rows)

    def _select(self, matches: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Every column of the rows matching any of *matches* (each: columns equal values)."""
        if self.spec.chained:
            return []
        clauses = [" AND ".join(f"{c} = ?" for c in m) for m in matches]
        args = [v for m in matches for v in m.values()]
        where = " OR ".join(f"({c})" for c in clauses)
        sql = f"SELECT {self._all} FROM {self.spec.name} WHERE {where}"
        return self._db.execute(sql, args).fetchall()

    def _changed(self, added: list[tuple[Any, ...]], removed: list[tuple[Any, ...]]) -> None:
        """Move the table's manifest in the state record (inside the write's transaction)."""
        if self.spec.chained:
            return
        if (added or removed) and self.spec.shapes_answers:
            self._db.resources_changed()  # whom records are about changed: answers go stale
        name, keys = self.spec.name, self._keys
        plus = sum(row_hash(keys, name, row) for row in added)
        minus = sum(row_hash(keys, name, row) for row in removed)
        n = len(added) - len(removed)
        self._state.update(
            lambda record: record["tables"].__setitem__(
                name, moved(record["tables"].get(name), plus, minus, n)
            )
        )

    # -- reading ---------------------------------------------------------------------------

    def check(self) -> None:
        """IntegrityError unless the rows are those the state record vouches for (a whole
        recount only when the table changed since the last check)."""
        if self.spec.chained:
            return
        if self._manifest() == self._verified:
            return  # nothing changed since the last check
        with self._db.snapshot():  # the record and the rows of one moment
            want = self._manifest()
            rows = self._db.execute(f"SELECT {self._all} FROM {self.spec.name}").fetchall()
        if table_sum(self._keys, self.spec.name, rows) != want:
            raise IntegrityError(
                f"the vault's {self.spec.name} table does not match its manifest: rows were "
                "deleted, added, edited or written back; run `healthlocker verify`"
            )
        self._verified = want

    def _manifest(self) -> Manifest:
        manifest: Manifest = self._state.read()["tables"].get(self.spec.name, [0, "0" * 64])
        return manifest

    def rows(self, *columns: str, **match: Any) -> list[tuple[Any, ...]]:
        """*columns* (default: all) of the live rows whose columns equal *match*, in key order.
        Sealed columns come as stored: open them with :meth:`open`."""
        names = columns or tuple(name for name, _ in self.spec.columns)
        where, args = self._where(match, live=True)
        sql = self._statement(
            ("select", names, where),
            lambda: (
                f"SELECT {', '.join(names)} FROM {self.spec.name}{where} "
                f"ORDER BY {', '.join(self.spec.key)}"
            ),
            names,
        )
        self.check()
        return self._db.execute(sql, args).fetchall()

    def get(self, key: Key, *columns: str) -> tuple[Any, ...] | None:
        """*columns* (default: all) of the live row *key*, or None."""
        found = self.rows(*columns, **dict(zip(self.spec.key, _key(key), strict=True)))
        return found[0] if found else None

    def body(self, key: Key) -> bytes | None:
        """The opened first sealed column of the live row *key*, or None."""
        row = self.get(key, self._body)
        return None if row is None or row[0] is None else self.open(key, row[0])

    def has(self, key: Key) -> bool:
        return self.get(key, *self.spec.key) is not None

    def _where(self, match: dict[str, Any], *, live: bool) -> tuple[str, list[Any]]:
        unknown = set(match) - self.spec.column_names
        if unknown:
            raise StoreError(f"{self.spec.name} has no column {sorted(unknown)[0]!r}")
        clauses = [f"{name} = ?" for name in match]
        args = list(match.values())
        if live and self.spec.expires is not None:
            clauses.append(f"({self.spec.expires} IS NULL OR {self.spec.expires} >= ?)")
            args.append(time.time())
        return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), args

    def _statement(self, cache_key: tuple[Any, ...], make: Callable[[], str], names: Any) -> str:
        sql = self._sql.get(cache_key)
        if sql is None:
            unknown = set(names) - self.spec.column_names
            if unknown:
                raise StoreError(f"{self.spec.name} has no column {sorted(unknown)[0]!r}")
            sql = self._sql[cache_key] = make()
        return sql

    # -- a chain's head, and forgetting ----------------------------------------------------

    def head(self) -> tuple[int, bytes]:
        """A chained table's last sequence number and chain value, as the state record keeps
        them (made with the vault: (0, zeros))."""
        seq, chain = self._chain_state()[self.spec.name]
        return int(seq), bytes.fromhex(chain)

    def set_head(self, seq: int, chain: bytes) -> None:
        """Move a chained table's head (inside the transaction that appends to it)."""
        self._chain_state()
        name = self.spec.name
        self._state.update(lambda record: record.__setitem__(name, [seq, chain.hex()]))

    def _chain_state(self) -> dict[str, Any]:
        if not self.spec.chained:
            raise StoreError(f"{self.spec.name} is not a chained table")
        record = self._state.read()
        if self.spec.name not in record:
            raise IntegrityError(f"the state record has no head for {self.spec.name}")
        return record

    def forget(self, scope: Forgetting) -> int:
        """Run this table's forget hook (inside forget's transaction); rows it changed."""
        return 0 if self.spec.forget is None else self.spec.forget(self, self._db, scope)
