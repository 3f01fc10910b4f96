"""Data portability: everything in the vault, decrypted, as one FHIR R4 Bundle."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from healthlocker.errors import StoreError
from healthlocker.store._crypto import random_id
from healthlocker.store._vault import Vault


def _private_file(folder: Path, name: str) -> tuple[Path, int]:
    """A new file of ours beside *name*: created exclusively (never an existing file, never
    through a link someone placed there), readable by us alone."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(8):
        path = folder / f".{name}.{random_id(6)}.partial"
        try:
            return path, os.open(path, flags, 0o600)
        except FileExistsError:
            continue
    raise StoreError(f"cannot make a temporary file in {folder}")


def export_bundle(vault: Vault, out: Path | TextIO) -> int:
    """Write a ``collection`` Bundle of every resource to *out*, a file or a text stream (say,
    standard output); return how many.

    A file is streamed entry by entry into a private (0600) temporary file beside it, made
    afresh with a random name (a file or link someone left in a shared folder is never written
    through), renamed into place at the end, so a failed export leaves no half-written file
    behind.
    """
    if not isinstance(out, Path):
        return _write_bundle(vault, out)
    out = out.expanduser()
    if out.is_dir():
        raise StoreError(f"{out} is a folder; give a file name for the export")
    tmp: Path | None = None
    count = 0
    try:
        tmp, fd = _private_file(out.parent, out.name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            count = _write_bundle(vault, f)
        os.replace(tmp, out)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    return count


def _write_bundle(vault: Vault, f: TextIO) -> int:
    count = 0
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    f.write(f'{{"resourceType":"Bundle","type":"collection","timestamp":"{stamp}","entry":[')
    for resource in vault.iter_all():
        f.write("," if count else "")
        f.write(json.dumps({"resource": resource}, ensure_ascii=False, separators=(",", ":")))
        count += 1
    f.write("]}\n")
    return count
