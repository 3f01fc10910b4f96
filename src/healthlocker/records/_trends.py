"""Trends: one measure over time, in day/week/month/year points with summary statistics.

Named metrics and how they are found (LOINC codes on Observations; a wellness importer writes
its Observations with these codes and units):

==========================  ==========================  ==============  =======================
metric                      LOINC                       unit (UCUM)     a point is the …
==========================  ==========================  ==============  =======================
body_weight                 29463-7, 3141-9             kg              mean of samples
body_height                 8302-2                      cm              mean of samples
bmi                         39156-5                     kg/m2           mean of samples
heart_rate                  8867-4                      /min            mean of samples
resting_heart_rate          40443-4                     /min            mean of samples
blood_pressure              85354-9, 55284-4 (panels    mm[Hg]          mean of samples
                            with components 8480-6
                            systolic, 8462-4 diastolic;
                            or those two alone)
respiratory_rate            9279-1                      /min            mean of samples
oxygen_saturation           2708-6, 59408-5             %               mean of samples
body_temperature            8310-5, 8331-1              Cel             mean of samples
heart_rate_variability      80404-7 (SDNN)              ms              mean of samples
vo2_max                     94122-9                     mL/min/kg       mean of samples
steps                       55423-8, 41950-7            {steps}         mean of daily totals
active_energy               41981-2                     kcal            mean of daily totals
calories_in                 9052-2                      kcal            mean of daily totals
sleep                       93832-4                     min             mean of daily totals
workouts                    73985-4, 55411-3            {workouts}      count in the period
==========================  ==========================  ==============  =======================

Workouts count Observations *and* Procedures carrying one of their codes: one resource per
workout. Blood pressure points carry systolic in ``value`` and diastolic in ``value2`` (stats
in ``stats`` and ``stats2``). Values recorded in other units are converted (lb→kg, [in_i]→cm,
[degF]→Cel, h→min, kJ→kcal, s→ms); samples in units that cannot be converted are left out and
the notes say how many. Any other metric is a lab: a LOINC code, or part of a test's name as
recorded (case-insensitive); its unit is the one most of its results use.

Several people: trends are per person. ``patient`` (a Patient id) chooses whose; without it, and
with data about several people, the one with the most recent data is shown and the notes say so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from healthlocker.records._catalog import CatalogEntry, convert, lookup, normalize_unit, search
from healthlocker.records._common import Reader, SourceRef, concept_name, later_of, source_of
from healthlocker.records._meds import as_dict, check_date, check_patient, patient_of, pick_patient
from healthlocker.store import StoredResource

Granularity = Literal["day", "week", "month", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month", "year")
SOURCES_CAP = 50
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
_LOINC = re.compile(r"^\d{1,7}-\d$")
_AGGREGATION = {
    "mean": "mean of the samples in each {g}",
    "sum": "daily totals averaged per {g}",
    "count": "number of records per {g}",
}


@dataclass(frozen=True)
class Metric:
    label: str
    codes: tuple[str, ...]
    unit: str | None  # None: a lab, whose unit comes from its results
    kind: Literal["mean", "sum", "count"] = "mean"
    types: tuple[str, ...] = ("Observation",)
    name_is: str | None = None  # a lab found by name and recorded without a LOINC code
    entry: CatalogEntry | None = None  # a lab the catalog knows: its unit and conversions


METRICS: dict[str, Metric] = {
    "body_weight": Metric("Body weight", ("29463-7", "3141-9"), "kg"),
    "body_height": Metric("Body height", ("8302-2",), "cm"),
    "bmi": Metric("Body mass index", ("39156-5",), "kg/m2"),
    "heart_rate": Metric("Heart rate", ("8867-4",), "/min"),
    "resting_heart_rate": Metric("Resting heart rate", ("40443-4",), "/min"),
    "blood_pressure": Metric(
        "Blood pressure", ("85354-9", "55284-4", SYSTOLIC, DIASTOLIC), "mm[Hg]"
    ),
    "respiratory_rate": Metric("Respiratory rate", ("9279-1",), "/min"),
    "oxygen_saturation": Metric("Oxygen saturation", ("2708-6", "59408-5"), "%"),
    "body_temperature": Metric("Body temperature", ("8310-5", "8331-1"), "Cel"),
    "heart_rate_variability": Metric("Heart rate variability (SDNN)", ("80404-7",), "ms"),
    "vo2_max": Metric("VO2 max", ("94122-9",), "mL/min/kg"),
    "steps": Metric("Steps", ("55423-8", "41950-7"), "{steps}", "sum"),
    "active_energy": Metric("Active energy burned", ("41981-2",), "kcal", "sum"),
    "calories_in": Metric("Calories eaten", ("9052-2",), "kcal", "sum"),
    "sleep": Metric("Sleep", ("93832-4",), "min", "sum"),
    "workouts": Metric(
        "Workouts", ("73985-4", "55411-3"), "{workouts}", "count", ("Observation", "Procedure")
    ),
}
_ALIASES = {
    "weight": "body_weight",
    "height": "body_height",
    "body_mass_index": "bmi",
    "hr": "heart_rate",
    "pulse": "heart_rate",
    "resting_hr": "resting_heart_rate",
    "bp": "blood_pressure",
    "spo2": "oxygen_saturation",
    "temperature": "body_temperature",
    "hrv": "heart_rate_variability",
    "vo2max": "vo2_max",
    "step_count": "steps",
    "calories": "calories_in",
    "sleep_duration": "sleep",
    "exercise": "workouts",
}
# Per target unit: recorded unit (case-folded UCUM code or common spelling) → (scale, offset).
_F = (5 / 9, -160 / 9)
_CONVERT: dict[str, dict[str, tuple[float, float]]] = {
    "kg": {"kg": (1, 0), "[lb_av]": (0.45359237, 0), "lb": (0.45359237, 0), "g": (0.001, 0)},
    "cm": {"cm": (1, 0), "[in_i]": (2.54, 0), "in": (2.54, 0), "m": (100, 0), "mm": (0.1, 0)},
    "Cel": {"cel": (1, 0), "°c": (1, 0), "[degf]": _F, "degf": _F, "°f": _F},
    "min": {"min": (1, 0), "h": (60, 0), "hr": (60, 0), "s": (1 / 60, 0)},
    "kcal": {"kcal": (1, 0), "[cal]": (1, 0), "cal": (1, 0), "kj": (1 / 4.184, 0)},
    "/min": {
        "/min": (1, 0),
        "{beats}/min": (1, 0),
        "beats/min": (1, 0),
        "bpm": (1, 0),
        "{breaths}/min": (1, 0),
        "breaths/min": (1, 0),
    },
    "%": {"%": (1, 0)},
    "mm[Hg]": {"mm[hg]": (1, 0), "mmhg": (1, 0)},
    "kg/m2": {"kg/m2": (1, 0)},
    "ms": {"ms": (1, 0), "s": (1000, 0)},
    "mL/min/kg": {"ml/min/kg": (1, 0), "ml/kg/min": (1, 0), "ml/(kg.min)": (1, 0)},
    "{steps}": {"{steps}": (1, 0), "steps": (1, 0), "{step}": (1, 0), "1": (1, 0)},
}

# One sample: (day, value, value2, recorded unit, resource).
Row = tuple[str, float | None, float | None, str, StoredResource]


class TrendPoint(BaseModel):
    start: str = Field(description="First day of the bucket (ISO date)")
    value: float = Field(description="The bucket's value (systolic for blood pressure)")
    n: int = Field(description="How many samples (records) the bucket holds")
    value2: float | None = Field(default=None, description="Diastolic, for blood pressure")


class TrendStats(BaseModel):
    min: float | None
    max: float | None
    mean: float | None = Field(description="Mean of the points")
    first: float | None = Field(description="The first point's value")
    last: float | None = Field(description="The last point's value")
    change: float | None = Field(description="last − first")
    slope_per_month: float | None = Field(
        description="Least-squares slope over the points, per 30.44 days (null with < 2 points)"
    )


class PreviousPeriod(BaseModel):
    start: str = Field(description="First day of the period of equal length before `since`")
    end: str = Field(description="Its last day")
    mean: float = Field(description="Mean of its points")
    points: int
    n: int = Field(description="Samples it holds")
    change_in_mean: float | None = Field(description="This period's mean − that mean")


class TrendView(BaseModel):
    metric: str = Field(description="The metric as understood (a named metric, or the lab)")
    label: str = Field(description="What is measured, in words")
    codes: list[str] = Field(description="The LOINC codes looked for")
    unit: str | None = Field(description="UCUM unit of every value")
    granularity: Granularity
    aggregation: str = Field(description="How samples become a point")
    patient: str | None = Field(description="Whose data (Patient/id)")
    since: str | None = Field(description="First day looked at (ISO date)")
    until: str | None = Field(description="Last day looked at (ISO date)")
    points: list[TrendPoint] = Field(description="Oldest first")
    value2_label: str | None = Field(description="What value2 holds (diastolic), if anything")
    stats: TrendStats
    stats2: TrendStats | None = Field(description="Statistics of value2, if any")
    previous_period: PreviousPeriod | None = Field(
        description="The same length of time just before `since` (only when `since` is given)"
    )
    sources: list[SourceRef] = Field(description=f"The newest {SOURCES_CAP} records used")
    source_count: int = Field(description="How many records the trend is built from")
    notes: list[str]

    def render(self) -> str:
        s, unit = self.stats, self.unit or ""
        if not self.points:
            return f"{self.label}: no data" + (f" ({self.notes[-1]})" if self.notes else "")
        lines = [
            f"{self.label} ({unit}), {len(self.points)} {self.granularity} points "
            f"{self.points[0].start} → {self.points[-1].start}, {self.aggregation}",
            f"mean {s.mean}, min {s.min}, max {s.max}, change {s.change}"
            + (f", {s.slope_per_month} {unit}/month" if s.slope_per_month is not None else ""),
        ]
        if self.stats2 and self.stats2.mean is not None:
            lines.append(
                f"{self.value2_label}: mean {self.stats2.mean}, change {self.stats2.change}"
            )
        if self.previous_period:
            lines.append(f"previous period mean {self.previous_period.mean}")
        return "\n".join(lines + self.notes[:3])


class VitalSign(BaseModel):
    metric: str = Field(description="body_weight, blood_pressure, bmi or heart_rate")
    label: str
    value: float = Field(description="Systolic for blood pressure")
    value2: float | None = Field(description="Diastolic for blood pressure")
    unit: str | None
    date: str = Field(description="When it was measured (ISO date)")
    source: SourceRef

    def render(self) -> str:
        both = f"{self.value}/{self.value2}" if self.value2 is not None else f"{self.value}"
        return f"{self.label}: {both} {self.unit or ''} ({self.date})"


# --- finding samples ------------------------------------------------------------------------


def _named(metric: str) -> str | None:
    """The named metric *metric* means (by name, alias or one of its LOINC codes), or None."""
    key = re.sub(r"[\s\-]+", "_", metric.strip().casefold())
    key = _ALIASES.get(key, key)
    if key in METRICS:
        return key
    return next((k for k, m in METRICS.items() if metric.strip() in m.codes), None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _quantity(holder: dict[str, Any]) -> tuple[float | None, str]:
    q = holder.get("valueQuantity")
    if isinstance(q, dict):
        return _number(q.get("value")), str(q.get("code") or q.get("unit") or "")
    return _number(holder.get("valueInteger")), ""


def _minutes(period: Any) -> float | None:
    try:
        start = datetime.fromisoformat(period["start"])
        return (datetime.fromisoformat(period["end"]) - start).total_seconds() / 60
    except (KeyError, TypeError, ValueError):
        return None


def _codes(concept: Any) -> set[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return {str(c.get("code")) for c in codings or () if isinstance(c, dict)}


def _sample(stored: StoredResource, m: Metric) -> Row | None:
    r = stored.resource
    # The store's clinical date, read directly in the common case (it is the first choice).
    when = r.get("effectiveDateTime")
    when = when if isinstance(when, str) else stored.date
    if not when or len(when) < 10:
        return None
    if m.kind == "count":
        return when[:10], 1.0, None, "", stored
    if m.unit == "mm[Hg]":
        parts = {c: _quantity(x) for x in r.get("component") or () for c in _codes(x.get("code"))}
        codes = _codes(r.get("code"))
        parts.update({c: _quantity(r) for c in codes & {SYSTOLIC, DIASTOLIC}})
        sys_v, unit = parts.get(SYSTOLIC, (None, ""))
        if sys_v is None and parts.get(DIASTOLIC, (None,))[0] is None:
            return None
        return when[:10], sys_v, parts.get(DIASTOLIC, (None, ""))[0], unit, stored
    value, unit = _quantity(r)
    if value is None and m.unit == "min" and isinstance(r.get("effectivePeriod"), dict):
        value, unit = _minutes(r["effectivePeriod"]), "min"
    return None if value is None else (when[:10], value, None, unit, stored)


def _fetch(reader: Reader, m: Metric, since: str | None, until: str | None) -> list[Row]:
    terms = [f"code||{c}" for c in m.codes]
    rows = []
    for rtype in m.types:
        for stored in reader.resources(rtype, terms=terms, since=since, until=until):
            if (
                m.name_is
                and (concept_name(stored.resource.get("code")) or "").casefold() != m.name_is
            ):
                continue
            if (row := _sample(stored, m)) is not None:
                rows.append(row)
    return rows


def _has_data(reader: Reader, codes: tuple[str, ...], window_start: str | None) -> bool:
    terms = [f"code||{c}" for c in codes]
    return bool(reader.resources("Observation", terms=terms, since=window_start))


def _from_catalog(entry: CatalogEntry) -> Metric:
    return Metric(entry.name, entry.codes, entry.unit, entry=entry)


def _lab(reader: Reader, metric: str, window_start: str | None) -> tuple[Metric, list[str]]:
    """A lab by LOINC code or part of its name (the catalog's names first, then the names
    recorded); ValueError when nothing matches."""
    text = metric.strip()
    if _LOINC.match(text):
        entry = lookup(text)
        return (_from_catalog(entry) if entry else Metric(text, (text,), None)), []
    known = search(text)
    with_data = [e for e in known if _has_data(reader, e.codes, window_start)]
    if with_data:
        return _from_catalog(with_data[0]), _also(text, known, with_data[0])
    found = _recorded(reader, text.casefold(), window_start)
    if found is not None:
        return found
    if known:
        return _from_catalog(known[0]), _also(text, known, known[0])
    raise ValueError(
        f"no such metric {text[:60]!r}: not a known metric, a LOINC code (like 2345-7) or the "
        f"name of a recorded test; known metrics: {', '.join(METRICS)}"
    )


def _also(text: str, known: list[CatalogEntry], chosen: CatalogEntry) -> list[str]:
    others = [e.name for e in known if e is not chosen][:5]
    return [f"{text!r} also matches: {', '.join(others)}"] if others else []


def _recorded(
    reader: Reader, needle: str, window_start: str | None
) -> tuple[Metric, list[str]] | None:
    """The recorded test whose name contains *needle*: an exact name first, else the commonest."""
    groups: dict[tuple[str | None, str], list[str]] = {}
    for stored in reader.resources("Observation", since=window_start):
        code = as_dict(stored.resource.get("code"))
        texts = [code.get("text"), *(as_dict(c).get("display") for c in code.get("coding") or ())]
        if any(isinstance(t, str) and needle in t.casefold() for t in texts):
            name = concept_name(code) or needle
            loinc = next((c for c in sorted(_codes(code)) if _LOINC.match(c)), None)
            groups.setdefault((loinc, "" if loinc else name.casefold()), []).append(name)
    if not groups:
        return None

    def rank(item: tuple[tuple[str | None, str], list[str]]) -> tuple[bool, int]:
        return needle in {n.casefold() for n in item[1]}, len(item[1])

    (loinc, bare), names = max(groups.items(), key=rank)
    others = sorted({n[0] for k, n in groups.items() if k != (loinc, bare)})
    notes = [f"{needle!r} also matches: {', '.join(others[:5])}"] if others else []
    return Metric(names[0], (loinc,) if loinc else (), None, name_is=bare or None), notes


def _factor(unit: str, target: str, m: Metric) -> tuple[float, float] | None:
    """(scale, offset) taking *unit* to *target*, or None when they do not convert."""
    if not unit or unit == target:  # a sample with no unit is read in the metric's unit
        return 1.0, 0.0
    if m.entry is not None:
        scale = convert(1.0, unit, m.entry)
        return None if scale is None else (scale, 0.0)
    if target in _CONVERT:
        return _CONVERT[target].get(unit.casefold())
    return (1.0, 0.0) if normalize_unit(unit) == normalize_unit(target) else None


def _units(rows: list[Row], target: str | None, m: Metric) -> tuple[list[Row], list[str]]:
    """Rows converted to *target*; those that cannot be are left out and counted in a note."""
    if m.kind == "count" or target is None:
        return rows, []
    factors: dict[str, tuple[float, float] | None] = {}
    out, dropped = [], Counter[str]()
    for row in rows:
        unit = row[3]
        if unit not in factors:
            factors[unit] = _factor(unit, target, m)
        factor = factors[unit]
        if factor is None:
            dropped[unit] += 1
            continue
        if factor != (1.0, 0.0):
            (scale, offset), (d, v, v2, _unit, stored) = factor, row
            v = None if v is None else v * scale + offset
            row = (d, v, None if v2 is None else v2 * scale + offset, target, stored)
        out.append(row)
    notes = [
        f"Left out {n} sample(s) recorded in {u!r}, which does not convert to {target!r}"
        for u, n in dropped.items()
    ]
    return out, notes


# --- points and statistics ------------------------------------------------------------------


def _choose(first: str, last: str) -> Granularity:
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return "day" if span <= 60 else "week" if span <= 366 else "month" if span <= 1830 else "year"


def _bucketer(granularity: Granularity) -> Callable[[str], str]:
    if granularity == "day":
        return lambda d: d
    if granularity == "month":
        return lambda d: d[:7] + "-01"
    if granularity == "year":
        return lambda d: d[:4] + "-01-01"
    weeks: dict[str, str] = {}

    def week(d: str) -> str:
        if d not in weeks:
            x = date.fromisoformat(d)
            weeks[d] = (x - timedelta(days=x.weekday())).isoformat()
        return weeks[d]

    return week


def _points(rows: list[Row], m: Metric, granularity: Granularity) -> list[TrendPoint]:
    bucket_of = _bucketer(granularity)
    # Per bucket: [sum of value, values counted, sum of value2, value2s counted, samples].
    acc: dict[str, list[float]] = {}
    days: dict[str, list[float]] = {}
    for d, v, v2, _unit, _stored in rows:
        if m.kind == "sum":  # daily totals first
            t = days.setdefault(d, [0.0, 0.0])
            t[0] += v or 0.0
            t[1] += 1
            continue
        a = acc.setdefault(bucket_of(d), [0.0, 0, 0.0, 0, 0])
        if v is not None:
            a[0] += v
            a[1] += 1
        if v2 is not None:
            a[2] += v2
            a[3] += 1
        a[4] += 1
    for d, (total, n) in days.items():
        a = acc.setdefault(bucket_of(d), [0.0, 0, 0.0, 0, 0])
        a[0], a[1], a[4] = a[0] + total, a[1] + 1, a[4] + n
    out = []
    for start in sorted(acc):
        s, k, s2, k2, n = acc[start]
        if k:
            value = s if m.kind == "count" else s / k
            out.append(
                TrendPoint(
                    start=start,
                    value=round(value, 4),
                    n=int(n),
                    value2=round(s2 / k2, 4) if k2 else None,
                )
            )
    return out


def _stats(values: list[float], starts: list[str]) -> TrendStats:
    if not values:
        return TrendStats(
            min=None, max=None, mean=None, first=None, last=None, change=None, slope_per_month=None
        )
    slope = None
    if len(values) >= 2:
        origin = date.fromisoformat(starts[0]).toordinal()
        xs = [date.fromisoformat(s).toordinal() - origin for s in starts]
        mx, my = sum(xs) / len(xs), sum(values) / len(values)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sxx * 30.44
    return TrendStats(
        min=min(values),
        max=max(values),
        mean=round(sum(values) / len(values), 4),
        first=values[0],
        last=values[-1],
        change=round(values[-1] - values[0], 4),
        slope_per_month=None if slope is None else round(slope, 4),
    )


# --- the views ------------------------------------------------------------------------------


def _person(rows: list[Row], who: str | None) -> tuple[list[Row], str | None, list[str]]:
    """The rows about one person: *who*, else the one with the most recent data."""
    by: dict[str | None, list[Row]] = {}
    known: dict[Any, str | None] = {}  # reference → person: thousands of samples, few people
    for row in rows:
        subject = row[4].resource.get("subject")
        key = subject.get("reference") if isinstance(subject, dict) else None
        if key not in known:
            known[key] = patient_of(row[4].resource)
        by.setdefault(known[key], []).append(row)
    if who is not None:
        return by.get(who, []), who, []
    chosen, note = pick_patient({k: max(r[0] for r in v) for k, v in by.items()})
    return by.get(chosen, []), chosen, [note] if note else []


def _previous(
    reader: Reader,
    m: Metric,
    current: tuple[str, str, Granularity, str | None, str | None],
    window_start: str | None,
    mean: float | None,
) -> tuple[PreviousPeriod | None, list[str]]:
    since, end, granularity, person, unit = current
    first = date.fromisoformat(since)
    length = (date.fromisoformat(end) - first).days + 1
    start, last = (first - timedelta(days=length)).isoformat(), (first - timedelta(1)).isoformat()
    if window_start and last < window_start:
        return None, ["No previous period: it falls before the data window this client may see"]
    notes = []
    if window_start and start < window_start:
        start = window_start
        notes.append(f"The previous period is cut short at the data window ({window_start})")
    rows = [r for r in _fetch(reader, m, start, last) if patient_of(r[4].resource) == person]
    rows, _ = _units(rows, unit, m)
    points = _points(rows, m, granularity)
    if not points:
        return None, []
    before = round(sum(p.value for p in points) / len(points), 4)
    return PreviousPeriod(
        start=start,
        end=last,
        mean=before,
        points=len(points),
        n=sum(p.n for p in points),
        change_in_mean=None if mean is None else round(mean - before, 4),
    ), notes


def _check(
    metric: Any, since: str | None, until: str | None, granularity: str | None
) -> tuple[str | None, str | None]:
    if not isinstance(metric, str) or not metric.strip() or len(metric) > 100:
        raise ValueError(
            "metric must be a metric name (e.g. steps, body_weight), a LOINC code "
            "or part of a lab test's name"
        )
    since, until = check_date(since, "since"), check_date(until, "until")
    if since and until and since > until:
        raise ValueError("since must be on or before until")
    if granularity is not None and granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)} (or left out)")
    return since, until


def summarize_trends(
    reader: Reader,
    *,
    metric: str,
    since: str | None = None,
    until: str | None = None,
    granularity: str | None = None,
    patient: str | None = None,
    window_start: str | None = None,
) -> TrendView:
    """A measure over time: points per day/week/month/year, statistics, the previous period.

    Without ``granularity``, it is chosen for about 60 points at most: up to 60 days → day, up
    to a year → week, up to 5 years → month, beyond → year. Rates and levels (weight, heart
    rate, blood pressure, labs) are averaged per point; additive measures (steps, energy,
    calories, sleep) are summed per day first, then the daily totals averaged per point;
    workouts are counted per point.
    """
    since, until = _check(metric, since, until, granularity)
    window_start = check_date(window_start, "window_start")
    who = check_patient(patient)
    since = later_of(since, window_start) if since else None
    key = _named(metric)
    m, notes = (METRICS[key], []) if key else _lab(reader, metric, window_start)
    rows, person, picked = _person(_fetch(reader, m, since or window_start, until), who)
    unit = m.unit or (Counter(r[3] for r in rows).most_common(1)[0][0] if rows else None)
    rows, dropped = _units(rows, unit, m)
    first, last = (min(r[0] for r in rows), max(r[0] for r in rows)) if rows else (None, None)
    start, end = since or first, until or last
    chosen: Granularity = granularity or (_choose(start, end) if start and end else "day")  # type: ignore[assignment]
    points = _points(rows, m, chosen)
    stats = _stats([p.value for p in points], [p.start for p in points])
    pairs = [(p.value2, p.start) for p in points if p.value2 is not None]
    previous, previous_notes = None, list[str]()
    if since:
        current = (since, end or since, chosen, person, unit)
        previous, previous_notes = _previous(reader, m, current, window_start, stats.mean)
    newest = sorted(rows, key=lambda r: r[0], reverse=True)
    used = list({r[4].ref: r[4] for r in newest}.values())
    if m.kind == "sum" and chosen != "day":
        notes.append(f"{m.label}: daily totals averaged per {chosen}")
    if not rows:
        notes.append(f"No {m.label.lower()} data in this period")
    return TrendView(
        metric=key or m.label,
        label=m.label,
        codes=list(m.codes),
        unit=unit,
        granularity=chosen,
        aggregation=_AGGREGATION[m.kind].format(g=chosen),
        patient=person,
        since=start,
        until=end,
        points=points,
        value2_label="diastolic" if key == "blood_pressure" else None,
        stats=stats,
        stats2=_stats(*map(list, zip(*pairs, strict=True))) if pairs else None,
        previous_period=previous,
        sources=[source_of(s) for s in used[:SOURCES_CAP]],
        source_count=len(used),
        notes=picked + notes + dropped + previous_notes,
    )


def latest_vitals(
    reader: Reader, *, patient: str | None = None, window_start: str | None = None
) -> list[VitalSign]:
    """The latest weight, blood pressure, BMI and heart rate of a person, where recorded."""
    out = []
    for key in ("body_weight", "blood_pressure", "bmi", "heart_rate"):
        m = METRICS[key]
        rows = [r for r in _fetch(reader, m, window_start, None) if r[1] is not None]
        if patient is not None:
            rows = [r for r in rows if patient_of(r[4].resource) == patient]
        rows, _ = _units(rows, m.unit, m)
        if rows:
            d, v, v2, _unit, stored = max(rows, key=lambda r: r[4].date or "")
            out.append(
                VitalSign(
                    metric=key,
                    label=m.label,
                    value=round(v or 0.0, 4),
                    value2=None if v2 is None else round(v2, 4),
                    unit=m.unit,
                    date=d,
                    source=source_of(stored),
                )
            )
    return out
