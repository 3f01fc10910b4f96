"""Moving the write-ahead log into the vault file on a thread of its own."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from healthlocker.store._db import Database


class Checkpointer:
    """Copies the vault's write-ahead log into the database file on a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages:
    that commit, made under the server's one lock, then also writes those pages into the
    database file and waits for the disk, and every call queued behind it waits as well. A
    server auditing every call crosses that line every few seconds under load. This thread
    checkpoints every *every* seconds on a connection of its own, PASSIVE (it neither waits for
    nor blocks a writer: SQLite takes no lock a commit needs), outside the server's lock; the
    serving connection's own automatic checkpoint stays, far out, in case this thread falls
    behind. Made by ``Vault.start_checkpointer``.
    """

    BACKSTOP_PAGES = 16_000  # 64 MB of log before a commit checkpoints by itself

    def __init__(self, db: Database, path: Path, every: float = 1.0) -> None:
        db.set_autocheckpoint(self.BACKSTOP_PAGES)
        self._path = path
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hl-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            while not self._stop.wait(self._every):
                with contextlib.suppress(sqlite3.Error):  # busy: the next round will do
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
