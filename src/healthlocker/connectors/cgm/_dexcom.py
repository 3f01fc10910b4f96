"""Dexcom Clarity: the CSV export (Clarity → Export) → FHIR R4; docs/cgm.md has the mapping.

Dexcom publishes no specification; the layout is the one published exports show (G4 to G7,
mg/dL and mmol/L; samples/SOURCES.md). One header row, ``Index,Timestamp
(YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,Glucose
Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change
(mg/dL/min),Transmitter Time (Long Integer),Transmitter ID`` (``mmol/L`` for accounts in mmol/L);
untimed rows (``FirstName``, ``LastName``, ``DateOfBirth``, and per display device a ``Device``
row and its ``Alert`` settings), left out; then the timed rows. ``EGV`` rows are the sensor's
readings, every 5 minutes, in local time without an offset; ``Low`` and ``High`` stand for
readings below 40 or above 400 mg/dL (2.2 and 22.2 mmol/L). Calibrations, insulin, carbs,
exercise, health events and notes are counted in the notes and left out.

Ids are deterministic (``cgm-`` + a hash of the transmitter, or the display device for exports
without one, and the local time), so exports of overlapping periods land on the same rows; the
import's source label is ``dexcom-clarity``, whatever the file is called.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path

from healthlocker.connectors._read import Head, ReadOptions, ensure_unchanged
from healthlocker.connectors._tolerance import Tolerance
from healthlocker.connectors.cgm._fhir import MG_DL, MMOL_L, SID, Readings, Sensor, Unit
from healthlocker.connectors.cgm._table import head_lines, number, rows, split
from healthlocker.connectors.cgm._time import Clock
from healthlocker.connectors.wellness._csvrows import Columns, count, describe
from healthlocker.errors import InputFormatError, ParseError
from healthlocker.store import Item

TIME = "Timestamp (YYYY-MM-DDThh:mm:ss)"
EVENT = "Event Type"
CLOCK = "Transmitter Time (Long Integer)"  # seconds on the transmitter's own clock
VALUE = {MG_DL: "Glucose Value (mg/dL)", MMOL_L: "Glucose Value (mmol/L)"}
# Readings outside the sensor's range: (comparator, limit) per unit.
LIMITS = {"low": ("<", {MG_DL: 40.0, MMOL_L: 2.2}), "high": (">", {MG_DL: 400.0, MMOL_L: 22.2})}
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?")
_MODEL = re.compile(r"\b(G[4-7]|ONE\+?|Stelo)\b", re.I)
_EVENTS = {
    "calibration": "calibrations (fingerstick values entered)",
    "insulin": "insulin doses",
    "carbs": "carbohydrate entries",
    "exercise": "exercise entries",
    "health": "health events",
    "notes": "notes",
}


def sniff(head: Head) -> bool:
    """A Clarity export, by its header."""
    lines = head_lines(head.data, 1)
    cells = split(lines[0])[1] if lines else []
    return TIME in cells and EVENT in cells and any(v in cells for v in VALUE.values())


def read_dexcom(path: Path, options: ReadOptions) -> Iterator[Item]:
    """The readings of a Clarity export; ``options.notes`` gets what was left out."""
    ensure_unchanged(path, options)
    where = str(path)
    with closing(rows(path, options)) as table:
        first = next(table, None)
        if first is None:
            raise InputFormatError("no CSV header: the file holds nothing to import", where=where)
        export = _Export(first[1], where, Clock(options.time_zone), options.tolerance)
        for line, cells in table:
            yield from export.row(line, cells)
    options.notes.extend(export.notes())


class _Export:
    def __init__(
        self, header: Sequence[str], where: str, clock: Clock, tolerance: Tolerance
    ) -> None:
        self.cols = Columns(header, (TIME, EVENT), where, "Dexcom Clarity export")
        unit = next((u for u, name in VALUE.items() if name in self.cols.index), None)
        if unit is None:
            raise InputFormatError(
                f"a Dexcom Clarity export with no {VALUE[MG_DL]!r} or {VALUE[MMOL_L]!r} column",
                where=f"{where}: line 1",
            )
        self.unit: Unit = unit
        self.where = where
        self.out = Readings(unit, clock)
        self.tolerance = tolerance
        self.left_out: dict[str, int] = {}
        self.sensors: dict[tuple[str, str], Sensor] = {}

    def row(self, line: int, cells: Sequence[str]) -> Iterator[Item]:
        event = self.cols.text(cells, EVENT)
        stamp = self.cols.text(cells, TIME)
        if event != "EGV":
            if stamp:  # untimed rows are the export's header: the wearer, devices, alerts
                count(self.left_out, _EVENTS.get(event.lower(), "other events"))
            return
        self.tolerance.read += 1
        local = _local(stamp)
        if local is None:
            self._skip(line, f"column {TIME!r}: not a time like 2024-03-01T08:05:00")
            return
        raw = self.cols.text(cells, VALUE[self.unit])
        comparator, limits = LIMITS.get(raw.lower(), (None, None))
        value = limits[self.unit] if limits else number(raw)
        low, high = self.unit.plausible
        if value is None or not low <= value <= high:
            self._skip(line, f"column {VALUE[self.unit]!r}: not a glucose reading")
            return
        place = f"{self.where}: line {line}"
        elapsed = number(self.cols.text(cells, CLOCK))
        yield from self.out.reading(
            self._sensor(cells), local, value, comparator=comparator, elapsed=elapsed, place=place
        )

    def _sensor(self, cells: Sequence[str]) -> Sensor:
        transmitter = self.cols.text(cells, "Transmitter ID")[:64]
        display = self.cols.text(cells, "Source Device ID")[:64]
        known = self.sensors.get((transmitter, display))
        if known is not None:
            return known
        model = _MODEL.search(display) or _MODEL.search(self.cols.text(cells, "Device Info"))
        name = f"Dexcom {model[1][0].upper()}{model[1][1:]}" if model else "Dexcom CGM"
        if transmitter:
            sensor = Sensor("dexcom", transmitter, name, "Dexcom", SID + "dexcom-transmitter-id")
        else:
            key = display or "unknown"
            sensor = Sensor("dexcom", key, name, "Dexcom", SID + "dexcom-display-device")
        self.sensors[(transmitter, display)] = sensor
        return sensor

    def _skip(self, line: int, why: str) -> None:
        self.tolerance.skip(ParseError(why, where=f"{self.where}: line {line}"), counted=True)

    def notes(self) -> list[str]:
        left = [f"not imported: {line}" for line in describe(self.left_out)]
        return self.out.notes() + left


def _local(text: str) -> datetime | None:
    m = _STAMP.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = m.groups()
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return None
