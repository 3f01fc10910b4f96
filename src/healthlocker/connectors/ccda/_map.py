"""C-CDA entries → FHIR R4 resources, one section kind at a time.

Each mapper takes the clinical statement of one ``<entry>`` (an act, observation, organizer,
substanceAdministration, encounter or procedure) and yields resources; what it cannot map it
counts in ``Context.skipped`` (reason → how many), never silently. docs/ccda.md has the table.
Mappers are lenient about templateIds (many documents get them wrong) and strict about meaning:
no code and no text means no resource, and a negated statement ("no known allergies") is not
recorded as its opposite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from healthlocker.connectors.ccda._types import (
    Narrative,
    child,
    children,
    concept,
    content_key,
    effective,
    entry_key,
    identifier,
    local,
    null,
    period,
    quantity,
    stable_id,
    when,
    xsi_type,
)
from healthlocker.connectors.ccda._values import (
    Resource,
    allergy_category,
    allergy_type,
    code_of,
    condition_status,
    criticality,
    dosage,
    encounter_class,
    severity,
    status_map,
)

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_PLANNED = frozenset({"INT", "RQO", "PRMS", "PRP", "ARQ", "APT", "GOL"})
_TEMPLATE_PROBLEM_STATUS = "2.16.840.1.113883.10.20.22.4.6"
_TEMPLATE_ALLERGY_STATUS = "2.16.840.1.113883.10.20.22.4.28"
_TEMPLATE_SEVERITY = "2.16.840.1.113883.10.20.22.4.8"
_TEMPLATE_CRITICALITY = "2.16.840.1.113883.10.20.22.4.145"


@dataclass
class Context:
    """What every mapper needs: the patient, the narrative, and the tally of what was left out."""

    patient: str  # "Patient/<id>"
    narrative: Narrative
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, what: str, n: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + n


def resource_id(rtype: str, el: Any, ctx: Context) -> str:
    """Deterministic: from the entry's ``<id root extension>``; else from its content."""
    key = entry_key(el)
    if key is not None:
        return stable_id(rtype, *key)
    return stable_id(rtype, ctx.patient, content_key(el))


def base(rtype: str, el: Any, ctx: Context) -> Resource:
    out: Resource = {"resourceType": rtype, "id": resource_id(rtype, el, ctx)}
    idents = [i for i in (identifier(x) for x in children(el, "id")) if i]
    if idents:
        out["identifier"] = idents
    return out


def negated(el: Any, ctx: Context) -> bool:
    if (el.get("negationInd") or "").lower() == "true":
        ctx.skip("negated entries (such as 'no known problems'), which record an absence")
        return True
    return False


def _related(el: Any, type_code: str | None = None) -> Iterator[Any]:
    """Clinical statements inside ``entryRelationship`` (of one typeCode, or all)."""
    for rel in children(el, "entryRelationship"):
        if type_code is not None and rel.get("typeCode") != type_code:
            continue
        for statement in rel:
            if isinstance(statement.tag, str) and local(statement) in _STATEMENTS:
                yield statement


def _templated(el: Any, template: str) -> Iterator[Any]:
    for statement in _related(el):
        if any(t.get("root") == template for t in children(statement, "templateId")):
            yield statement


def _reasons(el: Any, ctx: Context) -> list[dict[str, Any]]:
    found = [concept(child(s, "value"), ctx.narrative) for s in _related(el, "RSON")]
    return [c for c in found if c]


# --- problems --------------------------------------------------------------------------------


