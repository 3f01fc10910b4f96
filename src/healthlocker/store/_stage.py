"""Where an import batch waits until it is whole, and the lock that queues imports.

An import batch is read, validated and sealed into a *stage* -- a scratch SQLite database
attached to the vault's connection (a ``.stage-*.db`` file in the vault folder, or memory for
an in-memory vault) holding only sealed rows and blind tags -- without holding the vault's
write lock. Only then does one short transaction move it into the vault: all of it, or none.
So a running server's calls (and their audit entries) wait for that move, never for the
reading and validating of a large file. One import (or forget) at a time holds the vault
folder's ``.import.lock``; another waits for it, saying so once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from healthlocker.store._crypto import random_id
from healthlocker.store._db import Database, guarded

Notice = Callable[[str], None]
_CHUNK = 2000  # staged rows per commit of the stage (the vault itself is not locked by it)
_STAGE = """
CREATE TABLE stage.rows (
    seq INTEGER PRIMARY KEY, rkey BLOB NOT NULL UNIQUE, old_id INTEGER, type_tag BLOB NOT NULL,
    month_tag BLOB, digest BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE stage.terms (seq INTEGER NOT NULL, tag BLOB NOT NULL);
CREATE INDEX stage.terms_seq ON terms (seq);
"""


@contextmanager
def import_lock(folder: Path | None, on_wait: Notice | None) -> Iterator[None]:
    """Hold the vault folder's import lock (queued behind any other import or forget)."""
    if folder is None:
        yield
        return
    import fcntl

    fd = os.open(folder / ".import.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait("waiting for another import or forget in this vault to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        for stale in folder.glob(".stage-*.db*"):  # left by a killed import; ours is not made
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)


Row = tuple[bytes, bytes | None, bytes, bytes]  # type tag, month tag, digest, sealed body


class Stage:
    """One batch's new and changed rows, sealed, until :meth:`publish` moves them in."""

    def __init__(self, db: Database, folder: Path | None) -> None:
        self._db = db
        self.path = None if folder is None else folder / f".stage-{random_id()}.db"
        if self.path is not None:  # made here, private, never through a link
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_RDWR, 0o600))
        with guarded():
            db.execute("ATTACH DATABASE ? AS stage", (str(self.path or ":memory:"),))
            db.execute("PRAGMA stage.journal_mode = OFF")  # scratch: a crash discards it whole
            db.execute("PRAGMA stage.synchronous = OFF")
            db.script(_STAGE)
        self._pending = 0

    def find(self, rkey: bytes) -> tuple[int, bytes] | None:
        """The sequence number and digest of a row this batch already staged, or None."""
        found = self._db.one("SELECT seq, digest FROM stage.rows WHERE rkey = ?", (rkey,))
        return None if found is None else (found[0], found[1])

    def add(self, rkey: bytes, old_id: int | None, row: Row, terms: list[bytes]) -> None:
        """Stage a row (a new one, or a new version of stored row *old_id*)."""
        with guarded():
            self._begin()
            cur = self._db.execute(
                "INSERT INTO stage.rows (rkey, old_id, type_tag, month_tag, digest, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (rkey, old_id, *row),
            )
            self._terms(int(cur.lastrowid or 0), terms)
            self._commit_every()

    def replace(self, seq: int, row: Row, terms: list[bytes]) -> None:
        """A later version, within the same batch, of the staged row *seq*."""
        with guarded():
            self._begin()
            self._db.execute(
                "UPDATE stage.rows SET type_tag = ?, month_tag = ?, digest = ?, body = ? "
                "WHERE seq = ?",
                (*row, seq),
            )
            self._db.execute("DELETE FROM stage.terms WHERE seq = ?", (seq,))
            self._terms(seq, terms)
            self._commit_every()

    def _terms(self, seq: int, terms: list[bytes]) -> None:
        self._db.executemany("INSERT INTO stage.terms VALUES (?, ?)", [(seq, tag) for tag in terms])

    def _begin(self) -> None:
        if not self._db.in_transaction:  # a plain BEGIN: it locks the stage, not the vault
            self._db.execute("BEGIN")

    def _commit_every(self) -> None:
        self._pending += 1
        if self._pending >= _CHUNK:
            self.finish()

    def finish(self) -> None:
        """Commit what is staged (before the publishing transaction begins)."""
        if self._db.in_transaction:
            with guarded():
                self._db.execute("COMMIT")
        self._pending = 0

    def type_tags(self) -> list[bytes]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT type_tag FROM stage.rows")]

    def publish(self, source_id: str) -> None:
        """Move every staged row and its index terms into the vault, inside the caller's
        transaction: new rows get fresh ids past the highest stored one."""
        db = self._db
        base = int(db.one("SELECT coalesce(max(id), 0) FROM main.resources")[0])
        db.execute(
            "INSERT INTO main.resources (id, source_id, rkey, type_tag, month_tag, digest, body) "
            "SELECT ? + seq, ?, rkey, type_tag, month_tag, digest, body FROM stage.rows "
            "WHERE old_id IS NULL",
            (base, source_id),
        )
        db.execute(
            "DELETE FROM main.resource_terms WHERE resource_id IN "
            "(SELECT old_id FROM stage.rows WHERE old_id IS NOT NULL)"
        )
        db.execute(
            "UPDATE main.resources SET type_tag = s.type_tag, month_tag = s.month_tag, "
            "digest = s.digest, body = s.body FROM stage.rows AS s WHERE main.resources.id = "
            "s.old_id"
        )
        db.execute(
            "INSERT OR IGNORE INTO main.resource_terms (tag, resource_id) "
            "SELECT t.tag, coalesce(s.old_id, ? + s.seq) FROM stage.terms AS t "
            "JOIN stage.rows AS s ON s.seq = t.seq",
            (base,),
        )

    def close(self) -> None:
        """Detach and delete the stage (after the batch was published or abandoned)."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        with contextlib.suppress(Exception):
            self._db.execute("DETACH DATABASE stage")
        if self.path is not None:
            self.path.unlink(missing_ok=True)
