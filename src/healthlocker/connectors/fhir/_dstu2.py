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

Resource = dict[str, Any]

# Elements every resource keeps as they are (extensions included: they are version-neutral).
_COMMON = (
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
)
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def to_r4(resource: Resource) -> tuple[Resource, list[str]] | None:
    """The R4 form of a DSTU2 resource and the DSTU2 fields left out, or None for a type this
    version does not map."""
    mapper = _MAPPERS.get(str(resource.get("resourceType", "")))
    if mapper is None:
        return None
    out: Resource = {k: resource[k] for k in _COMMON if k in resource}
    if "meta" in out and isinstance(out["meta"], dict):
        out["meta"] = {
            k: v for k, v in out["meta"].items() if k in ("lastUpdated", "source", "tag")
        }
    dropped = mapper(resource, out)
    out["resourceType"] = _RENAMED.get(out["resourceType"], out["resourceType"])
    return out, dropped


def _move(src: Resource, out: Resource, names: dict[str, str]) -> None:
    for old, new in names.items():
        if old in src:
            out[new] = src[old]


def _value_x(src: Resource, out: Resource, prefix: str) -> None:
    for key, value in src.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            out[key] = value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _notes(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"text": value}]
    return [n for n in _list(value) if isinstance(n, dict)]


def _leftover(src: Resource, used: set[str]) -> list[str]:
    return sorted(k for k in src if k not in used and k not in _COMMON and not k.startswith("_"))


def _timing(timing: Any) -> Any:
    """DSTU2 ``Timing.repeat`` named its units ``periodUnits``/``durationUnits``."""
    if not isinstance(timing, dict) or not isinstance(timing.get("repeat"), dict):
        return timing
    renamed = {"periodUnits": "periodUnit", "durationUnits": "durationUnit"}
    repeat = {renamed.get(k, k): v for k, v in timing["repeat"].items()}
    if "bounds" in repeat:  # DSTU2's untyped bounds was a Period
        repeat["boundsPeriod"] = repeat.pop("bounds")
    return {**timing, "repeat": repeat}


def _dose(dosage: dict[str, Any]) -> dict[str, Any]:
    """A DSTU2 dosage line (statement or order) as an R4 Dosage."""
    out: dict[str, Any] = {}
    _move(
        dosage,
        out,
        {
            "text": "text",
            "route": "route",
            "method": "method",
            "additionalInstructions": "additionalInstruction",
        },
    )
    if "timing" in dosage:
        out["timing"] = _timing(dosage["timing"])
    if "siteCodeableConcept" in dosage:
        out["site"] = dosage["siteCodeableConcept"]
    for key in ("asNeededBoolean", "asNeededCodeableConcept"):
        if key in dosage:
            out[key] = dosage[key]
    if "additionalInstruction" in out:
        out["additionalInstruction"] = _list(out["additionalInstruction"])
    rate: dict[str, Any] = {}
    for old, new in (
        ("doseQuantity", "doseQuantity"),
        ("quantityQuantity", "doseQuantity"),
        ("doseRange", "doseRange"),
        ("quantityRange", "doseRange"),
        ("rateRatio", "rateRatio"),
        ("rateRange", "rateRange"),
    ):
        if old in dosage and new not in rate:
            rate[new] = dosage[old]
    if rate:
        out["doseAndRate"] = [rate]
    if "maxDosePerPeriod" in dosage:
        out["maxDosePerPeriod"] = dosage["maxDosePerPeriod"]
    return out


