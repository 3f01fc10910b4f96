"""One fact, many sources: the same clinical fact held by several sources is read once.

An EHR's API, its C-CDA download and Apple Health Records each carry the same lab result as a
resource of their own, with ids of their own. Two stored resources are one fact when they come
from different sources and agree on

- the type;
- the code, in the first standard system the resource uses (LOINC, RxNorm, SNOMED CT, CVX,
  ICD-10, CPT, NDC, in that order); a resource coded only locally is never merged;
- the time: for observations, reports and procedures to the minute (in UTC when the time has
  a zone; a time with no zone only equals another time with no zone; a date only equals a date);
  for prescriptions, conditions, allergies and immunizations, the day;
- the value, for observations: number and unit (unit spellings compared case-blind), coded or
  text values, and every component (blood pressure).

Where they agree, the newest stored copy is read and the others ride along in its ``also``
(``StoredResource.also``), so every view cites each source. Within one source two equal
resources stay two (a source that records the same reading twice meant it). docs/people.md
says where this stops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healthlocker.store._fhirpaths import clinical_date

if TYPE_CHECKING:
    from healthlocker.store._query import StoredResource

_STANDARD = (
    "http://loinc.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/cvx",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10",
    "http://www.ama-assn.org/go/cpt",
    "http://hl7.org/fhir/sid/ndc",
)
_RANK = {system: i for i, system in enumerate(_STANDARD)}
# The element holding each type's "what", and whether its time counts to the minute or the day.
_FACTS: dict[str, tuple[str, bool]] = {
    "Observation": ("code", True),
    "DiagnosticReport": ("code", True),
    "Procedure": ("code", True),
    "Condition": ("code", False),
    "AllergyIntolerance": ("code", False),
    "Immunization": ("vaccineCode", False),
    "MedicationRequest": ("medicationCodeableConcept", False),
    "MedicationStatement": ("medicationCodeableConcept", False),
    "MedicationDispense": ("medicationCodeableConcept", False),
}

Key = tuple[Any, ...]


def standard_code(concept: Any) -> tuple[str, str] | None:
    """The (system, code) of a CodeableConcept in the first standard system it uses."""
    best: tuple[int, str, str] | None = None
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else ():
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        rank = _RANK.get(system) if isinstance(system, str) else None
        if rank is not None and isinstance(code, str) and code.strip():
            candidate = (rank, str(system), code.strip())
            best = candidate if best is None or candidate < best else best
    return None if best is None else (best[1], best[2])


def _moment(value: str, to_minute: bool) -> str | None:
    """A FHIR date or dateTime as compared: the day, or the minute (UTC when zoned)."""
    if not to_minute or len(value) <= 10:
        return value[:10] if len(value) >= 4 else None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value[:16]
    if stamp.tzinfo is None:
        return stamp.strftime("%Y-%m-%dT%H:%M")
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _value(holder: dict[str, Any]) -> Key:
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict):
        number = quantity.get("value")
        unit = str(quantity.get("code") or quantity.get("unit") or "").strip().casefold()
        if isinstance(number, int | float) and not isinstance(number, bool):
            return ("q", round(float(number), 6), unit)
        return ("q", None, unit)
    concept = holder.get("valueCodeableConcept")
    if isinstance(concept, dict):
        text = concept.get("text")
        return ("c", standard_code(concept) or (str(text).strip().casefold() if text else None))
    for name in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if name in holder:
            found = holder[name]
            return (name, found.strip().casefold() if isinstance(found, str) else found)
    return ()


def fact_key(resource: dict[str, Any]) -> Key | None:
    """What makes *resource* the fact it is, or None when it cannot be told apart safely."""
    rtype = resource.get("resourceType")
    spec = _FACTS.get(rtype) if isinstance(rtype, str) else None
    if spec is None:
        return None
    field, to_minute = spec
    code = standard_code(resource.get(field))
    when = clinical_date(resource)
    moment = _moment(when, to_minute) if when else None
    if code is None or moment is None:
        return None
    if rtype != "Observation":
        return (rtype, code, moment)
    parts = []
    for component in resource.get("component") or ():
        if isinstance(component, dict):
            parts.append((standard_code(component.get("code")), _value(component)))
    return (rtype, code, moment, _value(resource), tuple(sorted(parts, key=repr)))


def merge_facts(stored: Iterable[StoredResource]) -> list[StoredResource]:
    """*stored* with each fact that several sources hold read once: the first copy (in the
    order given) carries the others in ``also``. Cheap when one source holds everything."""
    items = list(stored)
    if len({s.source_id for s in items}) < 2:
        return items
    out: list[StoredResource] = []
    slots: dict[Key, list[tuple[int, set[str], list[StoredResource]]]] = {}
    for item in items:
        key = fact_key(item.resource)
        if key is None:
            out.append(item)
            continue
        for _index, sources, copies in slots.get(key, ()):
            if item.source_id not in sources:
                sources.add(item.source_id)
                copies.append(item)
                break
        else:
            slots.setdefault(key, []).append((len(out), {item.source_id}, []))
            out.append(item)
    for group in slots.values():
        for index, _sources, copies in group:
            if copies:
                out[index] = dataclasses.replace(out[index], also=tuple(copies))
    return out
