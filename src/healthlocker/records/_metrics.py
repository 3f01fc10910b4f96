"""Metrics: what a trend measures, where its samples are, and in which unit.

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
protein                     HK …DietaryProtein          g               mean of daily totals
carbohydrates               HK …DietaryCarbohydrates    g               mean of daily totals
fat                         HK …DietaryFatTotal         g               mean of daily totals
fiber                       HK …DietaryFiber            g               mean of daily totals
sugar                       HK …DietarySugar            g               mean of daily totals
sodium                      HK …DietarySodium           mg              mean of daily totals
glucose                     99504-3, 105272-9 (a CGM's  mg/dL           mean of sensor readings
                            sensor readings)                            (scans left out)
==========================  ==========================  ==============  =======================

``glucose`` is a continuous glucose monitor's readings (mmol/L read as mg/dL); with them, the
trend also carries the consensus CGM metrics (``_glucose``). Asked for by that word alone with
no sensor readings in reach, ``glucose`` is the lab test, as any other name.

``HK …X`` is HealthKit's identifier ``HKQuantityTypeIdentifierX``: Apple Health and MyFitnessPal
imports code these nutrients with it, as no LOINC code for a day's intake of them could be
confirmed (docs/wellness.md).

Workouts count Observations *and* Procedures carrying one of their codes: one resource per
workout. Blood pressure points carry systolic in ``value`` and diastolic in ``value2`` (stats
in ``stats`` and ``stats2``). Values recorded in other units are converted (lb→kg, [in_i]→cm,
[degF]→Cel, h→min, kJ→kcal, s→ms, mg↔g); samples in units that cannot be converted are left out
and the notes say how many. Any other metric is a lab: a LOINC code, or part of a test's name as
recorded (case-insensitive); its unit is the one most of its results use.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from healthlocker.errors import ArgumentError
from healthlocker.records._catalog import CatalogEntry, convert, lookup, normalize_unit, search
from healthlocker.records._common import as_dict, codes_of, concept_name
from healthlocker.records._glucose import CGM_CODES, MG_DL_PER_MMOL_L
from healthlocker.records._overlap import distinct_workouts, one_source_per_day, order_for
from healthlocker.records._scope import Scope
from healthlocker.records._text import count
from healthlocker.store import StoredResource

SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
_HK = "HKQuantityTypeIdentifier"
_LOINC = re.compile(r"^\d{1,7}-\d$")


@dataclass(frozen=True)
class Metric:
    label: str
    codes: tuple[str, ...]
    unit: str | None  # None: a lab, whose unit comes from its results
    kind: Literal["mean", "sum", "count"] = "mean"
    types: tuple[str, ...] = ("Observation",)
    name_is: str | None = None  # a lab found by name and recorded without a LOINC code
    entry: CatalogEntry | None = None  # a lab the catalog knows: its unit and conversions
    readings_only: bool = False  # a CGM's: on-demand scans (a ``method``) are left out


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
    # Nutrients: Apple Health and MyFitnessPal imports code them with HealthKit's identifiers.
    "protein": Metric("Protein eaten", (_HK + "DietaryProtein",), "g", "sum"),
    "carbohydrates": Metric("Carbohydrates eaten", (_HK + "DietaryCarbohydrates",), "g", "sum"),
    "fat": Metric("Fat eaten", (_HK + "DietaryFatTotal",), "g", "sum"),
    "fiber": Metric("Fiber eaten", (_HK + "DietaryFiber",), "g", "sum"),
    "sugar": Metric("Sugar eaten", (_HK + "DietarySugar",), "g", "sum"),
    "sodium": Metric("Sodium eaten", (_HK + "DietarySodium",), "mg", "sum"),
    "glucose": Metric("Glucose (CGM)", tuple(sorted(CGM_CODES)), "mg/dL", readings_only=True),
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
    "carbs": "carbohydrates",
    "fibre": "fiber",
    "cgm": "glucose",
    "sensor_glucose": "glucose",
    "interstitial_glucose": "glucose",
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
    # A daily total of steps is written as a count or as a count per day ("/d"): the same number.
    "{steps}": {
        u: (1, 0)
        for u in ("{steps}", "steps", "{step}", "1", "{count}", "count", "/d", "{steps}/d")
    },
    "g": {"g": (1, 0), "mg": (0.001, 0), "kg": (1000, 0)},
    "mg": {"mg": (1, 0), "g": (1000, 0), "ug": (0.001, 0)},
    "mg/dL": {"mg/dl": (1, 0), "mmol/l": (MG_DL_PER_MMOL_L, 0)},
}

# One sample: (day, value, value2, recorded unit, resource).
Row = tuple[str, float | None, float | None, str, StoredResource]


# --- which metric ---------------------------------------------------------------------------


def named_metrics() -> tuple[str, ...]:
    """The metrics ``summarize_trends`` knows by name (any other metric is a lab)."""
    return tuple(METRICS)


def find_metric(reader: Scope, metric: str) -> tuple[str | None, Metric, list[str]]:
    """The named metric's key (None for a lab), the metric, and notes on other matches.

    A named metric by name, alias or LOINC code; else a lab (see ``_lab``); ArgumentError when
    nothing matches.
    """
    key = _named(metric)
    # Which data a name means does not depend on the period allowed: the period hides it, and
    # the answer says what it hid.
    every = reader.all_time()
    if key == "glucose" and metric.strip().casefold() == "glucose":
        if not _has_data(every, METRICS[key].codes):
            return None, *_lab(every, metric)  # no sensor: the lab test, as before CGMs
        return key, METRICS[key], [_GLUCOSE_LABS]
    if key is not None:
        return key, METRICS[key], []
    return None, *_lab(every, metric)


_GLUCOSE_LABS = (
    "'glucose' is the glucose sensor's readings here; for lab glucose tests ask for 2345-7 "
    "(serum or plasma) or 2339-0 (blood)"
)


def _named(metric: str) -> str | None:
    """The named metric *metric* means (by name, alias or one of its LOINC codes), or None."""
    key = re.sub(r"[\s\-]+", "_", metric.strip().casefold())
    key = _ALIASES.get(key, key)
    if key in METRICS:
        return key
    return next((k for k, m in METRICS.items() if metric.strip() in m.codes), None)


def _has_data(reader: Scope, codes: tuple[str, ...]) -> bool:
    return bool(reader.lookup("Observation", terms=[f"code||{c}" for c in codes]))


def _from_catalog(entry: CatalogEntry) -> Metric:
    return Metric(entry.name, entry.codes, entry.unit, entry=entry)


def _lab(reader: Scope, metric: str) -> tuple[Metric, list[str]]:
    """A lab by LOINC code or part of its name (the catalog's names first, then the names
    recorded); ArgumentError when nothing matches."""
    text = metric.strip()
    if _LOINC.match(text):
        entry = lookup(text)
        return (_from_catalog(entry) if entry else Metric(text, (text,), None)), []
    known = search(text)
    with_data = [e for e in known if _has_data(reader, e.codes)]
    if with_data:
        return _from_catalog(with_data[0]), _also(text, known, with_data[0])
    found = _recorded(reader, text.casefold())
    if found is not None:
        return found
    if known:
        # None in reach: any the window or the person chosen held back are counted as withheld
        # (the answer says so), whichever of the matching tests they are.
        chosen = _from_catalog(known[0])
        terms = [f"code||{c}" for e in known for c in e.codes]
        reader.resources("Observation", terms=terms, kind=f"{chosen.label.lower()} records")
        return chosen, _also(text, known, known[0])
    raise ArgumentError(
        f"no such metric {text[:60]!r}: not a known metric, a LOINC code (like 2345-7) or the "
        f"name of a recorded test; known metrics: {', '.join(METRICS)}"
    )


def _also(text: str, known: list[CatalogEntry], chosen: CatalogEntry) -> list[str]:
    others = [e.name for e in known if e is not chosen][:5]
    return [f"{text!r} also matches: {', '.join(others)}"] if others else []


def _recorded(reader: Scope, needle: str) -> tuple[Metric, list[str]] | None:
    """The recorded test whose name contains *needle*: an exact name first, else the commonest."""
    groups: dict[tuple[str | None, str], list[str]] = {}
    for stored in reader.lookup("Observation"):
        code = as_dict(stored.resource.get("code"))
        texts = [code.get("text"), *(as_dict(c).get("display") for c in code.get("coding") or ())]
        if any(isinstance(t, str) and needle in t.casefold() for t in texts):
            name = concept_name(code) or needle
            loinc = next((c for c in sorted(codes_of(code)) if _LOINC.match(c)), None)
            groups.setdefault((loinc, "" if loinc else name.casefold()), []).append(name)
    if not groups:
        return None

    def rank(item: tuple[tuple[str | None, str], list[str]]) -> tuple[bool, int]:
        return needle in {n.casefold() for n in item[1]}, len(item[1])

    (loinc, bare), names = max(groups.items(), key=rank)
    others = sorted({n[0] for k, n in groups.items() if k != (loinc, bare)})
    notes = [f"{needle!r} also matches: {', '.join(others[:5])}"] if others else []
    return Metric(names[0], (loinc,) if loinc else (), None, name_is=bare or None), notes


# --- samples --------------------------------------------------------------------------------


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
        parts = {c: _quantity(x) for x in r.get("component") or () for c in codes_of(x.get("code"))}
        codes = codes_of(r.get("code"))
        parts.update({c: _quantity(r) for c in codes & {SYSTOLIC, DIASTOLIC}})
        sys_v, unit = parts.get(SYSTOLIC, (None, ""))
        if sys_v is None and parts.get(DIASTOLIC, (None,))[0] is None:
            return None
        return when[:10], sys_v, parts.get(DIASTOLIC, (None, ""))[0], unit, stored
    value, unit = _quantity(r)
    if value is None and m.unit == "min" and isinstance(r.get("effectivePeriod"), dict):
        value, unit = _minutes(r["effectivePeriod"]), "min"
    return None if value is None else (when[:10], value, None, unit, stored)


def _row(stored: StoredResource, m: Metric) -> Row | None:
    """The sample *stored* holds of *m*, or None (another test of the same code, or no value)."""
    if m.name_is and (concept_name(stored.resource.get("code")) or "").casefold() != m.name_is:
        return None
    if m.readings_only and stored.resource.get("method") is not None:
        return None
    return _sample(stored, m)


def fetch(
    reader: Scope,
    m: Metric,
    since: str | None,
    until: str | None,
    left_out: Counter[str] | None = None,
) -> list[Row]:
    """The samples of *m* dated from *since* to *until* (everyone's the scope may read). A day
    or a workout that several sources record is read from one (``_overlap``); *left_out*
    counts the others, per source kind."""
    terms = [f"code||{c}" for c in m.codes]
    kind = f"{m.label.lower()} records"
    rows = []
    for rtype in m.types:
        for stored in reader.resources(
            rtype,
            terms=terms,
            since=since,
            until=until,
            kind=kind,
            where=lambda s: _row(s, m) is not None,
        ):
            if (row := _row(stored, m)) is not None:
                rows.append(row)
    if m.kind == "mean" or len({r[4].source_id for r in rows}) < 2:
        return rows
    pick = one_source_per_day if m.kind == "sum" else distinct_workouts
    rows, dropped = pick(rows, order_for(m.codes))
    if left_out is not None:
        left_out.update(dropped)
    return rows


# --- units ----------------------------------------------------------------------------------


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


def in_unit(rows: list[Row], target: str | None, m: Metric) -> tuple[list[Row], list[str]]:
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
        f"Left out {count(n, 'sample')} recorded in {u!r}, which does not convert to {target!r}"
        for u, n in dropped.items()
    ]
    return out, notes