def problems(el: Any, ctx: Context) -> Iterator[Resource]:
    """A problem concern act (its problem observations) or a bare problem observation."""
    statements = list(_related(el, "SUBJ")) if local(el) == "act" else [el]
    if not statements:
        ctx.skip("problem concerns with no problem observation")
    for obs in statements:
        if local(obs) != "observation" or negated(obs, ctx):
            continue
        # The value is the problem; the observation's own code only says what kind of problem
        # list item it is (condition, diagnosis, symptom …).
        code = concept(child(obs, "value"), ctx.narrative)
        if code is None:
            ctx.skip("problems with no code and no text")
            continue
        r = base("Condition", obs, ctx)
        onset, abated = _onset(obs, el)
        status_obs = next(_templated(obs, _TEMPLATE_PROBLEM_STATUS), None)
        clinical = condition_status(child(status_obs, "value"), abated, el)
        r["clinicalStatus"] = code_of(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical
        )
        r["category"] = [code_of(CONDITION_CATEGORY, "problem-list-item")]
        r["code"] = code
        r["subject"] = {"reference": ctx.patient}
        if onset:
            r["onsetDateTime"] = onset
        if abated and clinical in ("resolved", "inactive"):
            r["abatementDateTime"] = abated
        recorded = when(child(child(obs, "author"), "time"))
        if recorded:
            r["recordedDate"] = recorded
        yield r


def _onset(obs: Any, act: Any) -> tuple[str | None, str | None]:
    """(onset, abatement): the observation's effectiveTime, else the concern act's."""
    for el in (obs, act):
        time = child(el, "effectiveTime")
        span = period(time)
        if span:
            return span.get("start"), span.get("end")
        point = when(time)
        if point:
            return point, None
    return None, None


# --- allergies -------------------------------------------------------------------------------


def allergies(el: Any, ctx: Context) -> Iterator[Resource]:
    """An allergy concern act (its allergy observations) or a bare allergy observation."""
    statements = list(_related(el, "SUBJ")) if local(el) == "act" else [el]
    for obs in statements:
        if local(obs) != "observation" or negated(obs, ctx):
            continue
        role = child(_consumable_participant(obs), "participantRole")
        substance = concept(child(child(role, "playingEntity"), "code"), ctx.narrative)
        kind = child(obs, "value")
        if substance is None:
            ctx.skip("allergies with no substance code and no text")
            continue
        r = base("AllergyIntolerance", obs, ctx)
        status_obs = next(_templated(obs, _TEMPLATE_ALLERGY_STATUS), None)
        onset, ended = _onset(obs, el)
        clinical = condition_status(child(status_obs, "value"), ended, el)
        r["clinicalStatus"] = code_of(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "active" if clinical in ("recurrence", "relapse") else clinical,
        )
        r["verificationStatus"] = code_of(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed"
        )
        kind_code = "" if null(kind) else kind.get("code") or ""
        if allergy_type(kind_code):
            r["type"] = allergy_type(kind_code)
        if allergy_category(kind_code):
            r["category"] = [allergy_category(kind_code)]
        crit = criticality(child(next(_templated(obs, _TEMPLATE_CRITICALITY), None), "value"))
        if crit:
            r["criticality"] = crit
        r["code"] = substance
        r["patient"] = {"reference": ctx.patient}
        if onset:
            r["onsetDateTime"] = onset
        reactions = [x for x in (_reaction(m, ctx) for m in _related(obs, "MFST")) if x]
        if reactions:
            r["reaction"] = reactions
        yield r


def _consumable_participant(obs: Any) -> Any:
    return next((p for p in children(obs, "participant") if p.get("typeCode") == "CSM"), None)


def _reaction(obs: Any, ctx: Context) -> Resource | None:
    manifestation = concept(child(obs, "value"), ctx.narrative)
    if manifestation is None:
        return None
    out: Resource = {"manifestation": [manifestation]}
    level = severity(child(next(_templated(obs, _TEMPLATE_SEVERITY), None), "value"))
    if level:
        out["severity"] = level
    return out


# --- medications and immunizations -----------------------------------------------------------


def _product(el: Any, ctx: Context) -> dict[str, Any] | None:
    material = child(child(child(el, "consumable"), "manufacturedProduct"), "manufacturedMaterial")
    return concept(child(material, "code"), ctx.narrative) or (
        {"text": name} if (name := ctx.narrative.resolve(child(material, "name"))) else None
    )