def _observation(src: Resource, out: Resource) -> list[str]:
    _move(
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
    _value_x(src, out, "effective")
    _value_x(src, out, "value")
    if "category" in src:
        out["category"] = _list(src["category"])
    if "interpretation" in src:
        out["interpretation"] = _list(src["interpretation"])
    if "comments" in src:
        out["note"] = _notes(src["comments"])
    if "dataAbsentReason" in src:
        out["dataAbsentReason"] = src["dataAbsentReason"]
    if "referenceRange" in src:
        out["referenceRange"] = _ranges(src["referenceRange"])
    if "component" in src:
        out["component"] = [
            {**c, "referenceRange": _ranges(c["referenceRange"])} if "referenceRange" in c else c
            for c in _list(src["component"])
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
    return _leftover(src, used)


def _ranges(value: Any) -> list[dict[str, Any]]:
    """DSTU2 ``referenceRange.meaning`` is R4's ``type``."""
    out = []
    for r in _list(value):
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
            out["statusReason"] = _list(src["reasonNotTaken"])
    _move(
        src,
        out,
        {
            "patient": "subject",
            "informationSource": "informationSource",
            "dateAsserted": "dateAsserted",
        },
    )
    _value_x(src, out, "medication")
    _value_x(src, out, "effective")
    if "reasonForUseCodeableConcept" in src:
        out["reasonCode"] = [src["reasonForUseCodeableConcept"]]
    if "reasonForUseReference" in src:
        out["reasonReference"] = [src["reasonForUseReference"]]
    if "note" in src:
        out["note"] = _notes(src["note"])
    if "dosage" in src:
        out["dosage"] = [_dose(d) for d in _list(src["dosage"]) if isinstance(d, dict)]
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
    return _leftover(src, used)


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
    _move(
        src,
        out,
        {
            "patient": "subject",
            "prescriber": "requester",
            "dateWritten": "authoredOn",
            "encounter": "encounter",
        },
    )
    _value_x(src, out, "medication")
    if "reasonCodeableConcept" in src:
        out["reasonCode"] = [src["reasonCodeableConcept"]]
    if "reasonReference" in src:
        out["reasonReference"] = [src["reasonReference"]]
    if "note" in src:
        out["note"] = _notes(src["note"])
    if "dosageInstruction" in src:
        out["dosageInstruction"] = [
            _dose(d) for d in _list(src["dosageInstruction"]) if isinstance(d, dict)
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
    return _leftover(src, used)


_CONDITION_VERIFICATION = {
    "provisional": "provisional",
    "differential": "differential",
    "confirmed": "confirmed",
    "refuted": "refuted",
    "entered-in-error": "entered-in-error",
    "unknown": "unconfirmed",
}


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _condition(src: Resource, out: Resource) -> list[str]:
    _move(
        src,
        out,
        {
            "patient": "subject",
            "encounter": "encounter",
            "code": "code",
            "severity": "severity",
            "asserter": "asserter",
            "dateRecorded": "recordedDate",
            "bodySite": "bodySite",
        },
    )
    if src.get("clinicalStatus") in ("active", "relapse", "remission", "resolved"):
        out["clinicalStatus"] = _coded(_CLINICAL, src["clinicalStatus"])
    status = _CONDITION_VERIFICATION.get(str(src.get("verificationStatus")))
    if status:
        out["verificationStatus"] = _coded(_VERIFICATION, status)
    if "category" in src:
        out["category"] = _list(src["category"])
    _value_x(src, out, "onset")
    for key, value in src.items():  # R4 has no abatementBoolean
        if key.startswith("abatement") and key != "abatementBoolean":
            out[key] = value
    if "notes" in src:
        out["note"] = _notes(src["notes"])
    used = {
        "patient",
        "encounter",
        "code",
        "severity",
        "asserter",
        "dateRecorded",
        "bodySite",
        "clinicalStatus",
        "verificationStatus",
        "category",
        "notes",
    }
    used |= {k for k in src if k.startswith("onset")}
    used |= {k for k in src if k.startswith("abatement") and k != "abatementBoolean"}
    return _leftover(src, used)


_ALLERGY_STATUS = {  # DSTU2 status -> (R4 clinicalStatus, R4 verificationStatus)
    "active": ("active", "confirmed"),
    "unconfirmed": ("active", "unconfirmed"),
    "confirmed": ("active", "confirmed"),
    "inactive": ("inactive", "confirmed"),
    "resolved": ("resolved", "confirmed"),
    "refuted": (None, "refuted"),
    "entered-in-error": (None, "entered-in-error"),
}
_CRITICALITY = {"CRITL": "low", "CRITH": "high", "CRITU": "unable-to-assess"}


def _allergy(src: Resource, out: Resource) -> list[str]:
    _move(
        src,
        out,
        {
            "patient": "patient",
            "substance": "code",
            "recordedDate": "recordedDate",
            "recorder": "recorder",
            "reporter": "asserter",
            "onset": "onsetDateTime",
            "lastOccurence": "lastOccurrence",
        },
    )
    clinical, verification = _ALLERGY_STATUS.get(str(src.get("status")), (None, None))
    if clinical:
        out["clinicalStatus"] = _coded(_ALLERGY_CLINICAL, clinical)
    if verification:
        out["verificationStatus"] = _coded(_ALLERGY_VERIFICATION, verification)
    if src.get("criticality") in _CRITICALITY:
        out["criticality"] = _CRITICALITY[src["criticality"]]
    if src.get("type") in ("allergy", "intolerance"):
        out["type"] = src["type"]
    if src.get("category") in ("food", "medication", "environment"):
        out["category"] = [src["category"]]
    if "note" in src:
        out["note"] = _notes(src["note"])
    reactions = []
    for r in _list(src.get("reaction", [])):
        if isinstance(r, dict) and r.get("manifestation"):
            kept = {
                k: r[k]
                for k in ("substance", "manifestation", "description", "onset", "exposureRoute")
                if k in r
            }
            if r.get("severity") in ("mild", "moderate", "severe"):
                kept["severity"] = r["severity"]
            if "note" in r:
                kept["note"] = _notes(r["note"])
            reactions.append(kept)
    if reactions:
        out["reaction"] = reactions
    used = {
        "patient",
        "substance",
        "recordedDate",
        "recorder",
        "reporter",
        "onset",
        "lastOccurence",
        "status",
        "criticality",
        "type",
        "category",
        "note",
        "reaction",
    }
    return _leftover(src, used)


def _immunization(src: Resource, out: Resource) -> list[str]:
    done = src.get("status") == "completed" and src.get("wasNotGiven") is not True
    out["status"] = (
        "entered-in-error"
        if src.get("status") == "entered-in-error"
        else ("completed" if done else "not-done")
    )
    _move(
        src,
        out,
        {
            "vaccineCode": "vaccineCode",
            "patient": "patient",
            "date": "occurrenceDateTime",
            "encounter": "encounter",
            "location": "location",
            "manufacturer": "manufacturer",
            "lotNumber": "lotNumber",
            "expirationDate": "expirationDate",
            "site": "site",
            "route": "route",
            "doseQuantity": "doseQuantity",
        },
    )
    if "occurrenceDateTime" not in out:
        out["occurrenceString"] = "unknown"  # R4 requires an occurrence; DSTU2 did not
    if "reported" in src:
        out["primarySource"] = not bool(src["reported"])
    if "note" in src:
        out["note"] = _notes(src["note"])
    used = {
        "status",
        "wasNotGiven",
        "vaccineCode",
        "patient",
        "date",
        "encounter",
        "location",
        "manufacturer",
        "lotNumber",
        "expirationDate",
        "site",
        "route",
        "doseQuantity",
        "reported",
        "note",
    }
    return _leftover(src, used)


_PROCEDURE_STATUS = {
    "in-progress": "in-progress",
    "aborted": "stopped",
    "completed": "completed",
    "entered-in-error": "entered-in-error",
}


def _procedure(src: Resource, out: Resource) -> list[str]:
    out["status"] = _PROCEDURE_STATUS.get(str(src.get("status")), "unknown")
    if src.get("notPerformed") is True:
        out["status"] = "not-done"
    _move(
        src,
        out,
        {
            "subject": "subject",
            "code": "code",
            "category": "category",
            "encounter": "encounter",
            "location": "location",
            "outcome": "outcome",
            "report": "report",
            "complication": "complication",
            "followUp": "followUp",
            "bodySite": "bodySite",
        },
    )
    _value_x(src, out, "performed")
    if "reasonCodeableConcept" in src:
        out["reasonCode"] = [src["reasonCodeableConcept"]]
    if "reasonReference" in src:
        out["reasonReference"] = [src["reasonReference"]]
    performers = [
        {"actor": p["actor"]}
        for p in _list(src.get("performer", []))
        if isinstance(p, dict) and "actor" in p
    ]
    if performers:
        out["performer"] = performers
    if "notes" in src:
        out["note"] = _notes(src["notes"])
    used = {
        "status",
        "notPerformed",
        "subject",
        "code",
        "category",
        "encounter",
        "location",
        "outcome",
        "report",
        "complication",
        "followUp",
        "bodySite",
        "reasonCodeableConcept",
        "reasonReference",
        "performer",
        "notes",
    }
    used |= {k for k in src if k.startswith("performed")}
    return _leftover(src, used)


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
