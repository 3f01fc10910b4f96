"""Validation ahead of storage, on another core.

FHIR validation is most of an import's cost, and it is pure: a worker process parses and
validates file *n+1* while this process seals and stores file *n*. The worker reports the
SHA-256 of the bytes it validated; the store path then reads the file again, checks the bytes
hash the same (else the batch fails and rolls back), and skips re-validating. A file the
worker finds invalid is imported the ordinary way, which reports the same error with its place.
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

from healthlocker.connectors import _fhir
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
    """In the worker: the digest of the file if every resource in it is valid, else None."""
    reader = _fhir.read_json if fmt == "fhir-json" else _fhir.read_ndjson
    try:
        digest = _fhir.file_digest(Path(path))
        for where, resource in reader(Path(path), None, digest):
            validate_resource(resource, where=where)
    except (HealthLockerError, OSError):
        return None
    return digest


@contextmanager
def validator(jobs: Sequence[tuple[Path, str]]) -> Iterator[list[Future[bytes | None]] | None]:
    """Futures (one per job, in order) of the worker's verdicts, or None when not worth it."""
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
        futures = [pool.submit(check_file, str(path), fmt) for path, fmt in jobs]
        try:
            yield futures
        finally:
            for future in futures:
                future.cancel()
