"""Peloton: the workouts CSV (``<user>_workouts.csv``, Profile → Workouts → Download) → FHIR R4.

Each row is a workout Observation (``_resources.workout``): the discipline as its value, its
period from the start time and length, and as components duration (55411-3, min), calories
(41981-2, kcal), average heart rate (8867-4, /min) and Peloton's measures in metric UCUM units
(distance km, speed km/h, pace min/km, output kJ, power W, cadence /min, resistance and incline
%), converted from miles where the account is imperial (the header says which). Per day, the
calories of its workouts are also one active-energy Observation (41981-2), as ``active_energy``
trends read them. docs/wellness.md has the table.

Times look like ``2020-04-17 12:29 (PDT)``. The abbreviations in ``ZONES`` (and numeric
offsets such as ``(-03)`` or ``(+05:30)``) give the offset; a workout in any other zone keeps
its local date, without the time, and the notes say how many (an unknown or ambiguous
abbreviation such as IST is better dated by its day than guessed).

Ids are deterministic: ``peloton-`` + a hash of the start instant (in UTC, so an account that
changed its time zone setting still matches) and the discipline; re-importing, or importing a
later download, adds only the new workouts and updates changed ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from healthlocker.connectors._read import Head, ReadOptions, ensure_unchanged, file_chunks
from healthlocker.connectors.apple._map import DURATION, ENERGY, HEART_RATE
from healthlocker.connectors.wellness._csvrows import Columns, count, header_of, records
from healthlocker.connectors.wellness._csvrows import stable_id as _stable_id
from healthlocker.connectors.wellness._resources import (
    Part,
    amount,
    daily_energy,
    detail,
    workout,
)
from healthlocker.errors import InputFormatError, ParseError
from healthlocker.store import Item

_MI = 1.609344
COLUMNS = (
    "Workout Timestamp", "Live/On-Demand", "Instructor Name", "Length (minutes)",
    "Fitness Discipline", "Type", "Title", "Class Timestamp", "Total Output", "Avg. Watts",
    "Avg. Resistance", "Avg. Cadence (RPM)", "Calories Burned", "Avg. Heartrate",
    "Avg. Incline",
)  # fmt: skip
# Measures whose column names the account's units: (imperial, metric, factor imperial → metric).
UNIT_COLUMNS = (
    ("Avg. Speed (mph)", "Avg. Speed (kph)", _MI),
    ("Distance (mi)", "Distance (km)", _MI),
    ("Avg. Pace (min/mi)", "Avg. Pace (min/km)", 1 / _MI),
)
# column (or, for the measures in UNIT_COLUMNS, their key) → (code, UCUM unit, unit as shown,
# suffix the cell may carry)
_MEASURES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "Total Output": (detail("total-output", "Total output"), "kJ", "kJ", ""),
    "Avg. Watts": (detail("power-average", "Average power"), "W", "W", ""),
    "Avg. Resistance": (detail("resistance-average", "Average resistance"), "%", "%", "%"),
    "Avg. Cadence (RPM)": (detail("cadence-average", "Average cadence"), "/min", "rpm", ""),
    "Avg. Heartrate": (HEART_RATE, "/min", "beats/minute", ""),
    "Avg. Incline": (detail("incline-average", "Average incline"), "%", "%", "%"),
    "speed": (detail("speed-average", "Average speed"), "km/h", "km/h", ""),
    "distance": (detail("distance", "Distance"), "km", "km", ""),
    "pace": (detail("pace-average", "Average pace"), "min/km", "min/km", ""),
}
_TEXTS = (
    ("Title", detail("class-title", "Class")),
    ("Instructor Name", detail("instructor", "Instructor")),
    ("Type", detail("class-type", "Class type")),
    ("Live/On-Demand", detail("live-or-on-demand", "Live or on demand")),
)
# Hours from UTC. CST is US Central (Peloton's exports are North American first); ambiguous
# abbreviations (IST: India, Ireland or Israel) are left out on purpose.
ZONES: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
    "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4,
    "ADT": -3, "NST": -3.5, "NDT": -2.5, "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5,
    "AWST": 8, "NZST": 12, "NZDT": 13, "JST": 9, "KST": 9, "SGT": 8, "HKT": 8,
}  # fmt: skip
_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?\(([^()]{1,20})\)$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")
PREFIX = "peloton"


def is_header(header: Sequence[str]) -> bool:
    return bool(header) and header[0].strip() == "Workout Timestamp"


def sniff(head: Head) -> bool:
    """A Peloton workouts CSV, by its header."""
    return is_header(header_of(head.data) or [])


@dataclass(frozen=True)
class Stamp:
    day: str  # the local date
    start: datetime | None  # None: a time zone we do not know
    zone: str


def parse_stamp(text: str, where: str) -> Stamp:
    m = _STAMP.match(text)
    try:
        if m is None:
            raise ValueError(text)
        y, mo, d, h, mi, s, zone = m.groups()
        local = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        raise ParseError(
            "column 'Workout Timestamp': not a time like 2020-04-17 12:29 (PDT)", where=where
        ) from None
    hours = _offset(zone.strip())
    if hours is None:
        return Stamp(local.date().isoformat(), None, zone.strip())
    tz = timezone(timedelta(minutes=round(hours * 60)))
    return Stamp(local.date().isoformat(), local.replace(tzinfo=tz), zone.strip())


def _offset(zone: str) -> float | None:
    if zone.upper() in ZONES:
        return ZONES[zone.upper()]
    m = _OFFSET.match(zone)
    if m is None or int(m[2]) > 14 or int(m[3] or 0) >= 60:
        return None
    return (1 if m[1] == "+" else -1) * (int(m[2]) + int(m[3] or 0) / 60)


class Workouts:
    """The sink of one workouts CSV: a workout per row, the daily energy at the end."""

    def __init__(self, header: Sequence[str], where: str) -> None:
        self.cols = Columns(header, COLUMNS, where, "Peloton workouts")
        self.where = where
        self.units: dict[str, tuple[str, float]] = {}  # measure → (column, factor to metric)
        for (imperial, metric, factor), key in zip(
            UNIT_COLUMNS, ("speed", "distance", "pace"), strict=True
        ):
            if metric in self.cols.index:
                self.units[key] = (metric, 1.0)
            elif imperial in self.cols.index:
                self.units[key] = (imperial, factor)
            else:
                raise InputFormatError(
                    f"not a Peloton workouts header: no column {imperial!r} or {metric!r}",
                    where=f"{where}: line 1",
                )
        self.energy: dict[str, float] = {}
        self.unknown_zones: dict[str, int] = {}

    def row(self, line: int, cells: Sequence[str]) -> Item:
        """One row's workout; a bad cell raises before anything of the row is kept."""
        place = f"{self.where}: line {line}"
        stamp = parse_stamp(self.cols.text(cells, "Workout Timestamp"), place)
        minutes = self.cols.number(cells, "Length (minutes)", line)
        kcal = self.cols.number(cells, "Calories Burned", line)
        parts: list[Part] = []
        if minutes is not None:
            parts.append((DURATION, amount(minutes, "min")))
        if kcal is not None:
            parts.append((ENERGY, amount(kcal, "kcal")))
        parts += self._measures(cells, line)
        for column, code in _TEXTS:
            if text := self.cols.text(cells, column)[:200]:
                parts.append((code, {"valueString": text}))
        discipline = self.cols.text(cells, "Fitness Discipline")[:60] or "Workout"
        if kcal is not None:
            self.energy[stamp.day] = self.energy.get(stamp.day, 0.0) + kcal
        if stamp.start is None:
            count(self.unknown_zones, stamp.zone[:20])
            when: dict[str, Any] = {"effectiveDateTime": stamp.day}
            key = f"{stamp.day}|{self.cols.text(cells, 'Workout Timestamp')}"
        else:
            when = _period(stamp.start, minutes)
            key = stamp.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rid = _stable_id(PREFIX, "workout", key, discipline)
        return f"{place} (workout)", workout(rid, when, discipline, parts)

    def _measures(self, cells: Sequence[str], line: int) -> list[Part]:
        parts: list[Part] = []
        for key, (code, unit, unit_text, suffix) in _MEASURES.items():
            column, factor = self.units.get(key, (key, 1.0))
            if key == "pace":
                value = _pace(self.cols, cells, column, line)
            else:
                value = self.cols.number(cells, column, line, suffix=suffix)
            if value is not None:
                parts.append((code, amount(value * factor, unit, unit_text)))
        return parts

    def finish(self) -> Iterator[Item]:
        for day, kcal in sorted(self.energy.items()):
            rid = _stable_id(PREFIX, "active_energy", day)
            yield f"{self.where}: active energy {day}", daily_energy(rid, day, kcal)


