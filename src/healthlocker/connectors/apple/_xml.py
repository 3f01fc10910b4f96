"""Streaming ``export.xml``: an lxml target parser that folds samples into daily accumulators.

No tree is built: lxml calls :meth:`Collector.start` / :meth:`Collector.end` per element and the
collector adds the sample to its day's accumulator, so memory follows the number of days and
types, never the number of samples. The parser resolves no external entities, reads no DTD
from anywhere (the export's internal one is allowed: it only declares elements), and never uses
the network; a document that declares entities is refused before parsing starts, so nothing is
ever expanded. Nesting is capped (an export is five levels deep).

Hot path: ``start`` for ``Record`` runs millions of times; it does a dict lookup on the type,
slices the date strings and updates one accumulator. Anything rarer goes through a method.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from sys import intern
from typing import Any

from lxml import etree

from healthlocker.connectors._read import XML_HARDENED
from healthlocker.connectors.apple._map import (
    DIASTOLIC,
    QTYPE,
    QUANTITIES,
    SYSTOLIC,
    generic_spec,
    source_class,
)
from healthlocker.errors import ConnectorError, InputFormatError, LimitError, ParseError

SLOT_MINUTES = 15
SLOTS = 24 * 60 // SLOT_MINUTES
_ZEROS = bytes(4 * SLOTS)
# "HH:MM" → its 15-minute slot, and → minute of the day.
_SLOT = {f"{m // 60:02d}:{m % 60:02d}": m // SLOT_MINUTES for m in range(1440)}
_MINUTE = {f"{m // 60:02d}:{m % 60:02d}": m for m in range(1440)}
MAX_DEPTH = 8  # HealthData > Workout > WorkoutRoute > FileReference: real exports use 4
MAX_SPREAD_DAYS = 7  # a cumulative sample longer than this is counted on its first day
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
# Sleep values → index in a night's accumulator (minutes); the asleep states are 0-3.
SLEEP_STATES = {
    "HKCategoryValueSleepAnalysisAsleep": 0,  # before iOS 16
    "HKCategoryValueSleepAnalysisAsleepUnspecified": 0,
    "HKCategoryValueSleepAnalysisAsleepCore": 1,
    "HKCategoryValueSleepAnalysisAsleepDeep": 2,
    "HKCategoryValueSleepAnalysisAsleepREM": 3,
    "HKCategoryValueSleepAnalysisAwake": 4,
    "HKCategoryValueSleepAnalysisInBed": 5,
}
_SUM, _MEAN, _SLEEP, _BP, _SKIP = 1, 2, 3, 4, 0
_ENTITY = re.compile(rb"<!ENTITY", re.I)
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class Collector:
    """The lxml parser target: accumulators by type, source and day."""

    def __init__(self) -> None:
        self.depth = 0
        self.rooted = False
        self.kinds: dict[str, int] = {}
        self.ordered = True  # records come type by type (see _switch)
        self.finished: list[str] = []
        self.finished_ever: set[str] = set()
        self.reopened: set[str] = set()
        # (type, unit, source, day) → float32 per 15-minute slot
        self.sums: dict[tuple[str, str, str, str], array[float]] = {}
        # (type, unit, day) → [sum, n, min, max]
        self.means: dict[tuple[str, str, str], list[float]] = {}
        # (night, source) → minutes per state (see SLEEP_STATES), first start, last end
        self.nights: dict[tuple[str, str], list[Any]] = {}
        # (source, start) → [systolic, diastolic]
        self.pressures: dict[tuple[str, str], list[float | None]] = {}
        self.sources: dict[str, int] = {}  # source name → priority class (0 is first)
        self.workouts: list[dict[str, Any]] = []
        self.summaries: list[dict[str, str]] = []
        self.clinical: list[dict[str, str]] = []
        self.me: dict[str, str] = {}
        self.export_date = ""
        self.skipped: dict[str, int] = {}  # what was not imported → how many
        self._workout: dict[str, Any] | None = None
        self._ordinals: dict[str, int] = {}
        self._others: dict[str, Callable[[Any], None]] = {
            "Me": self._on_me,
            "ExportDate": self._on_export_date,
            "Workout": self._on_workout,
            "WorkoutStatistics": self._on_workout_statistics,
            "ActivitySummary": self._on_summary,
            "ClinicalRecord": self._on_clinical,
        }

    # -- lxml target interface -----------------------------------------------------------------

    def start(self, tag: str, attrib: Any) -> None:
        depth = self.depth = self.depth + 1
        if depth != 2 or tag != "Record":
            if depth > 2:  # metadata, HRV beat lists, a correlation's records (repeated at top)
                if depth > MAX_DEPTH:
                    raise LimitError(f"elements nested more than {MAX_DEPTH} levels deep")
                if tag == "WorkoutStatistics":
                    self._on_workout_statistics(attrib)
            else:
                self._element(tag, attrib, depth)
            return
        rtype = attrib.get("type")
        kind = self.kinds.get(rtype)
        if kind is None:
            kind = self._kind(rtype)
        try:
            if kind == _SUM:
                s = attrib["startDate"]
                e = attrib["endDate"]
                day = s[:10]
                key = (rtype, attrib.get("unit", ""), attrib["sourceName"], day)
                slots = self.sums.get(key)
                if slots is None:
                    slots = self._new_slots(key, attrib)
                a = _MINUTE[s[11:16]]
                b = _MINUTE[e[11:16]]
                i, j = a // SLOT_MINUTES, b // SLOT_MINUTES
                v = float(attrib["value"])
                if i == j and day == e[:10]:
                    slots[i] += v
                elif j == i + 1 and day == e[:10]:  # across one slot boundary: shared by time
                    share = v * (j * SLOT_MINUTES - a) / (b - a)
                    slots[i] += share
                    slots[j] += v - share
                else:
                    self._spread(key, slots, s, e, v)
            elif kind == _MEAN:
                v = float(attrib["value"])
                key2 = (rtype, attrib.get("unit", ""), attrib["startDate"][:10])
                acc = self.means.get(key2)
                if acc is None:  # interned: thousands of keys share a few type and unit names
                    self.means[(intern(rtype), intern(key2[1]), key2[2])] = [v, 1, v, v]
                else:
                    acc[0] += v
                    acc[1] += 1
                    if v < acc[2]:
                        acc[2] = v
                    elif v > acc[3]:
                        acc[3] = v
            elif kind == _SLEEP:
                self._sleep(attrib)
            elif kind == _BP:
                self._pressure(rtype, attrib)
            else:
                self.skipped[rtype] = self.skipped.get(rtype, 0) + 1
        except (KeyError, ValueError, TypeError, IndexError):
            self.skipped["unreadable records"] = self.skipped.get("unreadable records", 0) + 1

    def end(self, tag: str) -> None:
        self.depth -= 1
        if tag == "Workout" and self._workout is not None:
            self.workouts.append(self._workout)
            self._workout = None

    def close(self) -> Collector:
        return self

    # -- rarer elements ------------------------------------------------------------------------

    def _element(self, tag: str, attrib: Any, depth: int) -> None:
        if depth == 1:
            if tag != "HealthData":
                raise InputFormatError(
                    f"not an Apple Health export: the root element is <{tag[:40]}>, "
                    "not <HealthData>"
                )
            self.rooted = True
            return
        handler = self._others.get(tag)
        if handler is not None:
            handler(attrib)
        elif tag != "Correlation":  # a correlation's records are at the top level too
            self.skipped[tag] = self.skipped.get(tag, 0) + 1

    def _kind(self, rtype: Any) -> int:
        if not isinstance(rtype, str):
            return _SKIP
        if rtype in QUANTITIES:
            kind = _SUM if QUANTITIES[rtype].kind == "sum" else _MEAN
        elif rtype in (SYSTOLIC, DIASTOLIC):
            kind = _BP
        elif rtype == SLEEP:
            kind = _SLEEP
        elif rtype.startswith(QTYPE):
            kind = _SUM if generic_spec(rtype, "").kind == "sum" else _MEAN
        else:
            kind = _SKIP
        self._switch(rtype)
        self.kinds[rtype] = kind
        return kind

    def _switch(self, rtype: str) -> None:
        """A record type met for the first time (or again, after others).

        Exports list records type by type, so meeting a new type means the ones before it are
        complete: they are listed in ``finished`` (and dropped from ``kinds``, so that meeting
        one of them again comes here too, and is listed in ``reopened``). After the first such
        return, the export is taken as unordered: no more types are finished early. Costs
        nothing per record.
        """
        if rtype in self.finished_ever:
            self.reopened.add(rtype)
            self.ordered = False
        if not self.ordered:
            return
        done = [t for t in self.kinds if t != rtype]
        for t in done:
            del self.kinds[t]
        self.finished.extend(done)
        self.finished_ever.update(done)

    def take_finished(self) -> list[str]:
        """Record types complete since the last call."""
        done, self.finished = self.finished, []
        return done

    def _new_slots(self, key: tuple[str, str, str, str], attrib: Any) -> array[float]:
        rtype, unit, source, day = key
        key = (intern(rtype), intern(unit), intern(source), day)  # shared by thousands of keys
        slots = self.sums[key] = array("f", _ZEROS)
        if self.sources.get(source, 2) == 2:
            self.sources[source] = source_class(source, attrib.get("device"))
        return slots

    def _minute(self, stamp: str) -> float:
        """Minutes since 0001-01-01 of a stamp, wall-clock (the offset is the device's)."""
        day = stamp[:10]
        base = self._ordinals.get(day)
        if base is None:
            base = self._ordinals[day] = date.fromisoformat(day).toordinal() * 1440
        return base + _MINUTE[stamp[11:16]] + int(stamp[17:19]) / 60

    def _spread(
        self, key: tuple[str, str, str, str], slots: array[float], s: str, e: str, value: float
    ) -> None:
        """A sample over several slots: its value shared out by time, slot by slot."""
        if s[:10] == e[:10]:
            start = _MINUTE[s[11:16]] + int(s[17:19]) / 60
            end = _MINUTE[e[11:16]] + int(e[17:19]) / 60
            if end <= start:
                slots[_SLOT[s[11:16]]] += value
                return
            rate, t = value / (end - start), start
            while t < end:
                edge = min(end, (t // SLOT_MINUTES + 1) * SLOT_MINUTES)
                slots[int(t) // SLOT_MINUTES] += rate * (edge - t)
                t = edge
            return
        start, end = self._minute(s), self._minute(e)  # over midnight: rare
        if not 0 < end - start <= MAX_SPREAD_DAYS * 1440:
            slots[_SLOT[s[11:16]]] += value
            return
        rate, t = value / (end - start), start
        while t < end:
            edge = min(end, (t // SLOT_MINUTES + 1) * SLOT_MINUTES)
            day_index, minute = divmod(int(t), 1440)
            k = (key[0], key[1], key[2], date.fromordinal(day_index).isoformat())
            day_slots = self.sums.get(k)
            if day_slots is None:
                day_slots = self.sums[k] = array("f", _ZEROS)
            day_slots[minute // SLOT_MINUTES] += rate * (edge - t)
            t = edge

    def _sleep(self, attrib: Any) -> None:
        state = SLEEP_STATES.get(attrib.get("value", ""))
        if state is None:
            self.skipped["sleep records with an unknown value"] = (
                self.skipped.get("sleep records with an unknown value", 0) + 1
            )
            return
        s, e = attrib["startDate"], attrib["endDate"]
        start, end = self._minute(s), self._minute(e)
        # A night is named for the day it ends: a sample starting from 18:00 counts towards the
        # next day; one starting earlier (the small hours, a nap) towards its own day.
        night = s[:10]
        if _MINUTE[s[11:16]] >= 1080:
            night = date.fromordinal(int(start) // 1440 + 1).isoformat()
        source = attrib["sourceName"]
        acc = self.nights.get((night, source))
        if acc is None:
            acc = self.nights[(night, source)] = [0.0] * 6 + [None, None, None, None]
            if self.sources.get(source, 2) == 2:
                self.sources[source] = source_class(source, attrib.get("device"))
        acc[state] += max(0.0, end - start)
        if state != 4:  # the night's span: first start and last end of asleep/in-bed samples
            if acc[6] is None or start < acc[6]:
                acc[6], acc[8] = start, s
            if acc[7] is None or end > acc[7]:
                acc[7], acc[9] = end, e

    def _pressure(self, rtype: str, attrib: Any) -> None:
        if attrib.get("unit", "mmHg") != "mmHg":
            self.skipped["blood pressure in a unit other than mmHg"] = (
                self.skipped.get("blood pressure in a unit other than mmHg", 0) + 1
            )
            return
        key = (attrib["sourceName"], attrib["startDate"])
        pair = self.pressures.setdefault(key, [None, None])
        pair[0 if rtype == SYSTOLIC else 1] = float(attrib["value"])

    def _on_me(self, attrib: Any) -> None:
        self.me = dict(attrib)

    def _on_export_date(self, attrib: Any) -> None:
        self.export_date = attrib.get("value", "")

    def _on_workout(self, attrib: Any) -> None:
        self._workout = {"attrib": dict(attrib), "statistics": []}

    def _on_workout_statistics(self, attrib: Any) -> None:
        if self._workout is not None:
            self._workout["statistics"].append(dict(attrib))

    def _on_summary(self, attrib: Any) -> None:
        self.summaries.append(dict(attrib))

    def _on_clinical(self, attrib: Any) -> None:
        self.clinical.append(dict(attrib))


# -- feeding the parser ------------------------------------------------------------------------


def _check_prolog(head: bytes) -> None:
    """Refuse what this parser must never process: declared entities and non-UTF-8 text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:512]:
        raise InputFormatError("not UTF-8 text (Apple Health exports are UTF-8)")
    m = _ENCODING.match(head)
    if m and m.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise InputFormatError(f"declares the encoding {m.group(1).decode()!r}; expected UTF-8")
    if _ENTITY.search(head):
        raise LimitError(
            "the document declares XML entities (<!ENTITY …>); Apple Health exports never do, "
            "and they are refused (entity expansion and external entities)"
        )


def parse_steps(chunks: Iterable[bytes], where: str) -> Iterator[Collector]:
    """Feed *chunks* (the bytes of export.xml, in order) through a collector.

    Yields the collector after each chunk (for work that can start early) and once more when
    the whole document has been read; raises a :class:`ConnectorError` naming *where* and the
    place on anything malformed or hostile.
    """
    target = Collector()
    parser = etree.XMLParser(
        target=target,
        encoding="utf-8",  # whatever the document says; see _check_prolog
        **XML_HARDENED,
    )
    offset, carry, closing = 0, b"", False
    try:
        for chunk in chunks:
            if not target.rooted:  # the prolog, DTD included, ends where the root starts
                carry += chunk
                _check_prolog(carry)
                carry = carry[-64:] if len(carry) > 1 << 20 else carry
            parser.feed(chunk)
            offset += len(chunk)
            yield target
        if offset == 0:
            raise ParseError("the file is empty")
        closing = True
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise ParseError(_syntax_message(exc, closing), where=where) from None
    except ConnectorError as exc:
        if exc.where:
            raise
        raise type(exc)(str(exc), where=f"{where}: near byte {offset:,}") from None
    if not target.rooted:
        raise InputFormatError("not an Apple Health export: no <HealthData> element", where=where)
    yield target


def parse(chunks: Iterable[bytes], where: str) -> Collector:
    """The collector after the whole document (see :func:`parse_steps`)."""
    *_, collector = parse_steps(chunks, where)
    return collector


def _syntax_message(exc: etree.XMLSyntaxError, at_end: bool) -> str:
    err = exc.error_log.last_error if exc.error_log else None
    line, column = (err.line, err.column) if err is not None else exc.position
    text = (err.message if err is not None else str(exc.msg)).strip()
    text = re.sub(r", line \d+, column \d+$", "", text)[:200]
    if at_end or "Premature end" in text:
        return f"the XML ends early at line {line} (a truncated or partial export?): {text}"
    return f"malformed XML at line {line}, column {column}: {text}"
