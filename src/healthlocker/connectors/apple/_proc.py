"""A big export is read in a second process, so parsing and storing run on two cores.

The reader process parses the export and builds its resources (``_reader.produce``): most of an
import's work, all of it pure. It sends them here in batches through a pipe, with the bytes read
for the progress bar; this process validates (``_check``) and stores them meanwhile. A
:class:`ConnectorError` in the reader (malformed XML, a zip bomb, …) comes back as the same
error, naming the file and the place, and fails the batch, which the store rolls back. Below
``MIN_PARALLEL_BYTES``, starting an interpreter costs more than it saves, and the export is
read here.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from healthlocker import errors
from healthlocker.errors import ConnectorError
from healthlocker.store import Item

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
BATCH = 256
OUTBOX = 8  # batches queued for sending, pickled (bounds the reader's memory; < 1 MB each)
PROGRESS_EVERY = 4 * 1024 * 1024
# The reader's peak RSS (KiB) in the last import that used one: for the benchmark.
last_reader_peak_kib: int | None = None

Producer = Callable[[Path, Callable[[int], None] | None, dict[str, int]], Iterator[Item]]


def worth_it(xml_bytes: int) -> bool:
    """Whether an export.xml this big is worth a reader process."""
    return xml_bytes >= MIN_PARALLEL_BYTES and (multiprocessing.cpu_count() or 1) >= 2


def _peak_kib() -> int:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return -1
    m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else -1


def _exit_with(parent: int) -> None:
    """Exit as soon as the importing process is gone (even if it was killed): no orphan keeps
    reading the export or holds the pipe open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _child(path: str, conn: Connection, produce: Producer, parent: int) -> None:
    """In the reader process: produce the resources and send them in batches.

    A thread sends, so that parsing goes on while this process's batches wait for the other to
    take them (resources come in bursts: a record type's days all at once). The queue between
    them is bounded, so when the importing process falls far behind, parsing waits for it.
    """
    _exit_with(parent)
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=OUTBOX)
    sender = threading.Thread(target=_send_all, args=(outbox, conn), daemon=True)
    sender.start()
    skipped: dict[str, int] = {}
    read = 0

    def put(*message: Any) -> None:
        # Queued pickled: a resource takes a few times less memory as bytes than as objects.
        outbox.put(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))

    def progress(n: int) -> None:
        nonlocal read
        read += n
        if read >= PROGRESS_EVERY:
            put("progress", read)
            read = 0

    try:
        batch: list[Item] = []
        for item in produce(Path(path), progress, skipped):
            batch.append(item)
            if len(batch) >= BATCH:
                put("items", batch)
                batch = []
        put("items", batch)
        put("progress", read)
        put("done", skipped, _peak_kib())
    except ConnectorError as exc:
        text = str(exc)
        message = text.removeprefix(f"{exc.where}: ") if exc.where else text
        put("error", type(exc).__name__, message, exc.where)
    except BaseException:
        put("crash", traceback.format_exc())
    finally:
        outbox.put(None)
        sender.join()
        conn.close()


def _send_all(outbox: queue.Queue[bytes | None], conn: Connection) -> None:
    while (message := outbox.get()) is not None:
        try:
            conn.send_bytes(message)
        except OSError:  # the importing process stopped reading: nothing left to do
            os._exit(0)


class Reader:
    """A reader process for *path*, started at once, so that it parses while the importing
    process still hashes the file; iterate over it for the resources. ``close`` stops it."""

    def __init__(
        self,
        path: Path,
        progress: Callable[[int], None] | None,
        skipped: dict[str, int],
        produce: Producer,
    ) -> None:
        self.path, self.progress, self.skipped, self.produce = path, progress, skipped, produce
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the vault
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child,
            args=(str(path), send, produce, os.getpid()),
            name="healthlocker-apple-reader",
        )
        self.process.daemon = True
        self.process.start()
        send.close()

    def __iter__(self) -> Iterator[Item]:
        try:
            yield from self._received()
        finally:
            self.close()

    def close(self) -> None:
        self.receive.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()

    def _received(self) -> Iterator[Item]:
        global last_reader_peak_kib
        started = False
        while True:
            try:
                message: tuple[Any, ...] = pickle.loads(self.receive.recv_bytes())
            except EOFError:
                if not started:  # it could not start (no importable __main__, …): read here
                    yield from self.produce(self.path, self.progress, self.skipped)
                    return
                raise ConnectorError(
                    "the process reading the export stopped unexpectedly; import it again",
                    where=str(self.path),
                ) from None
            started = True
            kind = message[0]
            if kind == "items":
                yield from message[1]
            elif kind == "progress":
                if self.progress is not None and message[1]:
                    self.progress(message[1])
            elif kind == "done":
                self.skipped.update(message[1])
                last_reader_peak_kib = message[2]
                return
            elif kind == "error":
                error = getattr(errors, message[1], ConnectorError)
                raise error(message[2], where=message[3])
            else:
                raise RuntimeError(f"the Apple Health reader failed:\n{message[1]}")