def _pace(cols: Columns, cells: Sequence[str], column: str, line: int) -> float | None:
    """A pace as minutes: ``12.5`` or ``12:30``."""
    text = cols.text(cells, column)
    minutes, sep, seconds = text.partition(":")
    if sep and minutes.isdigit() and seconds.isdigit() and len(seconds) == 2:
        return int(minutes) + int(seconds) / 60
    return cols.number(cells, column, line)


def _period(start: datetime, minutes: float | None) -> dict[str, Any]:
    if minutes is None or minutes <= 0:
        return {"effectiveDateTime": start.isoformat()}
    end = start + timedelta(seconds=round(minutes * 60))
    return {"effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()}}


def read_peloton(path: Path, options: ReadOptions) -> Iterator[Item]:
    """The workouts of a Peloton workouts CSV; ``options.notes`` gets what was kept only in
    part. Each row is a record: a bad one is skipped and named (``options.tolerance``)."""
    where = str(path)
    ensure_unchanged(path, options)
    tolerance = options.tolerance
    rows = records(file_chunks(path, options.progress), where, tolerance)
    first = next(rows, None)
    if first is None or not is_header(first[1]):
        raise InputFormatError(
            "not a Peloton workouts CSV: its first column is not 'Workout Timestamp'",
            where=f"{where}: line 1",
        )
    sink = Workouts(first[1], where)
    empty = True
    for line, cells in rows:
        empty = False
        item = tolerance.attempt(sink.row, line, cells)
        if item is not None:
            yield item
    yield from sink.finish()
    options.notes.extend(
        f"{n:,} workouts in time zone {zone!r}, which this version does not know: kept at "
        "their local date, without the time"
        for zone, n in sorted(sink.unknown_zones.items())
    )
    if empty and not tolerance.skipped:
        options.notes.append("no workouts in the file (a header only)")
