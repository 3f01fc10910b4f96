"""MyFitnessPal: the export zip (read in place) or its CSV tables one by one → FHIR R4.

An export (Settings → Export data) is a zip of ``Nutrition-Summary-*.csv``,
``Exercise-Summary-*.csv`` and ``Measurement-Summary-*.csv``. Which table a CSV is comes from
its header, not its name; the mapping is in ``_mfp_map``. The zip is read with ``_zipsafe``'s
checks (names, member count, inflated sizes, compression ratio) and its CSVs, like loose ones,
are read row by row (``_csvrows``).

Weights: the measurement table names no unit. ``weight_unit`` (``--weight-unit``) decides;
without it, the unit the export states: a weight column that names it (``Weight (kg)``), else
the same export's exercise table (its ``Kilograms`` or ``Pounds`` column: the account's
setting) -- from the zip, or from an ``Exercise-Summary*.csv`` beside a loose measurement CSV.
Without any, the file is refused with a message naming ``--weight-unit``: a guess is wrong for
half the world (85.5 kg read as pounds is 38.8 kg). The notes say which unit and why.

Each row is a record (``options.tolerance``): a bad one is skipped and named. A note the app
wrote over several lines without quoting it is joined back into its row (:func:`_rows`).

Ids are deterministic (``mfp-`` + a hash of the table, the day and, for a workout, its name and
its place among that day's same-named rows), so a later export of the same account adds the new
days and updates the days that changed; the import uses one source label, ``myfitnesspal``,
whatever the files are called, so exports of different date ranges land on the same rows.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from healthlocker.connectors._read import Head, ReadOptions, ensure_unchanged, file_chunks
from healthlocker.connectors._tolerance import Tolerance
from healthlocker.connectors._zipsafe import Counting, SafeZip, open_zip
from healthlocker.connectors.wellness._csvrows import (
    count,
    describe,
    header_of,
    records,
)
from healthlocker.connectors.wellness._mfp_map import SINKS, Context, kind_of, weight_unit_of
from healthlocker.connectors.wellness._resources import parse_day
from healthlocker.errors import InputFormatError, ParseError
from healthlocker.store import Item

MAX_MEMBERS = 1_000  # an export has three
MAX_CSV_BYTES = 2**30  # one inflated table; ten years of daily logging is a few MB
MAX_TOTAL_BYTES = 4 * 2**30
WEIGHT_UNITS = ("kg", "lb")
_TABLE = re.compile(r"^(?:[^/]+/)?(Exercise|Nutrition|Measurement)-Summary[^/]*\.csv$", re.I)
# The exercise table first: its header names the account's weight unit.
_ORDER = {"exercise": 0, "nutrition": 1, "measurement": 2}


def sniff(head: Head) -> bool:
    """A MyFitnessPal export zip (by the tables in it) or one of its CSVs (by the header)."""
    if head.kind == "zip":
        try:
            with zipfile.ZipFile(head.path) as zf:
                return any(_TABLE.match(n) for n in zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
    header = header_of(head.data)
    return bool(header) and kind_of(header or []) is not None


class ExportZip(SafeZip):
    """An open, checked MyFitnessPal export zip: its tables, exercise first."""

    def __init__(self, zf: zipfile.ZipFile, counting: Counting, where: str) -> None:
        super().__init__(zf, counting, where, max_members=MAX_MEMBERS, max_total=MAX_TOTAL_BYTES)
        found = [(m, n) for n in self.infos if (m := _TABLE.match(n))]
        self.tables = [n for m, n in sorted(found, key=lambda f: (_ORDER[f[0][1].lower()], f[1]))]
        if not self.tables:
            raise InputFormatError(
                "a zip archive, but not a MyFitnessPal export: no Nutrition-, Exercise- or "
                "Measurement-Summary CSV in it",
                where=where,
            )


def read_mfp(path: Path, options: ReadOptions) -> Iterator[Item]:
    """The resources of a MyFitnessPal export zip or one of its CSVs; ``options.notes`` gets
    what was left out and which weight unit was used."""
    weight_unit, progress = options.weight_unit, options.progress
    if weight_unit is not None and weight_unit not in WEIGHT_UNITS:
        raise InputFormatError(f"weight unit {weight_unit[:10]!r}: use kg or lb")
    ensure_unchanged(path, options)
    ctx = Context(
        weight_unit=weight_unit,
        weight_from="as --weight-unit says" if weight_unit else "",
        weight_given=weight_unit is not None,
    )
    tolerance = options.tolerance
    with path.open("rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    if is_zip:
        with open_zip(path, ExportZip) as z:
            for name in z.tables:
                chunks = z.chunks(name, MAX_CSV_BYTES, progress)
                yield from _table(chunks, f"{path}: {name}", ctx, None, tolerance)
            unread = [n for n in z.infos if n not in z.tables and not n.endswith("/")]
            if unread:
                count(ctx.skipped, "files in the zip that are not MyFitnessPal tables", len(unread))
    else:
        yield from _table(file_chunks(path, progress), str(path), ctx, path, tolerance)
    options.notes.extend(_notes(ctx))


def _table(
    chunks: Iterable[bytes], where: str, ctx: Context, path: Path | None, tolerance: Tolerance
) -> Iterator[Item]:
    """One table's resources; *path* is a loose CSV's (its folder may hold the exercise table)."""
    rows = records(chunks, where, tolerance)
    first = next(rows, None)
    if first is None:
        raise InputFormatError("no CSV header: the file holds nothing to import", where=where)
    header = first[1]
    kind = kind_of(header)
    if kind is None:
        raise InputFormatError(
            "not a MyFitnessPal table: the header is not that of a Nutrition-, Exercise- or "
            "Measurement-Summary CSV",
            where=f"{where}: line 1",
        )
    if kind == "exercise":
        ctx.weight_found = ctx.weight_found or weight_unit_of(header)
    if kind == "measurement" and ctx.weight_found is None and path is not None:
        ctx.weight_found = _sibling_unit(path)
    sink = SINKS[kind](header, where, ctx)
    empty = True
    for line, cells in _rows(rows, header):
        empty = False
        yield from tolerance.attempt(sink.row, line, cells) or ()
    yield from sink.finish()
    if empty:
        count(ctx.skipped, f"{kind} tables with no rows")


def _rows(
    rows: Iterator[tuple[int, list[str]]], header: Sequence[str]
) -> Iterator[tuple[int, list[str]]]:
    """The rows of a table whose last column is ``Note``, with a note the app did not quote
    read whole: its commas kept in it, and the lines it runs on to (a record narrower than
    the header that starts with no date) joined back into it."""
    width = len(header)
    if not width or header[-1].strip() != "Note":
        yield from rows
        return
    held: tuple[int, list[str]] | None = None
    for line, cells in rows:
        if held is not None and len(held[1]) == width and _continues(cells, width):
            held[1][-1] += "\n" + ",".join(cells)
            continue
        if held is not None:
            yield held
        if len(cells) > width:
            cells = [*cells[: width - 1], ",".join(cells[width - 1 :])]
        held = (line, cells)
    if held is not None:
        yield held


def _continues(cells: list[str], width: int) -> bool:
    if len(cells) >= width:
        return False
    try:
        parse_day(cells[0].strip(), "Date", "")
    except ParseError:
        return True
    return False


def _sibling_unit(path: Path) -> str | None:
    """The weight unit an exercise table beside *path* names in its header, if any."""
    for sibling in sorted(path.parent.glob("Exercise-Summary*.csv")):
        try:
            with sibling.open("rb") as f:
                header = header_of(f.read(64 * 1024))
        except OSError:
            continue
        if header is not None and kind_of(header) == "exercise":
            return weight_unit_of(header)
    return None


def _notes(ctx: Context) -> list[str]:
    out = []
    if ctx.weights:
        out.append(f"{ctx.weights:,} daily weights read in {ctx.weight_unit} ({ctx.weight_from})")
    if ctx.odd_weights:
        out.append(
            f"{ctx.odd_weights:,} daily weights are outside 20-400 kg when read in "
            f"{ctx.weight_unit}: check --weight-unit"
        )
    return out + [f"not imported: {line}" for line in describe(ctx.skipped)]
