"""The vault's one SQLite connection and its one transaction helper.

Nothing outside ``store/`` sees the connection: every write goes through :meth:`Database.
transaction`, which nests. The outermost level is ``BEGIN IMMEDIATE`` … ``COMMIT`` (the write
lock is taken up front, so a check-then-write inside cannot race another process); an inner
level is a SAVEPOINT, so a failure inside it undoes only its own writes and leaves the outer
transaction to go on or fail as its caller decides. One guard rolls back on any exception,
``KeyboardInterrupt`` included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from healthlocker.errors import StoreError


class Database:
    """The connection, its transactions, and the counter that says stored resources changed."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self.path = path
        self._depth = 0
        self._writes = 0  # resource writes made through this object (see version)

    # -- statements ------------------------------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first row of a query, or None."""
        return self._conn.execute(sql, args).fetchone()

    def script(self, sql: str) -> None:
        self._conn.executescript(sql)

    # -- transactions ----------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All the writes inside, or none of them. Nests (an inner level is a savepoint)."""
        conn = self._conn
        depth = self._depth
        savepoint = f"hl_{depth}"
        conn.execute(f"SAVEPOINT {savepoint}" if depth else "BEGIN IMMEDIATE")
        self._depth = depth + 1
        try:
            yield
            conn.execute(f"RELEASE {savepoint}" if depth else "COMMIT")
        except BaseException:
            # The one rollback guard (the body or the commit failed). SQLite may already have
            # rolled the whole transaction back (a full disk, say).
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {savepoint}" if depth else "ROLLBACK")
                if depth:
                    conn.execute(f"RELEASE {savepoint}")
            raise
        finally:
            self._depth = depth

    # -- what changed ----------------------------------------------------------------------

    def resources_changed(self) -> None:
        """Say, inside a write's transaction, that stored resources changed (see version)."""
        self._conn.execute(
            "INSERT INTO meta VALUES ('resources_version', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1"
        )
        self._writes += 1

    def version(self) -> tuple[int, int]:
        """Changes whenever stored resources may have changed (here or in another process).

        A counter in ``meta`` that every resource write bumps in its own transaction, not
        SQLite's ``data_version``: that one also moves on every other process's audit entry or
        grant, which in a multi-worker server emptied each worker's caches on nearly every call.
        """
        row = self._conn.execute(
            "SELECT value FROM meta WHERE name = 'resources_version'"
        ).fetchone()
        return (int(row[0]) if row else 0, self._writes)

    # -- the files -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and empty it."""
        if self.path is not None:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def scrub(self) -> None:
        """Push freed (already zeroed, by secure_delete) pages out of the WAL and the file."""
        if self.path is None:
            return
        if self._conn.in_transaction:
            raise StoreError("the vault cannot be scrubbed inside a transaction")
        self.checkpoint()
        self._conn.execute("VACUUM")
        self.checkpoint()

    def set_autocheckpoint(self, pages: int) -> None:
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")

    def close(self) -> None:
        self._conn.close()
