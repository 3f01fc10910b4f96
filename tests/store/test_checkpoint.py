"""The checkpointer: the write-ahead log goes into the vault file off the committing thread."""

from __future__ import annotations

import os
import time
from pathlib import Path

from healthlocker.store import Vault


def test_the_log_goes_into_the_file_off_the_committing_thread(vault: Vault) -> None:
    """Commits no longer checkpoint by themselves (SQLite's default, every 1,000 pages); the
    checkpointer's own thread does, on its own connection."""
    path = vault.path
    assert path is not None
    vault.scrub()  # start from an empty log
    start = path.stat().st_size
    rows = vault.table("oauth")
    idle = vault.start_checkpointer(every=3600)  # its first round is an hour away
    assert idle is not None
    for batch in range(30):  # 1,500 pages of 4 KiB, each commit durable
        with vault.transaction():
            for i in range(50):
                rows.put(("bulk", f"{batch}-{i}"), expires=None, body=os.urandom(3900))
    assert path.stat().st_size < start + 100_000  # all of it still in the log
    assert Path(f"{path}-wal").stat().st_size > 1500 * 4096
    idle.stop()
    busy = vault.start_checkpointer(every=0.05)
    assert busy is not None
    deadline = time.monotonic() + 10
    while path.stat().st_size < start + 1500 * 4096 and time.monotonic() < deadline:
        time.sleep(0.05)
    busy.stop()
    assert path.stat().st_size >= start + 1500 * 4096  # moved into the file by the checkpointer
    assert len(rows.rows("id", kind="bulk")) == 1500


def test_an_in_memory_vault_has_no_log_to_move() -> None:
    with Vault.ephemeral() as vault:
        assert vault.start_checkpointer() is None
