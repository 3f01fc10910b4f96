"""C-CDA medication activities and immunizations → MedicationStatement, MedicationRequest and
Immunization.

A medication's status is read from everything the entry says (docs/ccda.md, "Medication
status"): the ``statusCode``, an end date before the document was written, a Medication Status
observation, and the mood. C-CDA 1.1-era documents write the current medication list as
``moodCode="INT"`` with ``statusCode completed`` and no end date: "completed" there describes the
record, not the medication, and reading it literally empties the active list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from healthlocker.connectors.ccda._map import (
    PLANNED,
    Context,
    base,
    named,
    negated,
    reasons,
    related,
)
from healthlocker.connectors.ccda._narrative import Narrative
from healthlocker.connectors.ccda._types import (
    child,
    children,
    concept,
    effective,
    local,
    null,
    quantity,
    when,
    xsi_type,
)
from healthlocker.connectors.ccda._values import Resource, code_of, dosage, status_map

MED_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
LOINC = "http://loinc.org"
_STATUS_OBSERVATION = ("2.16.840.1.113883.10.20.1.47", "33999-4")  # templateId, LOINC code
# Medication Status observation values (SNOMED CT) → MedicationStatement status.
_STATUS_VALUES = {
    "55561003": "active",
    "15240007": "active",  # current
    "73425007": "completed",  # inactive
    "413322009": "completed",  # resolved
    "385658003": "completed",  # done
    "421139008": "on-hold",
    "385655000": "on-hold",  # suspended
}
_STATUS_CODES = {
    "nullified": "entered-in-error",
    "aborted": "stopped",
    "cancelled": "not-taken",
    "suspended": "on-hold",
    "held": "on-hold",
}
# MedicationStatement status → MedicationRequest status, where they differ.
_AS_REQUEST = {"not-taken": "cancelled", "intended": "draft"}
# A column of a medication table that holds the instructions.
_SIG = re.compile(r"\b(sig|directions?|instructions?|dosage|dose|how to take|frequency)\b", re.I)
_NO_VACCINE = "immunizations with no vaccine code or no date"
_CODE_MENTION = re.compile(r"\[?\b(rx\s?norm|ndc)\b:?\s*[\w-]+\]?", re.I)


def medications(
    el: Any,
    ctx: Context,
    *,
    request: bool = False,
    category: tuple[str, str] | None = None,
    administered: bool = False,
) -> Iterator[Resource]:
    """A medication activity, or an act holding some (discharge and admission medications).
    *request*: a MedicationRequest (discharge medications) rather than a MedicationStatement;
    *category*: the statement's (LOINC code, name) of its section; *administered*: given during
    the visit (medications administered, anesthesia), so done."""
    statements = (
        [s for s in related(el) if local(s) == "substanceAdministration"]
        if local(el) == "act"
        else [el]
    )
    if not statements or local(statements[0]) != "substanceAdministration":
        ctx.skip("medication entries that are not a substanceAdministration")
        return
    for statement in statements:
        if negated(statement, ctx):
            continue
        medication = named(product(statement, ctx), ctx, "medications with no code and no name")
        if medication is None:
            continue
        status = medication_status(statement, ctx.document_time, administered=administered)
        if request:
            r = _request(statement, medication, status, ctx)
        else:
            r = _statement(statement, medication, status, ctx, category)
        yield ctx.identify(r, statement)


def _statement(
    el: Any, medication: Resource, status: str, ctx: Context, category: tuple[str, str] | None
) -> Resource:
    r = base("MedicationStatement", el)
    r["status"] = status
    if category:
        r["category"] = {"coding": [{"system": LOINC, "code": category[0], "display": category[1]}]}
    r["medicationCodeableConcept"] = medication
    r["subject"] = {"reference": ctx.patient}
    point, span = _period(el)
    if span:
        r["effectivePeriod"] = span
    elif point:
        r["effectiveDateTime"] = point
    why = reasons(el, ctx)
    if why:
        r["reasonCode"] = why
    how = _dosage(el, medication, ctx.narrative)
    if how:
        r["dosage"] = [how]
    return r


def _request(el: Any, medication: Resource, status: str, ctx: Context) -> Resource:
    """A discharge medication: the plan the patient leaves hospital with."""
    r = base("MedicationRequest", el)
    r["status"] = _AS_REQUEST.get(status, status)
    r["intent"] = "plan"
    r["category"] = [code_of(MED_REQUEST_CATEGORY, "discharge")]
    r["medicationCodeableConcept"] = medication
    r["subject"] = {"reference": ctx.patient}
    written = when(child(child(el, "author"), "time"))
    if written:
        r["authoredOn"] = written
    why = reasons(el, ctx)
    if why:
        r["reasonCode"] = why
    how = _dosage(el, medication, ctx.narrative) or {}
    point, span = _period(el)
    bounds = span or ({"start": point} if point else None)
    if bounds:
        timing = how.setdefault("timing", {})
        timing.setdefault("repeat", {})["boundsPeriod"] = bounds
    if how:
        r["dosageInstruction"] = [how]
    return r


def _period(el: Any) -> tuple[str | None, dict[str, str] | None]:
    times = [t for t in children(el, "effectiveTime") if xsi_type(t) in ("", "IVL_TS", "TS")]
    return effective(times[0] if times else None)


def medication_status(el: Any, document_time: str | None, *, administered: bool = False) -> str:
    """A MedicationStatement status from all the entry says, strongest first: a statusCode that
    stops it (nullified, aborted, cancelled, suspended, held); given during the visit
    (completed); an end date before the document's date (completed); a Medication Status
    observation; statusCode active or new; else active (a medication list is the current one,
    and "completed" with no end date is C-CDA 1.1's way of writing a current medication)."""
    status = child(el, "statusCode")
    code = "" if status is None else (status.get("code") or "").strip().lower()
    if code in _STATUS_CODES:
        return _STATUS_CODES[code]
    if administered:
        return "completed"
    _, span = _period(el)
    end = (span or {}).get("end")
    if end and (document_time is None or _before(end, document_time)):
        return "completed"
    value = child(_status_observation(el), "value")
    if not null(value) and value.get("code") in _STATUS_VALUES:
        return _STATUS_VALUES[value.get("code")]
    return {"active": "active", "new": "intended"}.get(code, "active")


def _before(end: str, moment: str) -> bool:
    """Whether *end* is before *moment*, at the precision both have (a day, a month …)."""
    n = min(len(end), len(moment), 10)
    return end[:n] < moment[:n]


def _status_observation(el: Any) -> Any:
    template, loinc = _STATUS_OBSERVATION
    for obs in related(el):
        if local(obs) != "observation":
            continue
        if any(t.get("root") == template for t in children(obs, "templateId")) or (
            child(obs, "code") is not None and child(obs, "code").get("code") == loinc
        ):
            return obs
    return None


def product(el: Any, ctx: Context) -> dict[str, Any] | None:
    material = child(child(child(el, "consumable"), "manufacturedProduct"), "manufacturedMaterial")
    return concept(child(material, "code"), ctx.narrative) or (
        {"text": name} if (name := ctx.narrative.resolve(child(material, "name"))) else None
    )


def _dosage(el: Any, medication: Resource, narrative: Narrative) -> Resource | None:
    """The dosage, its text in words without the drug's name repeated: the instructions column
    of the row the entry points to where the table has one, else the entry's text with the
    medication's names (and any "RxNorm: 123" mention) taken out."""
    how = dosage(el, narrative)
    text = _sig(el, narrative)
    if text:
        text = _without_names(text, el, medication, narrative)
    if how is not None:
        how.pop("text", None)
    if text:
        how = {"text": text, **(how or {})}
    return how or None


def _sig(el: Any, narrative: Narrative) -> str | None:
    text_el = child(el, "text")
    row = narrative.row(text_el)
    cells = [c for h, c in row or () if _SIG.search(h) and c]
    return "; ".join(cells) if cells else narrative.resolve(text_el)


def _without_names(text: str, el: Any, medication: Resource, narrative: Narrative) -> str | None:
    material = child(child(child(el, "consumable"), "manufacturedProduct"), "manufacturedMaterial")
    code = child(material, "code")
    names = {
        medication.get("text"),
        narrative.resolve(child(code, "originalText")),
        narrative.resolve(child(material, "name")),
        *(c.get("display") for c in medication.get("coding", ())),
    }
    for name in sorted((n for n in names if n and len(n) > 2), key=len, reverse=True):
        found = text.casefold().find(name.casefold())
        if found >= 0:
            text = text[:found] + text[found + len(name) :]
    text = _CODE_MENTION.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:-|") or None


# --- immunizations ---------------------------------------------------------------------------


def immunizations(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) != "substanceAdministration":
        ctx.skip("immunization entries that are not a substanceAdministration")
        return
    if el.get("moodCode") in PLANNED:
        ctx.skip("planned immunizations (not given yet)")
        return
    point, span = effective(child(el, "effectiveTime"))
    occurred = point or (span or {}).get("start")
    vaccine = named(product(el, ctx), ctx, _NO_VACCINE)
    if vaccine is None:
        return
    if occurred is None:
        ctx.skip(_NO_VACCINE)
        return
    r = base("Immunization", el)
    refused = (el.get("negationInd") or "").lower() == "true"
    r["status"] = "not-done" if refused else status_map(el, "immunization")
    r["vaccineCode"] = vaccine
    r["patient"] = {"reference": ctx.patient}
    r["occurrenceDateTime"] = occurred
    material = child(child(child(el, "consumable"), "manufacturedProduct"), "manufacturedMaterial")
    lot = ctx.narrative.resolve(child(material, "lotNumberText"))
    if lot:
        r["lotNumber"] = lot[:100]
    route = concept(child(el, "routeCode"), ctx.narrative)
    if route:
        r["route"] = route
    dose = quantity(child(el, "doseQuantity"))
    if dose:
        r["doseQuantity"] = dose
    yield ctx.identify(r, el)