def medications(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) != "substanceAdministration":
        ctx.skip("medication entries that are not a substanceAdministration")
        return
    if negated(el, ctx):
        return
    medication = _product(el, ctx)
    if medication is None:
        ctx.skip("medications with no code and no name")
        return
    r = base("MedicationStatement", el, ctx)
    r["status"] = status_map(el, "medication")
    r["medicationCodeableConcept"] = medication
    r["subject"] = {"reference": ctx.patient}
    times = [t for t in children(el, "effectiveTime") if xsi_type(t) in ("", "IVL_TS", "TS")]
    point, span = effective(times[0] if times else None)
    if span:
        r["effectivePeriod"] = span
    elif point:
        r["effectiveDateTime"] = point
    reasons = _reasons(el, ctx)
    if reasons:
        r["reasonCode"] = reasons
    how = dosage(el, ctx.narrative)
    if how:
        r["dosage"] = [how]
    yield r


def immunizations(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) != "substanceAdministration":
        ctx.skip("immunization entries that are not a substanceAdministration")
        return
    if el.get("moodCode") in _PLANNED:
        ctx.skip("planned immunizations (not given yet)")
        return
    vaccine = _product(el, ctx)
    point, span = effective(child(el, "effectiveTime"))
    occurred = point or (span or {}).get("start")
    if vaccine is None or occurred is None:
        ctx.skip("immunizations with no vaccine code or no date")
        return
    r = base("Immunization", el, ctx)
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
    yield r


# --- encounters and procedures ---------------------------------------------------------------


def encounters(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) != "encounter":
        ctx.skip("encounter entries that are not an encounter")
        return
    if el.get("moodCode") in _PLANNED:
        ctx.skip("planned encounters (not happened yet)")
        return
    r = base("Encounter", el, ctx)
    point, span = effective(child(el, "effectiveTime"))
    r["status"] = status_map(el, "encounter", done=bool(point or span))
    code = concept(child(el, "code"), ctx.narrative)
    r["class"] = encounter_class(child(el, "code"))
    if code:
        r["type"] = [code]
    r["subject"] = {"reference": ctx.patient}
    if span or point:
        r["period"] = span or {"start": point, "end": point}
    reasons = _reasons(el, ctx)
    if reasons:
        r["reasonCode"] = reasons
    places = [
        {"location": {"display": name}}
        for p in children(el, "participant")
        if p.get("typeCode") == "LOC"
        and (
            name := ctx.narrative.resolve(
                child(child(child(p, "participantRole"), "playingEntity"), "name")
            )
        )
    ]
    if places:
        r["location"] = places
    yield r


def procedures(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) not in ("procedure", "act", "observation"):
        ctx.skip("procedure entries that are not a procedure, act or observation")
        return
    if el.get("moodCode") in _PLANNED:
        ctx.skip("planned procedures (not done yet)")
        return
    if negated(el, ctx):
        return
    code = concept(child(el, "code"), ctx.narrative)
    if code is None:
        ctx.skip("procedures with no code and no text")
        return
    r = base("Procedure", el, ctx)
    r["status"] = status_map(el, "procedure")
    r["code"] = code
    r["subject"] = {"reference": ctx.patient}
    point, span = effective(child(el, "effectiveTime"))
    if span:
        r["performedPeriod"] = span
    elif point:
        r["performedDateTime"] = point
    sites = [c for c in (concept(s, ctx.narrative) for s in children(el, "targetSiteCode")) if c]
    if sites:
        r["bodySite"] = sites
    reasons = _reasons(el, ctx)
    if reasons:
        r["reasonCode"] = reasons
    yield r


_STATEMENTS = frozenset(
    {
        "act",
        "observation",
        "organizer",
        "substanceAdministration",
        "supply",
        "encounter",
        "procedure",
    }
)
Mapper = Callable[[Any, Context], Iterator[Resource]]
