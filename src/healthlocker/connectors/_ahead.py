"""Validation ahead of storage, on another core.

FHIR validation is most of an import's cost, and it is pure: a worker process parses and
validates file *n+1* while this process seals and stores file *n*. The worker reports the
SHA-256 of the bytes it validated; the store path then reads the file again, checks the bytes
hash the same (else the batch fails and rolls back), and skips re-validating. A file the
worker finds invalid is imported the ordinary way, which reports the same error with its place.

Storing is cheaper than validating, so this process would often wait for the worker. Instead
the files are shared (see :class:`Ahead`): while the worker is still on the file to store next,
this process validates a later file the worker has not taken, so both cores validate. Files are
still stored one after another, in order, each after the check of its digest.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from healthlocker.connectors._formats import FORMATS
from healthlocker.connectors._read import ReadOptions, file_digest
from healthlocker.errors import HealthLockerError
from healthlocker.store import validate_resource

# Below this much input, starting a worker (a fresh interpreter) costs more than it saves.
MIN_BYTES = 8 * 1024 * 1024


def _watch_parent(parent: int) -> None:
    """In the worker: exit as soon as the importing process is gone (even if it was killed),
    so no orphan keeps validating or holds its pipes open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def check_file(path: str, fmt: str) -> bytes | None:
    """The digest of the file if every resource in it is valid, else None (also, without
    reading it, for a format not validated ahead: see ``Format.ahead``)."""
    registered = FORMATS.get(fmt)
    if registered is None or not registered.ahead:
        return None
    try:
        digest = file_digest(Path(path))
        for where, resource in registered.read(Path(path), ReadOptions(expect=digest)):
            validate_resource(resource, where=where)
    except (HealthLockerError, OSError):
        return None
    return digest


class Ahead:
    """Jobs shared between this process and one worker; stored in order, validated by either.

    A feeder thread hands the worker one job at a time, always the first one nobody has taken.
    This process takes job 0 itself (so both start at once). Later, instead of waiting for the
    worker to finish the job it must store next, it validates the next job nobody has taken.
    """

    def __init__(self, pool: ProcessPoolExecutor, jobs: Sequence[tuple[Path, str]]) -> None:
        self._pool = pool
        self._jobs = [(str(path), fmt) for path, fmt in jobs]
        self._lock = threading.Lock()
        self._next = 1  # the first job nobody has taken; job 0 is this process's
        self._futures: dict[int, Future[bytes | None]] = {}
        self._own: dict[int, bytes | None] = {}  # verdicts this process reached itself
        self._closed = False
        threading.Thread(target=self._feed, daemon=True).start()

    def _take(self) -> int | None:
        """The first job nobody has taken, now taken (call with the lock held)."""
        if self._closed or self._next >= len(self._jobs):
            return None
        index, self._next = self._next, self._next + 1
        return index

    def _feed(self) -> None:
        while True:
            with self._lock:
                index = self._take()
                if index is None:
                    return
                try:
                    future = self._pool.submit(check_file, *self._jobs[index])
                except RuntimeError:  # the pool is shutting down (or broken)
                    return
                self._futures[index] = future
            try:
                future.result()  # wait until the worker is free again
            except Exception:  # it died: the jobs handed to it are validated here
                return

    def claim(self, index: int) -> bytes | None:
        """The digest of job *index*'s bytes as validated by the worker or ahead in this
        process, or None: validate while storing (a job nobody took, an invalid file, a
        failed worker)."""
        while True:
            with self._lock:
                if index in self._own:
                    return self._own.pop(index)
                future = self._futures.get(index)
                if future is None:
                    self._next = max(self._next, index + 1)
                    return None
                spare = None if future.done() else self._take()
            if spare is None:
                break
            # The worker is still on this job: validate a later one here meanwhile.
            try:
                self._own[spare] = check_file(*self._jobs[spare])
            except Exception:  # as from the worker: no verdict, the ordinary path reports it
                self._own[spare] = None
        try:
            return future.result()
        except Exception:  # the worker died: validate here instead
            return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            futures = list(self._futures.values())
        for future in futures:
            future.cancel()


def claim(ahead: Ahead | None, index: int) -> bytes | None:
    """See :meth:`Ahead.claim`; None without a worker."""
    return None if ahead is None else ahead.claim(index)


@contextmanager
def validator(jobs: Sequence[tuple[Path, str]]) -> Iterator[Ahead | None]:
    """The jobs shared with a worker process, or None when that is not worth it."""
    total = 0
    for path, _ in jobs:
        try:
            total += path.stat().st_size
        except OSError:
            continue
    if len(jobs) < 2 or total < MIN_BYTES or (multiprocessing.cpu_count() or 1) < 2:
        yield None
        return
    context = multiprocessing.get_context("spawn")  # no copy of the open vault in the child
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
    ) as pool:
        ahead = Ahead(pool, jobs)
        try:
            yield ahead
        finally:
            ahead.close()
