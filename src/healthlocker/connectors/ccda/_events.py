"""C-CDA encounters (with their diagnoses) and procedures → Encounter, Condition, Procedure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from healthlocker.connectors.ccda._map import (
    PLANNED,
    Context,
    base,
    conditions,
    named,
    negated,
    reasons,
    timed,
)
from healthlocker.connectors.ccda._types import child, children, concept, effective, local
from healthlocker.connectors.ccda._values import Resource, encounter_class, status_map

_ENCOUNTER_DIAGNOSIS = ("2.16.840.1.113883.10.20.22.4.80", "29308-4")  # templateId, LOINC code
_PROBLEM = "2.16.840.1.113883.10.20.22.4.4"
_NO_CODE = "procedures with no code and no text"


def encounters(el: Any, ctx: Context) -> Iterator[Resource]:
    """An encounter, and its diagnoses as Conditions (category encounter-diagnosis) that the
    Encounter lists."""
    if local(el) != "encounter":
        ctx.skip("encounter entries that are not an encounter")
        return
    if el.get("moodCode") in PLANNED:
        ctx.skip("planned encounters (not happened yet)")
        return
    diagnoses = []
    for statement in _diagnoses(el):
        for condition in conditions(statement, ctx, category="encounter-diagnosis", status=None):
            diagnoses.append(condition)
            yield condition
    r = base("Encounter", el)
    point, span = effective(child(el, "effectiveTime"))
    r["status"] = status_map(el, "encounter", done=bool(point or span))
    code = concept(child(el, "code"), ctx.narrative)
    r["class"] = encounter_class(child(el, "code"))
    if code:
        r["type"] = [code]
    r["subject"] = {"reference": ctx.patient}
    if span or point:
        r["period"] = span or {"start": point, "end": point}
    if diagnoses:
        r["diagnosis"] = [{"condition": {"reference": f"Condition/{c['id']}"}} for c in diagnoses]
    why = reasons(el, ctx)
    if why:
        r["reasonCode"] = why
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
    yield ctx.identify(r, el)


def _diagnoses(el: Any) -> Iterator[Any]:
    """Encounter Diagnosis acts, and problem observations given straight under the encounter."""
    template, loinc = _ENCOUNTER_DIAGNOSIS
    for rel in children(el, "entryRelationship"):
        if rel.get("typeCode") == "RSON":  # reasons, read as such
            continue
        for statement in rel:
            if not isinstance(statement.tag, str):
                continue
            roots = {t.get("root") for t in children(statement, "templateId")}
            code = child(statement, "code")
            if (
                local(statement) == "act"
                and (template in roots or (code is not None and code.get("code") == loinc))
            ) or (local(statement) == "observation" and _PROBLEM in roots):
                yield statement


def procedures(el: Any, ctx: Context) -> Iterator[Resource]:
    if local(el) not in ("procedure", "act", "observation"):
        ctx.skip("procedure entries that are not a procedure, act or observation")
        return
    if el.get("moodCode") in PLANNED:
        ctx.skip("planned procedures (not done yet)")
        return
    if negated(el, ctx):
        return
    code = named(concept(child(el, "code"), ctx.narrative), ctx, _NO_CODE)
    if code is None:
        return
    r = base("Procedure", el)
    r["status"] = status_map(el, "procedure")
    r["code"] = code
    r["subject"] = {"reference": ctx.patient}
    timed(r, "performed", el)
    sites = [c for c in (concept(s, ctx.narrative) for s in children(el, "targetSiteCode")) if c]
    if sites:
        r["bodySite"] = sites
    why = reasons(el, ctx)
    if why:
        r["reasonCode"] = why
    yield ctx.identify(r, el)
