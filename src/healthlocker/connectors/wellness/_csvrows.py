"""CSV exports (MyFitnessPal, Peloton), read row by row with explicit caps.

Lines are cut from chunks (``_read.file_chunks``, 1 MiB); a line longer than ``MAX_LINE_BYTES``
is refused as soon as that many bytes have been read without a line break, so a 2 GB
single-line file costs one cap's worth of memory, not 2 GB. A quoted field may span lines;
Python's csv module caps a field at ``csv.field_size_limit()`` (128 KiB), so an unclosed quote
is refused too rather than swallowing the file. Text is UTF-8 (a byte-order mark is allowed).
Errors name the file (and zip member), the line and, for a cell, the column; never a value.

A row is a record (``_tolerance``): a row the csv module cannot read (a stray quote inside an
unquoted cell) is skipped and named, when the reader passes its ``Tolerance``; a quote that is
never closed, which takes the lines after it along, refuses the file. Cells are read as the
apps write them: a cell quoted twice (2026 MyFitnessPal exports write names so, which the
csv module reads as ``"Walking"``) loses the outer quotes, and a number cell holding a
placeholder such as ``None`` (Peloton, for a ride with no distance) is not recorded.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence

from healthlocker.connectors._tolerance import Tolerance
from healthlocker.errors import InputFormatError, LimitError, ParseError

MAX_LINE_BYTES = 1 << 20  # real rows are under 1 KiB; a note may be a few
# What apps write in a number cell for "not recorded" (compared case-insensitively).
PLACEHOLDERS = frozenset({"none", "null", "nan", "n/a", "na", "--", "-", "—", "–"})


def lines(chunks: Iterable[bytes], where: str, cap: int | None = None) -> Iterator[bytes]:
    """The lines of *chunks*, each with its line break; none longer than *cap* bytes."""
    cap = MAX_LINE_BYTES if cap is None else cap
    buf = b""
    lineno = 0
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        start = 0
        while (end := buf.find(b"\n", start)) != -1:
            lineno += 1
            if end + 1 - start > cap:
                raise _too_long(where, lineno, cap)
            yield buf[start : end + 1]
            start = end + 1
        buf = buf[start:]
        if len(buf) > cap:
            raise _too_long(where, lineno + 1, cap)
    if buf:
        yield buf


def _too_long(where: str, lineno: int, cap: int) -> LimitError:
    size = f"{cap // 2**20} MiB" if cap >= 2**20 else f"{cap:,} bytes"
    return LimitError(
        f"a line over {size}; this is not an export as the app writes it",
        where=f"{where}: line {lineno}",
    )


def _text(raw: Iterable[bytes], where: str) -> Iterator[str]:
    for lineno, line in enumerate(raw, 1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(
                "not UTF-8 text; save the file as UTF-8 and import it again",
                where=f"{where}: line {lineno}",
            ) from None
        yield text.removeprefix("\ufeff") if lineno == 1 else text


def records(
    chunks: Iterable[bytes],
    where: str,
    tolerance: Tolerance | None = None,
    delimiter: str = ",",
) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every CSV record, the header first; blank lines skipped.
    With *tolerance*, a record of one line that the csv module cannot read is skipped there."""
    reader = csv.reader(_text(lines(chunks, where), where), strict=True, delimiter=delimiter)
    while True:
        before = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = ParseError(f"malformed CSV ({exc})", where=f"{where}: line {reader.line_num}")
            # A quote left open swallows the lines after it: the file is broken, not a row.
            if tolerance is None or before == 0 or reader.line_num - before > 1:
                raise error from None
            tolerance.skip(error)
            continue
        if cells and any(c.strip() for c in cells):
            yield reader.line_num, cells


def header_of(head: bytes) -> list[str] | None:
    """The header cells of a CSV file from its first bytes, or None if it does not read as one."""
    first = head.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    if not first or b"\x00" in first:
        return None
    try:
        cells = next(csv.reader([first.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    return [c.strip() for c in cells]


class Columns:
    """A CSV header: which cell holds which column, checked against what a format needs."""

    def __init__(
        self, header: Sequence[str], required: Iterable[str], where: str, what: str
    ) -> None:
        self.names = [c.strip() for c in header]
        self.index = {name: i for i, name in enumerate(self.names)}
        missing = [c for c in required if c not in self.index]
        if missing:
            raise InputFormatError(
                f"not a {what} header: no column {', '.join(repr(m) for m in missing[:5])}"
                f"{' and more' if len(missing) > 5 else ''}; import the file as the app "
                "exported it",
                where=f"{where}: line 1",
            )
        self.where = where

    def text(self, cells: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return unquoted(cells[i].strip()) if i is not None and i < len(cells) else ""

    def number(
        self, cells: Sequence[str], name: str, line: int, *, suffix: str = ""
    ) -> float | None:
        """The cell as a number (None when empty); *suffix* (like ``%``) may follow it."""
        text = self.text(cells, name).removesuffix(suffix).strip()
        if not text or text.casefold() in PLACEHOLDERS:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ParseError(
                f"column {name!r}: not a number", where=f"{self.where}: line {line}"
            ) from None
        return value


def unquoted(text: str) -> str:
    """*text* without a second layer of CSV quoting: ``"Walking"`` becomes ``Walking``, and
    the quotes escaped inside it (doubled) become single ones."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        inner = text[1:-1]
        # Only a whole second layer: every quote inside it escaped (doubled).
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"').strip()
    return text


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic resource id: the same source, kind and identity give the same id."""
    return f"{prefix}-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def count(notes: dict[str, int], what: str, n: int = 1) -> None:
    notes[what] = notes.get(what, 0) + n


def describe(notes: dict[str, int]) -> list[str]:
    return [f"{n:,} × {what}" for what, n in sorted(notes.items())]
