"""DSTU2 problems, allergies, immunizations and procedures mapped to R4 (see ``_dstu2``)."""

from __future__ import annotations

from healthlocker.connectors.fhir._dstu2_parts import (
    Resource,
    as_list,
    coded,
    leftover,
    move,
    notes_of,
    value_x,
)

_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

_CONDITION_VERIFICATION = {
    "provisional": "provisional",
    "differential": "differential",
    "confirmed": "confirmed",
    "refuted": "refuted",
    "entered-in-error": "entered-in-error",
    "unknown": "unconfirmed",
}


def _condition(src: Resource, out: Resource) -> list[str]:
    move(
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
        out["clinicalStatus"] = coded(_CLINICAL, src["clinicalStatus"])
    status = _CONDITION_VERIFICATION.get(str(src.get("verificationStatus")))
    if status:
        out["verificationStatus"] = coded(_VERIFICATION, status)
    if "category" in src:
        out["category"] = as_list(src["category"])
    value_x(src, out, "onset")
    for key, value in src.items():  # R4 has no abatementBoolean
        if key.startswith("abatement") and key != "abatementBoolean":
            out[key] = value
    if "notes" in src:
        out["note"] = notes_of(src["notes"])
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
    return leftover(src, used)


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
    move(
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
        out["clinicalStatus"] = coded(_ALLERGY_CLINICAL, clinical)
    if verification:
        out["verificationStatus"] = coded(_ALLERGY_VERIFICATION, verification)
    if src.get("criticality") in _CRITICALITY:
        out["criticality"] = _CRITICALITY[src["criticality"]]
    if src.get("type") in ("allergy", "intolerance"):
        out["type"] = src["type"]
    if src.get("category") in ("food", "medication", "environment"):
        out["category"] = [src["category"]]
    if "note" in src:
        out["note"] = notes_of(src["note"])
    reactions = []
    for r in as_list(src.get("reaction", [])):
        if isinstance(r, dict) and r.get("manifestation"):
            kept = {
                k: r[k]
                for k in ("substance", "manifestation", "description", "onset", "exposureRoute")
                if k in r
            }
            if r.get("severity") in ("mild", "moderate", "severe"):
                kept["severity"] = r["severity"]
            if "note" in r:
                kept["note"] = notes_of(r["note"])
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
    return leftover(src, used)


def _immunization(src: Resource, out: Resource) -> list[str]:
    done = src.get("status") == "completed" and src.get("wasNotGiven") is not True
    out["status"] = (
        "entered-in-error"
        if src.get("status") == "entered-in-error"
        else ("completed" if done else "not-done")
    )
    move(
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
        out["note"] = notes_of(src["note"])
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
    return leftover(src, used)


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
    move(
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
    value_x(src, out, "performed")
    if "reasonCodeableConcept" in src:
        out["reasonCode"] = [src["reasonCodeableConcept"]]
    if "reasonReference" in src:
        out["reasonReference"] = [src["reasonReference"]]
    performers = [
        {"actor": p["actor"]}
        for p in as_list(src.get("performer", []))
        if isinstance(p, dict) and "actor" in p
    ]
    if performers:
        out["performer"] = performers
    if "notes" in src:
        out["note"] = notes_of(src["notes"])
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
    return leftover(src, used)
