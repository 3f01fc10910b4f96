"""Values and statuses of C-CDA entries in FHIR R4 terms: observation values, reference ranges,
dosage, and the status, category and criticality vocabularies (C-CDA on FHIR's concept maps).
"""

from __future__ import annotations

import re
from typing import Any

from healthlocker.connectors.ccda._narrative import Narrative
from healthlocker.connectors.ccda._types import (
    child,
    children,
    concept,
    null,
    number,
    quantity,
    ts,
    xsi_type,
)

Resource = dict[str, Any]
# A literal "{entry.value}" and the like: a producer's template left unfilled (Synthea does it).
_PLACEHOLDER = re.compile(r"^\{[\w.]+\}$")
_ACTIVE = "55561003"
_STATUS_VALUES = {_ACTIVE: "active", "73425007": "inactive", "413322009": "resolved"}
# statusCode → FHIR status, per resource; None is "no statusCode".
_STATUS: dict[str, dict[str | None, str]] = {
    "immunization": {"nullified": "entered-in-error"},  # anything else given is completed
    "encounter": {
        "active": "in-progress",
        "completed": "finished",
        "aborted": "cancelled",
        "cancelled": "cancelled",
        "new": "planned",
        "nullified": "entered-in-error",
    },
    "procedure": {
        "active": "in-progress",
        "completed": "completed",
        "aborted": "stopped",
        "cancelled": "not-done",
        "new": "preparation",
        "held": "on-hold",
        "suspended": "on-hold",
        "nullified": "entered-in-error",
    },
}
_DEFAULT = {"immunization": "completed", "procedure": "unknown"}
_OBS_STATUS = {
    "completed": "final",
    "active": "preliminary",
    "aborted": "cancelled",
    "cancelled": "cancelled",
    "nullified": "entered-in-error",
    "new": "registered",
    "held": "registered",
    "suspended": "registered",
}
# Allergy observation value (SNOMED) → (type, category)
_ALLERGY_KINDS = {
    "419199007": ("allergy", None),  # allergy to substance
    "416098002": ("allergy", "medication"),
    "414285001": ("allergy", "food"),
    "426232007": ("allergy", "environment"),
    "59037007": ("intolerance", "medication"),
    "235719002": ("intolerance", "food"),
    "420134006": (None, None),  # propensity to adverse reactions
    "419511003": (None, "medication"),
    "418471000": (None, "food"),
    "418038007": (None, None),
}
_SEVERITY = {"255604002": "mild", "6736007": "moderate", "24484000": "severe"}
_CRITICALITY = {"CRITL": "low", "CRITH": "high", "CRITU": "unable-to-assess"}
_ENCOUNTER_CLASSES = frozenset(
    {"AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR"}
)
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_PERIOD_UNITS = {"s": "s", "min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def code_of(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def status_map(el: Any, kind: str, *, done: bool = False) -> str:
    status = child(el, "statusCode")
    code = None if status is None else (status.get("code") or "").strip().lower() or None
    found = _STATUS[kind].get(code)
    if found:
        return found
    if kind == "encounter":  # an encounter in a history with a time is one that took place
        return "finished" if done and el.get("moodCode", "EVN") == "EVN" else "unknown"
    return _DEFAULT[kind]


def obs_status(el: Any) -> str:
    status = child(el, "statusCode")
    code = None if status is None else (status.get("code") or "").strip().lower()
    return _OBS_STATUS.get(code or "completed", "unknown")


def condition_status(value: Any, ended: str | None, act: Any) -> str:
    """Clinical status: the status observation's value; else resolved when the problem has an
    end; else what the concern act's statusCode says (suspended is inactive), else active."""
    if not null(value) and value.get("code") in _STATUS_VALUES:
        return _STATUS_VALUES[value.get("code")]
    if ended:
        return "resolved"
    status = child(act, "statusCode")
    return "inactive" if status is not None and status.get("code") == "suspended" else "active"


def allergy_type(code: str) -> str | None:
    return _ALLERGY_KINDS.get(code, (None, None))[0]


def allergy_category(code: str) -> str | None:
    return _ALLERGY_KINDS.get(code, (None, None))[1]


def severity(value: Any) -> str | None:
    return None if null(value) else _SEVERITY.get(value.get("code") or "")


def criticality(value: Any) -> str | None:
    return None if null(value) else _CRITICALITY.get(value.get("code") or "")


def encounter_class(code: Any) -> dict[str, str]:
    """Encounter.class (required in R4): an ActCode translation of the encounter's code if it
    has one, else "unknown" (C-CDA has no separate class)."""
    for el in [code, *children(code, "translation")]:
        if el is not None and el.get("code") in _ENCOUNTER_CLASSES:
            return {"system": _ACT_CODE, "code": el.get("code")}
    return {
        "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
        "code": "UNK",
        "display": "unknown",
    }


def observation_value(el: Any, narrative: Narrative) -> Resource | None:
    """``value[x]`` of an observation, by its xsi:type; ``{"valueString": None}`` for an unfilled
    placeholder (counted by the caller); None for no usable value."""
    if null(el):
        return None
    kind = xsi_type(el)
    if kind == "PQ":
        q = quantity(el)
        return {"valueQuantity": q} if q else None
    if kind in ("CD", "CE", "CV", "CO", "CS"):
        c = concept(el, narrative)
        return {"valueCodeableConcept": c} if c else None
    if kind in ("ST", "ED", "SC"):
        text = narrative.resolve(el)
        if text and _PLACEHOLDER.match(text):
            return {"valueString": None}
        return {"valueString": text} if text else None
    if kind == "INT":
        n = number(el.get("value"))
        return {"valueInteger": n} if isinstance(n, int) and abs(n) < 2**31 else None
    if kind in ("REAL", "MO"):
        n = number(el.get("value"))
        return {"valueQuantity": {"value": n}} if n is not None else None
    if kind == "BL":
        flag = el.get("value")
        return {"valueBoolean": flag == "true"} if flag in ("true", "false") else None
    if kind == "IVL_PQ":
        r = _range(el)
        return {"valueRange": r} if r else None
    if kind == "TS":
        t = ts(el.get("value"))
        return {"valueDateTime": t} if t else None
    return None


def _range(el: Any) -> dict[str, Any] | None:
    out = {}
    for end in ("low", "high"):
        q = quantity(child(el, end))
        if q:
            out[end] = q
    return out or None


def reference_ranges(el: Any, narrative: Narrative) -> list[Resource]:
    """The normal ranges of a result (``referenceRange/observationRange``, interpretation N or
    none): low and high as quantities, and their text."""
    out = []
    for ref in children(el, "referenceRange"):
        obs_range = child(ref, "observationRange")
        interpretation = child(obs_range, "interpretationCode")
        if obs_range is None or (
            interpretation is not None and interpretation.get("code") not in (None, "N")
        ):
            continue
        item: Resource = {}
        value = child(obs_range, "value")
        if value is not None and xsi_type(value) in ("IVL_PQ", ""):
            item.update(_range(value) or {})
        text = narrative.resolve(child(obs_range, "text"))
        if text:
            item["text"] = text
        if item:
            out.append(item)
    return out


def dosage(el: Any, narrative: Narrative) -> Resource | None:
    """The structured instruction of a medication activity: route, dose and period (PIVL_TS);
    its text is the caller's (``_meds``)."""
    out: Resource = {}
    timing = _timing(el)
    if timing:
        out["timing"] = {"repeat": timing}
    route = concept(child(el, "routeCode"), narrative)
    if route:
        out["route"] = route
    dose = child(el, "doseQuantity")
    q = quantity(dose)
    if q:
        out["doseAndRate"] = [{"doseQuantity": q}]
    elif dose is not None and not null(dose) and (span := _range(dose)):
        out["doseAndRate"] = [{"doseRange": span}]
    return out or None


def _timing(el: Any) -> Resource | None:
    for time in children(el, "effectiveTime"):
        if xsi_type(time) != "PIVL_TS":
            continue
        every = child(time, "period")
        if null(every):
            continue
        value, unit = number(every.get("value")), _PERIOD_UNITS.get(every.get("unit") or "")
        if value is None or value <= 0 or unit is None:
            continue
        return {"frequency": 1, "period": value, "periodUnit": unit}
    return None
