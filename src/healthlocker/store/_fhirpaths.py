"""What the store indexes of a FHIR resource: its clinical date and its codes.

Pure functions over resource dicts. The store turns their results into keyed blind-index tags,
so the plaintext never reaches disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Where each resource type keeps "when it happened", in order of preference.
_DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod", "recordedDate", "abatementDateTime"),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
    "Immunization": ("occurrenceDateTime", "recorded"),
    "Procedure": ("performedDateTime", "performedPeriod"),
    "Encounter": ("period",),
    "AllergyIntolerance": ("recordedDate", "onsetDateTime"),
    "Claim": ("billablePeriod", "created"),
    "ExplanationOfBenefit": ("billablePeriod", "created"),
    "Coverage": ("period",),
    "CarePlan": ("period",),
    "CareTeam": ("period",),
    # `date` is an instant (with its offset); a document without one (an mTuitive op note)
    # is dated by the time of care it records.
    "DocumentReference": ("date", "context.period"),
    "ImagingStudy": ("started",),
    "Device": ("manufactureDate",),
    "SupplyDelivery": ("occurrenceDateTime",),
}
_GENERIC = ("effectiveDateTime", "occurrenceDateTime", "date", "period", "created", "issued")

# People and reference data: they say who and what, never when something happened to the
# person, so they carry no clinical date and a consent window never hides them. Every other
# type is dated (a record of one without a date lies outside any bounded window).
UNDATED_TYPES = frozenset(
    {
        "Patient",
        "RelatedPerson",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Medication",
        "Substance",
    }
)

# Elements holding the resource's "what": indexed for lookups by code.
_CODE_FIELDS = ("code", "medicationCodeableConcept", "vaccineCode", "type")


def is_dated(resource_type: str) -> bool:
    """Whether resources of this type carry a clinical date (the one definition)."""
    return resource_type not in UNDATED_TYPES


def clinical_date(resource: dict[str, Any]) -> str | None:
    """The ISO date (or datetime) the resource is about, or None."""
    for name in _DATE_FIELDS.get(resource.get("resourceType", ""), _GENERIC):
        value: Any = resource
        for step in name.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        if isinstance(value, str) and value:
            return value
    return None


def _codings(concept: Any) -> Iterator[tuple[str, str]]:
    concepts = concept if isinstance(concept, list) else [concept]
    for cc in concepts:
        if isinstance(cc, dict):
            for coding in cc.get("coding") or ():
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    yield str(coding.get("system") or ""), coding["code"]


def index_terms(resource: dict[str, Any]) -> set[str]:
    """Terms a query can ask for: ``code|system|value``, ``code||value``, ``cat||value``."""
    terms: set[str] = set()
    for name in _CODE_FIELDS:
        for system, code in _codings(resource.get(name)):
            terms.add(f"code|{system}|{code}")
            terms.add(f"code||{code}")
    for _system, code in _codings(resource.get("category")):
        terms.add(f"cat||{code}")
    return terms
