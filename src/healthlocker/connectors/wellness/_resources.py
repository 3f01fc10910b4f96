"""The resources a workout or a day of wellness data becomes, whatever app it came from.

Workouts are Observations coded LOINC 73985-4 *Exercise activity* with what was done as the
value and duration (55411-3, min), energy (41981-2, kcal) and average heart rate (8867-4, /min)
as components: the shape an Apple Health import gives (``_apple_agg.workout``), so the
``workouts`` trend counts them all. Other details of a workout are components coded in
healthlocker's statistic code system. A day's total (active energy, a nutrient) or mean (body
weight) is one Observation dated that day, as ``records._metrics`` reads it.

MyFitnessPal and Peloton exports name no person, so these Observations have no subject.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from healthlocker.connectors.apple._map import EXERCISE, LOINC, STAT, Obs, concept, on_day, quantity
from healthlocker.errors import ParseError

_ACTIVE_ENERGY = {
    "coding": [{"system": LOINC, "code": "41981-2", "display": "Calories burned"}],
    "text": "Active energy burned in workouts (daily total)",
}
_BODY_WEIGHT = {
    "coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}],
    "text": "Body weight",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

# A component: its code, and its value as a FHIR value[x] dict.
Part = tuple[dict[str, Any], dict[str, Any]]


def detail(code: str, text: str) -> dict[str, Any]:
    """A workout detail's code, in healthlocker's statistic code system."""
    return concept(code, text, STAT)


def amount(value: float, unit: str, unit_text: str | None = None) -> dict[str, Any]:
    return {"valueQuantity": quantity(value, unit, unit_text or unit)}


def workout(
    rid: str, when: dict[str, Any], activity: str, parts: list[Part], note: str = ""
) -> dict[str, Any]:
    """A workout: *when* is ``{"effectivePeriod": …}`` or ``{"effectiveDateTime": …}``."""
    obs = Obs(rid, "", EXERCISE, "activity", when, {"valueCodeableConcept": {"text": activity}})
    for code, value in parts:
        obs.add(code, value)
    return _resource(obs, note)


def daily_energy(rid: str, day: str, kcal: float) -> dict[str, Any]:
    obs = Obs(rid, "", _ACTIVE_ENERGY, "activity", on_day(day), amount(kcal, "kcal"))
    return _resource(obs)


def daily_weight(rid: str, day: str, kg: float) -> dict[str, Any]:
    obs = Obs(rid, "", _BODY_WEIGHT, "vital-signs", on_day(day), amount(kg, "kg"))
    return _resource(obs)


def daily_value(
    rid: str,
    day: str,
    code: dict[str, Any],
    value: dict[str, Any],
    parts: list[Part],
    category: str | None = None,
) -> dict[str, Any]:
    """A day's value of *code*, with *parts* (say, per meal) as components."""
    obs = Obs(rid, "", code, category, on_day(day), value)
    for part_code, part_value in parts:
        obs.add(part_code, part_value)
    return _resource(obs)


def _resource(obs: Obs, note: str = "") -> dict[str, Any]:
    r = obs.resource()
    del r["subject"]  # the export names no person
    if note:
        r["note"] = [{"text": note}]
    return r


def parse_day(text: str, column: str, where: str) -> str:
    """An ISO date from ``2024-03-01`` or ``3/1/2024`` (month first, as US exports write it)."""
    us = _US_DAY.match(text)
    iso = f"{us[3]}-{int(us[1]):02d}-{int(us[2]):02d}" if us else text
    try:
        if _ISO_DAY.match(iso):
            return date.fromisoformat(iso).isoformat()
    except ValueError:
        pass
    raise ParseError(f"column {column!r}: not a date (YYYY-MM-DD)", where=where)
