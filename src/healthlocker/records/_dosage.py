"""Dosage in words: a FHIR Dosage (dose, timing, route, as-needed) as one plain instruction."""

from __future__ import annotations

from typing import Any

from healthlocker.records._common import SNOMED, as_dict, clean, concept_code, concept_name

_UNITS = {
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}
_WHEN = {
    "MORN": "in the morning",
    "AFT": "in the afternoon",
    "EVE": "in the evening",
    "NIGHT": "at night",
    "HS": "at bedtime",
    "WAKE": "on waking",
    "C": "with meals",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}
_DAYS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
# Checked in order: "subcutaneous" before "cutaneous".
_ROUTES = (
    ("oral", "by mouth"),
    ("sublingual", "under the tongue"),
    ("subcutaneous", "under the skin"),
    ("intravenous", "into a vein"),
    ("intramuscular", "into a muscle"),
    ("inhal", "inhaled"),
    ("respiratory", "inhaled"),
    ("nasal", "in the nose"),
    ("ophthalmic", "in the eye"),
    ("otic", "in the ear"),
    ("transdermal", "on the skin (patch)"),
    ("topical", "on the skin"),
    ("cutaneous", "on the skin"),
    ("rectal", "rectally"),
    ("vaginal", "vaginally"),
)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | float) and value == int(value) else str(value)


def _quantity(q: Any, noun: str = "dose") -> str | None:
    if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
        return None
    unit = q.get("unit") or q.get("code")
    if unit:
        return f"{_num(q['value'])} {clean(unit, 40)}"
    return f"{_num(q['value'])} {noun}{'' if q['value'] == 1 else 's'}"


def _dose(dosage: dict[str, Any]) -> str | None:
    for dr in dosage.get("doseAndRate") or ():
        if not isinstance(dr, dict):
            continue
        if (dose := _quantity(dr.get("doseQuantity"))) is not None:
            return dose
        low, high = (dr.get("doseRange") or {}).get("low"), (dr.get("doseRange") or {}).get("high")
        if (lo := _quantity(low)) and (hi := _quantity(high)):
            return f"{lo.split(' ')[0]}–{hi}"
    return None


def _frequency(rep: dict[str, Any]) -> str | None:
    unit, period = rep.get("periodUnit"), rep.get("period")
    if unit not in _UNITS or not isinstance(period, int | float) or period <= 0:
        return None
    one, many = _UNITS[unit]
    freq, fmax, pmax = rep.get("frequency") or 1, rep.get("frequencyMax"), rep.get("periodMax")
    if freq == 1 and not fmax and (period != 1 or pmax):
        return f"every {_num(period)}{'–' + _num(pmax) if pmax else ''} {many}"
    times = {1: "once", 2: "twice"}.get(freq, f"{_num(freq)} times")
    if fmax:
        times = f"{_num(freq)}–{_num(fmax)} times"
    per = (
        f"{'an' if one == 'hour' else 'a'} {one}" if period == 1 else f"every {_num(period)} {many}"
    )
    return f"{times} {per}"


def _timing(timing: Any) -> list[str]:
    if not isinstance(timing, dict):
        return []
    rep = as_dict(timing.get("repeat"))
    parts = [p for p in [_frequency(rep)] if p]
    parts += [_WHEN[w] for w in rep.get("when") or () if w in _WHEN]
    if rep.get("timeOfDay"):
        parts.append("at " + ", ".join(str(t)[:5] for t in rep["timeOfDay"]))
    if rep.get("dayOfWeek"):
        parts.append("on " + ", ".join(_DAYS.get(d, str(d)) for d in rep["dayOfWeek"]))
    bounds = rep.get("boundsDuration")
    if isinstance(bounds, dict) and bounds.get("value") and bounds.get("code") in _UNITS:
        one, many = _UNITS[bounds["code"]]
        parts.append(f"for {_num(bounds['value'])} {one if bounds['value'] == 1 else many}")
    if not parts and (name := concept_name(timing.get("code"))):
        parts.append(name)
    return parts


def _route(route: Any) -> str | None:
    name = concept_name(route) or concept_code(route, SNOMED)
    if not name:
        return None
    low = name.casefold()
    return next((words for key, words in _ROUTES if key in low), f"route: {name}")


def dosage_words(dosage: dict[str, Any]) -> str | None:
    """One dosage instruction in plain words ("1 tablet, twice a day, by mouth"), or None."""
    parts = [p for p in [_dose(dosage)] if p] + _timing(dosage.get("timing"))
    if route := _route(dosage.get("route")):
        parts.append(route)
    if dosage.get("asNeededBoolean") is True:
        parts.append("as needed")
    elif isinstance(dosage.get("asNeededCodeableConcept"), dict):
        why = concept_name(dosage["asNeededCodeableConcept"])
        parts.append(f"as needed for {why}" if why else "as needed")
    return ", ".join(parts) or None
