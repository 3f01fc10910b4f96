"""C-CDA results, vital signs and social history → FHIR R4 Observations (and a DiagnosticReport
per coded battery). The section decides the category, with one correction: an observation in a
Vital Signs section whose LOINC code is not a vital sign (Synthea files every observation there)
is a laboratory result, so that ``list_labs`` finds it and trends of vital signs stay clean.
Vital signs get the codes and UCUM units of FHIR's vital-signs profile (``_vitals``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from healthlocker.connectors.ccda._map import Context, base, negated, timed
from healthlocker.connectors.ccda._types import child, children, concept, local, when
from healthlocker.connectors.ccda._values import (
    Resource,
    code_of,
    obs_status,
    observation_value,
    reference_ranges,
)
from healthlocker.connectors.ccda._vitals import normalise

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
_SMOKING = "2.16.840.1.113883.10.20.22.4.78"  # Smoking Status Observation
# LOINC codes of vital signs: FHIR's vital-signs profile and the trend metrics of
# records/_metrics.py.
_VITALS = (
    "8302-2 8306-3 8287-5 9843-4 29463-7 3141-9 8335-2 39156-5 59574-4 59575-1 59576-9 "
    "8867-4 40443-4 9279-1 2708-6 59408-5 3150-0 3151-8 8310-5 8331-1 8332-9 8333-7 "
    "8334-5 8480-6 8462-4 85354-9 55284-4 8478-0 8716-3 80404-7 94122-9 8289-1 56086-2 "
    "8280-0"
)
VITAL_LOINC = frozenset(_VITALS.split())
_PLACEHOLDER_NOTE = (
    "result values that are an unfilled template placeholder such as {entry.value} "
    "(the result is kept, without a value)"
)


def results(el: Any, ctx: Context) -> Iterator[Resource]:
    yield from observations(el, ctx, category="laboratory")


def vital_signs(el: Any, ctx: Context) -> Iterator[Resource]:
    yield from observations(el, ctx, category="vital-signs")


def social_history(el: Any, ctx: Context) -> Iterator[Resource]:
    yield from observations(el, ctx, category="social-history")


_KINDS = {"laboratory": "result", "vital-signs": "vital sign", "social-history": "social history"}


def observations(el: Any, ctx: Context, *, category: str) -> Iterator[Resource]:
    """An observation, or an organizer's (its component observations; a coded battery of
    results is also a DiagnosticReport)."""
    if local(el) == "observation":
        obs = _observation(el, ctx, category=category)
        if obs:
            yield ctx.identify(obs, el)
        return
    if local(el) != "organizer":
        ctx.skip(f"{_KINDS[category]} entries that are not observations")
        return
    members = []
    for component in children(el, "component"):
        for obs_el in children(component, "observation"):
            obs = _observation(obs_el, ctx, category=category)
            if obs:
                members.append(ctx.identify(obs, obs_el))
                yield obs
    code = concept(child(el, "code"), ctx.narrative)
    if category == "laboratory" and code and members:  # a coded battery is a report
        yield ctx.identify(_report(el, code, members, ctx), el)


def _observation(el: Any, ctx: Context, *, category: str) -> Resource | None:
    if negated(el, ctx):
        return None
    code = concept(child(el, "code"), ctx.narrative)
    if code is None:
        ctx.skip("observations with no code and no text")
        return None
    value = observation_value(child(el, "value"), ctx.narrative) or {}
    if category == "social-history" and _SMOKING in {
        t.get("root") for t in children(el, "templateId")
    }:
        code = _smoking_status(code)
    if category == "vital-signs":
        normalise(code, value)
        loinc = {c["code"] for c in code.get("coding", ()) if c.get("system") == LOINC}
        category = "vital-signs" if loinc & VITAL_LOINC else "laboratory"
        if category == "vital-signs" and value.get("valueQuantity", {}).get("value") == 0:
            ctx.skip("vital signs recorded as 0 (a form's placeholder, not a measurement)")
            return None
    r = base("Observation", el)
    r["status"] = obs_status(el)
    r["category"] = [code_of(OBS_CATEGORY, category)]
    r["code"] = code
    r["subject"] = {"reference": ctx.patient}
    timed(r, "effective", el)
    if not any(k.startswith("effective") for k in r):  # when it was recorded, then
        written = when(child(child(el, "author"), "time"))
        if written and "T" in written:  # an instant: a time with its UTC offset
            r["issued"] = written
    if value == {"valueString": None}:
        ctx.skip(_PLACEHOLDER_NOTE)
    elif value:
        r.update(value)
    found = [concept(i, ctx.narrative) for i in children(el, "interpretationCode")]
    if any(found):
        r["interpretation"] = [c for c in found if c]
    ranges = reference_ranges(el, ctx.narrative)
    if ranges:
        r["referenceRange"] = ranges
    return r


def _smoking_status(code: Resource) -> Resource:
    """C-CDA 1.1 codes a smoking status "ASSERTION"; its LOINC code (US Core's) comes first."""
    if any(c.get("system") == LOINC for c in code.get("coding", ())):
        return code
    loinc = {"system": LOINC, "code": "72166-2", "display": "Tobacco smoking status"}
    return {**code, "coding": [loinc, *code.get("coding", ())]}


def _report(el: Any, code: dict[str, Any], members: list[Resource], ctx: Context) -> Resource:
    r = base("DiagnosticReport", el)
    r["status"] = obs_status(el)
    r["category"] = [code_of("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB")]
    r["code"] = code
    r["subject"] = {"reference": ctx.patient}
    timed(r, "effective", el)
    ids = dict.fromkeys(m["id"] for m in members)  # a member repeated word for word is one
    r["result"] = [{"reference": f"Observation/{i}"} for i in ids]
    return r
