"""The vault's one SQLite connection and its one transaction helper.

Nothing outside ``store/`` sees the connection: every write goes through :meth:`Database.
transaction`, which nests. The outermost level is ``BEGIN IMMEDIATE`` … ``COMMIT`` (the write
lock is taken up front, so a check-then-write inside cannot race another process); an inner
level is a SAVEPOINT, so a failure inside it undoes only its own writes and leaves the outer
transaction to go on or fail as its caller decides. One guard rolls back on any exception,
``KeyboardInterrupt`` included, and turns SQLite's own failures (a busy vault, a full disk, a
damaged file) into one-line :class:`StoreError` messages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from healthlocker.errors import StoreError

# How long a write waits for another process's write to end before it gives up (and says so).
BUSY_SECONDS = 10


def translate(exc: sqlite3.Error) -> StoreError | None:
    """A one-line StoreError for SQLite's failures a person can meet and act on; None for the
    rest (a bug keeps its traceback). SQLite's messages name no content."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the vault is busy: another healthlocker process kept it for writing over "
            f"{BUSY_SECONDS} s (a large import or forget?); nothing was written, try again"
        )
    if "full" in text or "disk i/o" in text or "no space" in text:
        return StoreError(
            f"cannot write the vault ({text}: is the disk full?); nothing of this write was "
            "stored, and what was stored before is whole"
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"cannot write the vault ({text})")
    if "malformed" in text or "not a database" in text:
        return StoreError(f"the vault file is damaged ({text}); run `healthlocker verify`")
    return None


@contextmanager
def guarded() -> Iterator[None]:
    """Turn SQLite's failures a person can act on into one-line StoreErrors (see translate)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        mapped = None if isinstance(exc, sqlite3.IntegrityError) else translate(exc)
        if mapped is None:
            raise
        raise mapped from None


class Database:
    """The connection, its transactions, and the counter that says stored resources changed."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self.path = path
        self._depth = 0
        self._writes = 0  # resource writes made through this object (see version)
        self.txn = 0  # counts outermost transactions: which one is open (see State)
        self.undone = False
        self._after: list[Callable[[], None]] = []

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
        with guarded():
            conn.execute(f"SAVEPOINT {savepoint}" if depth else "BEGIN IMMEDIATE")
        if not depth:
            self.txn += 1
            self._after = []
            self.undone = False  # whether a savepoint of this transaction was rolled back
        self._depth = depth + 1
        try:
            with guarded():
                yield
                conn.execute(f"RELEASE {savepoint}" if depth else "COMMIT")
        except BaseException:
            # The one rollback guard (the body or the commit failed). SQLite may already have
            # rolled the whole transaction back (a full disk, say).
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {savepoint}" if depth else "ROLLBACK")
                if depth:
                    conn.execute(f"RELEASE {savepoint}")
                    self.undone = True
            if not depth:
                self._after = []
            raise
        finally:
            self._depth = depth
        if not depth:
            done, self._after = self._after, []
            for action in done:
                action()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees one committed state of the vault (a read transaction), so a
        check compares a record with the rows of the same moment, whatever other processes
        commit meanwhile. Inside a transaction already, that transaction is the snapshot."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run *action* once the open outermost transaction has committed (never if it rolls
        back). Inside a transaction only."""
        if not self._depth:
            raise StoreError("after_commit outside a transaction")
        if action not in self._after:
            self._after.append(action)

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

    def checkpoint(self, patience: float = BUSY_SECONDS) -> bool:
        """Move the write-ahead log into the database file and empty it, waiting up to
        *patience* seconds for other connections' reads; False when one kept part of the log
        (it empties at a later checkpoint, once that read ended)."""
        if self.path is None:
            return True
        self._conn.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
        try:
            row = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        return row is None or not row[0]

    def scrub(self) -> bool:
        """Push freed (already zeroed, by secure_delete) pages out of the WAL and the file;
        False when another connection kept the log from emptying."""
        if self.path is None:
            return True
        if self._conn.in_transaction:
            raise StoreError("the vault cannot be scrubbed inside a transaction")
        with guarded():
            self.checkpoint()
            self._conn.execute("VACUUM")
            return self.checkpoint()

    def set_autocheckpoint(self, pages: int) -> None:
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")

    def close(self) -> None:
        self._conn.close()
