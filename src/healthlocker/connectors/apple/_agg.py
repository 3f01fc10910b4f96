"""From the collector's accumulators to FHIR resources: one Observation per type and day.

Daily totals (``sum`` types) are deduplicated across sources slot by slot: in each 15-minute
slot the value of the first source in Apple's default order (Apple Watch, then iPhone, then
other apps; between equals, the one with the larger day total) is taken, the others dropped.
That is Apple's own rule (a time slot counts from one source only, chosen by source priority)
at 15-minute resolution. Daily means (``mean`` types) pool every source: a duplicate reading
changes a mean far less than it changes a total. Sleep: per night, the asleep minutes of the
first source in the same order; time in bed separately, also from one source.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any, TypeVar

from healthlocker.connectors.apple._map import (
    DURATION,
    ENERGY,
    EXERCISE,
    HEART_RATE,
    LOINC,
    QTYPE,
    QUANTITIES,
    STAT,
    Obs,
    Spec,
    concept,
    generic_spec,
    iso,
    on_day,
    quantity,
    rid,
    spec_code,
    valid_day,
)
from healthlocker.connectors.apple._xml import SLOTS, Collector

_STAT_TEXT = {
    "minimum": "Daily minimum",
    "maximum": "Daily maximum",
    "count": "Samples that day",
}


def _spec(rtype: str, unit: str) -> Spec:
    return QUANTITIES.get(rtype) or generic_spec(rtype, unit)


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _stat(name: str) -> dict[str, Any]:
    return concept(name, _STAT_TEXT[name], STAT)


def _unit_key(rtype: str, unit: str) -> str:
    """Units of a type with a row convert into one; a type with no row keeps each apart."""
    return "" if rtype in QUANTITIES else unit


def _skip(notes: dict[str, int], what: str, n: int = 1) -> None:
    notes[what] = notes.get(what, 0) + n


K = TypeVar("K", bound=tuple[str, ...])


def by_type(keys: Iterable[K]) -> dict[str, list[K]]:
    """Accumulator keys grouped by their record type (the first element)."""
    out: dict[str, list[K]] = {}
    for k in keys:
        out.setdefault(k[0], []).append(k)
    return out


def daily_sums(
    c: Collector, pid: str, notes: dict[str, int], keys: list[tuple[str, str, str, str]]
) -> Iterator[dict[str, Any]]:
    """The daily totals of the accumulators under *keys* (see :func:`by_type`)."""

    def group(k: tuple[str, str, str, str]) -> tuple[str, str, str]:
        return k[0], _unit_key(k[0], k[1]), k[3]

    for (rtype, unit_key, day), same in groupby(sorted(keys, key=group), key=group):
        spec = _spec(rtype, unit_key)
        if not valid_day(day):
            _skip(notes, "days whose date cannot be read")
            continue
        # (priority class, −day total, source, slots, scale), in Apple's order
        sources: list[tuple[int, float, str, array[float], float]] = []
        for _rtype, unit, source, _day in same:
            factor = _spec(rtype, unit).units.get(unit)
            if factor is None:
                _skip(notes, f"{rtype.removeprefix(QTYPE)} days in the unit {unit[:20]!r}")
                continue
            slots = c.sums[(rtype, unit, source, day)]
            total = math.fsum(slots) * factor[0]
            sources.append((c.sources.get(source, 2), -total, source, slots, factor[0]))
        if not sources:
            continue
        total = -sources[0][1]
        if len(sources) > 1:
            sources.sort()
            total = 0.0
            for i in range(SLOTS):
                for _cls, _neg, _source, slots, scale in sources:
                    if slots[i] > 0:
                        total += slots[i] * scale
                        break
        if not _finite(total):
            _skip(notes, f"{spec.key} days with unreadable values")
            continue
        yield Obs(
            rid(pid, spec.key, unit_key, day) if unit_key else rid(pid, spec.key, day),
            pid,
            spec_code(spec),
            spec.category,
            on_day(day),
            {"valueQuantity": quantity(total, spec.unit, spec.unit_text)},
        ).resource()


def daily_means(
    c: Collector, pid: str, notes: dict[str, int], keys: list[tuple[str, str, str]]
) -> Iterator[dict[str, Any]]:
    """The daily means of the accumulators under *keys* (see :func:`by_type`)."""
    merged: dict[tuple[str, str, str], list[float]] = {}
    for rtype, unit, day in keys:
        total, n, low, high = c.means[(rtype, unit, day)]
        if not valid_day(day):
            _skip(notes, "days whose date cannot be read")
            continue
        spec = _spec(rtype, unit)
        factor = spec.units.get(unit)
        if factor is None:
            _skip(notes, f"{rtype.removeprefix(QTYPE)} samples in the unit {unit[:20]!r}", int(n))
            continue
        scale, offset = factor
        key = (rtype, _unit_key(rtype, unit), day)
        acc = merged.get(key)
        lo, hi = low * scale + offset, high * scale + offset
        if acc is None:
            merged[key] = [total * scale + n * offset, n, lo, hi]
        else:
            acc[0] += total * scale + n * offset
            acc[1] += n
            acc[2], acc[3] = min(acc[2], lo), max(acc[3], hi)
    for (rtype, unit, day), (total, n, low, high) in sorted(merged.items()):
        spec = _spec(rtype, unit)
        mean = total / n
        if not _finite(mean, low, high):
            _skip(notes, f"{spec.key} days with unreadable values")
            continue
        obs = Obs(
            rid(pid, spec.key, unit, day) if unit else rid(pid, spec.key, day),
            pid,
            spec_code(spec),
            spec.category,
            on_day(day),
            {"valueQuantity": quantity(mean, spec.unit, spec.unit_text)},
        )
        if n > 1:
            obs.add(_stat("minimum"), {"valueQuantity": quantity(low, spec.unit, spec.unit_text)})
            obs.add(_stat("maximum"), {"valueQuantity": quantity(high, spec.unit, spec.unit_text)})
            obs.add(_stat("count"), {"valueInteger": int(n)})
        yield obs.resource()


_BP_PANEL = {
    "coding": [{"system": LOINC, "code": "85354-9",
                "display": "Blood pressure panel with all children optional"}],
    "text": "Blood pressure (daily mean)",
}  # fmt: skip
_BP_PARTS = (("8480-6", "Systolic blood pressure"), ("8462-4", "Diastolic blood pressure"))


def blood_pressure(c: Collector, pid: str) -> Iterator[dict[str, Any]]:
    days: dict[str, list[list[float]]] = {}
    for (_source, start), pair in c.pressures.items():
        if not valid_day(start[:10]):
            continue
        acc = days.setdefault(start[:10], [[], []])
        for i, value in enumerate(pair):
            if value is not None and math.isfinite(value):
                acc[i].append(value)
    for day, parts in sorted(days.items()):
        obs = Obs(rid(pid, "blood_pressure", day), pid, _BP_PANEL, "vital-signs", on_day(day))
        for (code, text), values in zip(_BP_PARTS, parts, strict=True):
            if values:
                q = quantity(sum(values) / len(values), "mm[Hg]", "mmHg")
                obs.add(concept(code, text, LOINC), {"valueQuantity": q})
        if obs.components:
            obs.add(_stat("count"), {"valueInteger": max(len(parts[0]), len(parts[1]))})
            yield obs.resource()


_SLEEP_CODE = {
    "coding": [{"system": LOINC, "code": "93832-4", "display": "Sleep duration"}],
    "text": "Sleep (asleep minutes, the night ending this day)",
}
_STAGES = (
    (1, "HKCategoryValueSleepAnalysisAsleepCore", "Core sleep"),
    (2, "HKCategoryValueSleepAnalysisAsleepDeep", "Deep sleep"),
    (3, "HKCategoryValueSleepAnalysisAsleepREM", "REM sleep"),
    (0, "HKCategoryValueSleepAnalysisAsleepUnspecified", "Asleep, stage not recorded"),
    (4, "HKCategoryValueSleepAnalysisAwake", "Awake during the night"),
)


def sleep(c: Collector, pid: str) -> Iterator[dict[str, Any]]:
    nights: dict[str, list[tuple[int, float, str, list[Any]]]] = {}
    for (night, source), acc in c.nights.items():
        asleep = acc[0] + acc[1] + acc[2] + acc[3]
        nights.setdefault(night, []).append((c.sources.get(source, 2), -asleep, source, acc))
    for night, sources in sorted(nights.items()):
        sources.sort()
        chosen = next((s[3] for s in sources if s[1] < 0), None)
        bed = next((s[3] for s in sorted(sources, key=lambda s: (s[0], -s[3][5])) if s[3][5]), None)
        span = chosen or bed
        if span is None or span[9] is None or iso(span[9]) is None:
            continue
        obs = Obs(
            rid(pid, "sleep", night), pid, _SLEEP_CODE, "activity",
            {"effectiveDateTime": iso(span[9])},
        )  # fmt: skip
        if chosen is not None:
            asleep = chosen[0] + chosen[1] + chosen[2] + chosen[3]
            obs.value = {"valueQuantity": quantity(asleep, "min", "min")}
            for index, code, text in _STAGES:
                if chosen[index]:
                    q = quantity(chosen[index], "min", "min")
                    obs.add(concept(code, text), {"valueQuantity": q})
        else:
            obs.value = {"dataAbsentReason": {"text": "only time in bed was recorded that night"}}
        if bed is not None:
            q = quantity(bed[5], "min", "min")
            obs.add(concept("HKCategoryValueSleepAnalysisInBed", "Time in bed"),
                    {"valueQuantity": q})  # fmt: skip
        begin, end = iso(span[8] or ""), iso(span[9])
        if begin and end:
            obs.add(concept("sleep-period", "From going to sleep (or bed) to waking", STAT),
                    {"valuePeriod": {"start": begin, "end": end}})  # fmt: skip
        yield obs.resource()


# --- workouts, activity summaries ------------------------------------------------------------

_ACTIVITY = "HKWorkoutActivityType"
_HEART_MAX = concept("heart-rate-maximum", "Maximum heart rate", STAT)
_DISTANCE = {"DistanceWalkingRunning", "DistanceCycling", "DistanceSwimming",
             "DistanceWheelchair", "DistanceDownhillSnowSports"}  # fmt: skip
_KCAL = QUANTITIES[QTYPE + "ActiveEnergyBurned"].units
_KM = QUANTITIES[QTYPE + "DistanceWalkingRunning"].units
_MINUTES = QUANTITIES[QTYPE + "AppleExerciseTime"].units


def _words(identifier: str) -> str:
    return "".join(f" {c}" if c.isupper() else c for c in identifier).strip()


def _converted(value: str | None, unit: str | None, table: dict[str, Any]) -> float | None:
    factor = table.get(unit or "")
    try:
        number = float(value or "")
    except ValueError:
        return None
    if factor is None or not math.isfinite(number):
        return None
    return float(number * factor[0] + factor[1])


def workout(w: dict[str, Any], pid: str) -> dict[str, Any] | None:
    a: dict[str, str] = w["attrib"]
    start, end = iso(a.get("startDate", "")), iso(a.get("endDate", ""))
    kind = a.get("workoutActivityType", "")
    if not start or not end or not kind.startswith(_ACTIVITY):
        return None
    name = _words(kind.removeprefix(_ACTIVITY)) or "Workout"
    obs = Obs(
        rid(pid, "workout", kind, a["startDate"], a.get("sourceName", "")),
        pid,
        EXERCISE,
        "activity",
        {"effectivePeriod": {"start": start, "end": end}},
        {"valueCodeableConcept": {**concept(kind, name), "text": name}},  # what was done
    )
    stats = {s.get("type", "").removeprefix(QTYPE): s for s in w["statistics"]}
    minutes = _converted(a.get("duration"), a.get("durationUnit"), _MINUTES)
    energy = _converted(a.get("totalEnergyBurned"), a.get("totalEnergyBurnedUnit"), _KCAL)
    if energy is None and "ActiveEnergyBurned" in stats:
        s = stats["ActiveEnergyBurned"]
        energy = _converted(s.get("sum"), s.get("unit"), _KCAL)
    distance = _converted(a.get("totalDistance"), a.get("totalDistanceUnit"), _KM)
    for key in sorted(_DISTANCE & stats.keys()):
        distance = distance or _converted(stats[key].get("sum"), stats[key].get("unit"), _KM)
    if minutes is not None:
        obs.add(DURATION, {"valueQuantity": quantity(minutes, "min", "min")})
    if energy:
        obs.add(ENERGY, {"valueQuantity": quantity(energy, "kcal", "kcal")})
    if distance:
        obs.add(
            concept("distance", "Distance", STAT), {"valueQuantity": quantity(distance, "km", "km")}
        )
    heart = stats.get("HeartRate", {})
    for code, field in ((HEART_RATE, "average"), (_HEART_MAX, "maximum")):
        bpm = _converted(heart.get(field), heart.get("unit"), {"count/min": (1, 0)})
        if bpm:
            obs.add(code, {"valueQuantity": quantity(bpm, "/min", "beats/minute")})
    return obs.resource()


_RINGS = (
    ("activeEnergyBurned", "Move: active energy", "kcal", "kcal"),
    ("appleMoveTime", "Move time", "min", "min"),
    ("appleExerciseTime", "Exercise", "min", "min"),
    ("appleStandHours", "Stand hours", "h", "hours"),
)
_SUMMARY = {**concept("HKActivitySummary", "Activity rings"), "text": "Activity rings (daily)"}


def activity_summary(a: dict[str, str], pid: str) -> dict[str, Any] | None:
    day = a.get("dateComponents", "")
    if iso(f"{day} 00:00:00 +0000") is None:
        return None
    obs = Obs(rid(pid, "activity-summary", day), pid, _SUMMARY, "activity", on_day(day))
    energy_units = {a.get("activeEnergyBurnedUnit", "kcal"): _KCAL.get(
        a.get("activeEnergyBurnedUnit", "kcal"), (1, 0))}  # fmt: skip
    for name, text, unit, unit_text in _RINGS:
        table = energy_units if unit == "kcal" else {"": (1, 0)}
        key = next(iter(table))
        value = _converted(a.get(name), key, table)
        goal = _converted(a.get(name + "Goal"), key, table)
        if value:
            obs.add(concept(name, text), {"valueQuantity": quantity(value, unit, unit_text)})
        if value and goal:
            obs.add(concept(name + "Goal", f"{text} goal"),
                    {"valueQuantity": quantity(goal, unit, unit_text)})  # fmt: skip
    return obs.resource() if obs.components else None
