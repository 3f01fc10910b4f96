"""FHIR DSTU2 resources mapped to R4, for the types health-record downloads carry most.

Apple Health's Health Records files are DSTU2 from many US health systems. The common
clinical types map field by field: Observation, MedicationStatement, MedicationOrder (which
R4 calls MedicationRequest), Condition, AllergyIntolerance, Immunization and Procedure.
Fields R4 renamed or restructured are moved; code values whose sets changed are translated;
fields with no R4 place are dropped and returned by name, for the importer to report. Other
types return None (the importer counts them as not mapped). The caller validates the result as
R4, so a mapping slip is refused rather than stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from healthlocker.connectors.fhir._dstu2_clinical import (
    _allergy,
    _condition,
    _immunization,
    _procedure,
)
from healthlocker.connectors.fhir._dstu2_parts import (
    COMMON,
    Resource,
    as_list,
    dose,
    leftover,
    move,
    notes_of,
    value_x,
)


def to_r4(resource: Resource) -> tuple[Resource, list[str]] | None:
    """The R4 form of a DSTU2 resource and the DSTU2 fields left out, or None for a type this
    version does not map."""
    mapper = _MAPPERS.get(str(resource.get("resourceType", "")))
    if mapper is None:
        return None
    out: Resource = {k: resource[k] for k in COMMON if k in resource}
    if "meta" in out and isinstance(out["meta"], dict):
        out["meta"] = {
            k: v for k, v in out["meta"].items() if k in ("lastUpdated", "source", "tag")
        }
    dropped = mapper(resource, out)
    out["resourceType"] = _RENAMED.get(out["resourceType"], out["resourceType"])
    return out, dropped


def _observation(src: Resource, out: Resource) -> list[str]:
    move(
        src,
        out,
        {
            "status": "status",
            "code": "code",
            "subject": "subject",
            "encounter": "encounter",
            "issued": "issued",
            "performer": "performer",
            "bodySite": "bodySite",
            "method": "method",
            "specimen": "specimen",
            "device": "device",
            "component": "component",
        },
    )
    value_x(src, out, "effective")
    value_x(src, out, "value")
    if "category" in src:
        out["category"] = as_list(src["category"])
    if "interpretation" in src:
        out["interpretation"] = as_list(src["interpretation"])
    if "comments" in src:
        out["note"] = notes_of(src["comments"])
    if "dataAbsentReason" in src:
        out["dataAbsentReason"] = src["dataAbsentReason"]
    if "referenceRange" in src:
        out["referenceRange"] = _ranges(src["referenceRange"])
    if "component" in src:
        out["component"] = [
            {**c, "referenceRange": _ranges(c["referenceRange"])} if "referenceRange" in c else c
            for c in as_list(src["component"])
            if isinstance(c, dict)
        ]
    used = {
        "status",
        "code",
        "subject",
        "encounter",
        "issued",
        "performer",
        "bodySite",
        "method",
        "specimen",
        "device",
        "component",
        "category",
        "interpretation",
        "comments",
        "dataAbsentReason",
        "referenceRange",
    }
    used |= {k for k in src if k.startswith(("effective", "value"))}
    return leftover(src, used)


def _ranges(value: Any) -> list[dict[str, Any]]:
    """DSTU2 ``referenceRange.meaning`` is R4's ``type``."""
    out = []
    for r in as_list(value):
        if isinstance(r, dict):
            kept = {k: r[k] for k in ("low", "high", "age", "text") if k in r}
            if "meaning" in r:
                kept["type"] = r["meaning"]
            out.append(kept)
    return out


_STATEMENT_STATUS = {
    "active": "active",
    "completed": "completed",
    "intended": "intended",
    "entered-in-error": "entered-in-error",
}


def _medication_statement(src: Resource, out: Resource) -> list[str]:
    out["status"] = _STATEMENT_STATUS.get(str(src.get("status")), "unknown")
    if src.get("wasNotTaken") is True:
        out["status"] = "not-taken"
        if "reasonNotTaken" in src:
            out["statusReason"] = as_list(src["reasonNotTaken"])
    move(
        src,
        out,
        {
            "patient": "subject",
            "informationSource": "informationSource",
            "dateAsserted": "dateAsserted",
        },
    )
    value_x(src, out, "medication")
    value_x(src, out, "effective")
    if "reasonForUseCodeableConcept" in src:
        out["reasonCode"] = [src["reasonForUseCodeableConcept"]]
    if "reasonForUseReference" in src:
        out["reasonReference"] = [src["reasonForUseReference"]]
    if "note" in src:
        out["note"] = notes_of(src["note"])
    if "dosage" in src:
        out["dosage"] = [dose(d) for d in as_list(src["dosage"]) if isinstance(d, dict)]
    used = {
        "status",
        "wasNotTaken",
        "reasonNotTaken",
        "patient",
        "informationSource",
        "dateAsserted",
        "reasonForUseCodeableConcept",
        "reasonForUseReference",
        "note",
        "dosage",
    } | {k for k in src if k.startswith(("medication", "effective"))}
    return leftover(src, used)


_ORDER_STATUS = {
    "active": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "entered-in-error": "entered-in-error",
    "stopped": "stopped",
    "draft": "draft",
}


def _medication_order(src: Resource, out: Resource) -> list[str]:
    out["status"] = _ORDER_STATUS.get(str(src.get("status")), "unknown")
    out["intent"] = "order"
    move(
        src,
        out,
        {
            "patient": "subject",
            "prescriber": "requester",
            "dateWritten": "authoredOn",
            "encounter": "encounter",
        },
    )
    value_x(src, out, "medication")
    if "reasonCodeableConcept" in src:
        out["reasonCode"] = [src["reasonCodeableConcept"]]
    if "reasonReference" in src:
        out["reasonReference"] = [src["reasonReference"]]
    if "note" in src:
        out["note"] = notes_of(src["note"])
    if "dosageInstruction" in src:
        out["dosageInstruction"] = [
            dose(d) for d in as_list(src["dosageInstruction"]) if isinstance(d, dict)
        ]
    used = {
        "status",
        "patient",
        "prescriber",
        "dateWritten",
        "encounter",
        "reasonCodeableConcept",
        "reasonReference",
        "note",
        "dosageInstruction",
    }
    used |= {k for k in src if k.startswith("medication")}
    return leftover(src, used)


_MAPPERS: dict[str, Callable[[Resource, Resource], list[str]]] = {
    "Observation": _observation,
    "MedicationStatement": _medication_statement,
    "MedicationOrder": _medication_order,
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "Immunization": _immunization,
    "Procedure": _procedure,
}
_RENAMED = {"MedicationOrder": "MedicationRequest"}
MAPPED_TYPES = tuple(_MAPPERS)
