"""A CGM export's CSV, row by row: its encoding, its separator, its numbers, the rows it skips.

Exports are UTF-8 (Dexcom writes a byte-order mark) or, from some LibreView exports, UTF-16 with
its byte-order mark: that is re-encoded as UTF-8 chunk by chunk, and the rows are read by
``wellness._csvrows`` (capped lines, strict quoting; errors name the file and the line). The
separator is the one that splits the header best: a comma, or a semicolon or a tab where the
account's locale writes them. A number may have a decimal comma (``5,4``) in any of them.

A reading row that cannot be read (a time or a value that is not one) is skipped and named by
its line, never by its content, through the import's ``Tolerance`` like every format's bad
record (``--strict`` refuses the file; most rows bad refuses it too).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import math
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from healthlocker.connectors._read import HEAD_BYTES, ReadOptions, file_chunks
from healthlocker.connectors.wellness._csvrows import records
from healthlocker.errors import ParseError

SEPARATORS = (",", ";", "\t")
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

Row = tuple[int, list[str]]  # (line number, cells)


def head_lines(head: bytes, n: int) -> list[str]:
    """The first *n* lines of a file's first bytes, as text (what does not decode is dropped:
    the bytes may end inside a character)."""
    if head.startswith(_UTF16):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore").removeprefix("\ufeff")
    return text.splitlines()[:n]


def split(line: str) -> tuple[str, list[str]]:
    """The separator that splits *line* into the most cells, and those cells (stripped)."""
    best: tuple[str, list[str]] = (",", [line.strip()])
    for sep in SEPARATORS:
        try:
            cells = next(csv.reader([line], delimiter=sep))
        except (csv.Error, StopIteration):
            continue
        if len(cells) > len(best[1]):
            best = (sep, [c.strip() for c in cells])
    return best


def rows(path: Path, options: ReadOptions, *, progress: bool = True) -> Generator[Row, None, None]:
    """Every row of the export, the title and header lines first; blank lines skipped.

    Readers close it (``contextlib.closing``), so a file they stop reading early (a bad row) is
    closed then, not whenever the garbage collector finds it."""
    with path.open("rb") as f:
        lines = head_lines(f.read(HEAD_BYTES), 3)
    # The header has the most cells of the first lines (LibreView's title line has five).
    sep = max((split(line) for line in lines), key=lambda s: len(s[1]), default=(",", []))[0]
    chunks = file_chunks(path, options.progress if progress else None)
    for line, cells in records(_utf8(chunks, str(path)), str(path), delimiter=sep):
        yield line, [c.strip() for c in cells]


def _utf8(chunks: Iterable[bytes], where: str) -> Iterator[bytes]:
    """The bytes as UTF-8: UTF-16 (told by its byte-order mark) re-encoded, anything else as is
    (``_csvrows`` refuses what is not UTF-8)."""
    it = iter(chunks)
    first = next(it, b"")
    if not first.startswith(_UTF16):
        yield first
        yield from it
        return
    decoder = codecs.getincrementaldecoder("utf-16")()
    try:
        for chunk in itertools.chain([first], it):
            yield decoder.decode(chunk).encode()
        yield decoder.decode(b"", final=True).encode()
    except UnicodeDecodeError:
        raise ParseError(
            "not UTF-16 text, though it starts as UTF-16 does; export the file again", where=where
        ) from None


def number(text: str) -> float | None:
    """A cell as a number, a decimal comma allowed (``5,4``); None if it is not one."""
    text = text.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".", 1)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
