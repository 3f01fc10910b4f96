"""DSTU2 to R4: each mapped type validates as R4 and keeps what the records views read."""

from __future__ import annotations

from typing import Any

import pytest

from healthlocker.connectors.fhir._dstu2 import MAPPED_TYPES, to_r4
from healthlocker.store import validate_resource

LOINC = "http://loinc.org"
PATIENT = {"reference": "Patient/p1", "display": "Jane Doe"}

# Shapes as US health systems served them over DSTU2 (Argonaut), written from the DSTU2 spec.
DSTU2: dict[str, dict[str, Any]] = {
    "Observation": {
        "resourceType": "Observation",
        "id": "obs1",
        "status": "final",
        "category": {
            "coding": [{"system": "http://hl7.org/fhir/observation-category", "code": "laboratory"}]
        },
        "code": {"coding": [{"system": LOINC, "code": "2345-7", "display": "Glucose"}]},
        "subject": PATIENT,
        "effectiveDateTime": "2016-03-01T08:30:00-05:00",
        "valueQuantity": {
            "value": 105,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
        "interpretation": {"coding": [{"code": "H"}]},
        "comments": "Fasting",
        "referenceRange": [
            {
                "low": {"value": 70, "unit": "mg/dL"},
                "high": {"value": 99, "unit": "mg/dL"},
                "meaning": {"text": "normal"},
            }
        ],
    },
    "MedicationStatement": {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "patient": PATIENT,
        "status": "active",
        "wasNotTaken": False,
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "197361",
                    "display": "Amlodipine 5 MG",
                }
            ]
        },
        "effectivePeriod": {"start": "2015-06-01"},
        "reasonForUseCodeableConcept": {"text": "Hypertension"},
        "dosage": [
            {
                "text": "1 tablet daily",
                "route": {"text": "oral"},
                "quantityQuantity": {"value": 1, "unit": "tablet"},
            }
        ],
    },
    "MedicationOrder": {
        "resourceType": "MedicationOrder",
        "id": "mo1",
        "dateWritten": "2016-01-05",
        "status": "active",
        "patient": PATIENT,
        "prescriber": {"display": "Dr. Smith"},
        "medicationCodeableConcept": {"text": "Metformin 500 MG Oral Tablet"},
        "dosageInstruction": [
            {
                "text": "500 mg twice daily",
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnits": "d"}},
                "doseQuantity": {"value": 500, "unit": "mg"},
            }
        ],
    },
    "Condition": {
        "resourceType": "Condition",
        "id": "c1",
        "patient": PATIENT,
        "dateRecorded": "2014-10-01",
        "code": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}
            ]
        },
        "category": {"coding": [{"code": "problem"}]},
        "clinicalStatus": "active",
        "verificationStatus": "confirmed",
        "onsetDateTime": "2014-09-15",
        "abatementBoolean": False,
    },
    "AllergyIntolerance": {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "recordedDate": "2013-04-01",
        "patient": PATIENT,
        "substance": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "7980",
                    "display": "Penicillin G",
                }
            ]
        },
        "status": "confirmed",
        "criticality": "CRITH",
        "type": "allergy",
        "category": "medication",
        "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "moderate"}],
    },
    "Immunization": {
        "resourceType": "Immunization",
        "id": "i1",
        "status": "completed",
        "date": "2015-10-10",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
        "patient": PATIENT,
        "wasNotGiven": False,
        "reported": False,
        "lotNumber": "AB123",
    },
    "Procedure": {
        "resourceType": "Procedure",
        "id": "pr1",
        "subject": PATIENT,
        "status": "completed",
        "code": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "80146002", "display": "Appendectomy"}
            ]
        },
        "performedDateTime": "2010-02-11",
        "performer": [{"actor": {"display": "Dr. Surgeon"}, "role": {"text": "surgeon"}}],
        "notes": [{"text": "Uncomplicated"}],
    },
}


@pytest.mark.parametrize("rtype", MAPPED_TYPES)
def test_every_mapped_type_validates_as_r4(rtype: str) -> None:
    mapped = to_r4(DSTU2[rtype])
    assert mapped is not None
    resource, _ = mapped
    assert validate_resource(resource, where=rtype) == resource["resourceType"]


def test_the_fields_the_views_read_survive() -> None:
    obs, _ = to_r4(DSTU2["Observation"]) or ({}, [])
    assert obs["valueQuantity"]["value"] == 105
    assert obs["category"][0]["coding"][0]["code"] == "laboratory"
    assert obs["referenceRange"][0]["type"] == {"text": "normal"}
    assert obs["note"] == [{"text": "Fasting"}]
    order, _ = to_r4(DSTU2["MedicationOrder"]) or ({}, [])
    assert order["resourceType"] == "MedicationRequest"
    assert order["intent"] == "order"
    assert order["authoredOn"] == "2016-01-05"
    assert order["requester"] == {"display": "Dr. Smith"}
    assert order["dosageInstruction"][0]["doseAndRate"] == [
        {"doseQuantity": {"value": 500, "unit": "mg"}}
    ]
    statement, _ = to_r4(DSTU2["MedicationStatement"]) or ({}, [])
    assert statement["subject"] == PATIENT
    assert statement["reasonCode"] == [{"text": "Hypertension"}]
    condition, dropped = to_r4(DSTU2["Condition"]) or ({}, [])
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["recordedDate"] == "2014-10-01"
    assert dropped == ["abatementBoolean"]
    allergy, _ = to_r4(DSTU2["AllergyIntolerance"]) or ({}, [])
    assert allergy["code"]["coding"][0]["code"] == "7980"
    assert allergy["criticality"] == "high"
    assert allergy["verificationStatus"]["coding"][0]["code"] == "confirmed"
    shot, _ = to_r4(DSTU2["Immunization"]) or ({}, [])
    assert shot["status"] == "completed"
    assert shot["occurrenceDateTime"] == "2015-10-10"
    assert shot["primarySource"] is True
    procedure, _ = to_r4(DSTU2["Procedure"]) or ({}, [])
    assert procedure["performer"] == [{"actor": {"display": "Dr. Surgeon"}}]


@pytest.mark.parametrize(
    ("rtype", "change", "expected"),
    [
        ("MedicationStatement", {"wasNotTaken": True}, "not-taken"),
        ("Immunization", {"wasNotGiven": True}, "not-done"),
        ("Procedure", {"status": "aborted"}, "stopped"),
        ("Procedure", {"notPerformed": True}, "not-done"),
    ],
)
def test_negations_become_r4_statuses(rtype: str, change: dict[str, Any], expected: str) -> None:
    mapped = to_r4({**DSTU2[rtype], **change})
    assert mapped is not None
    assert mapped[0]["status"] == expected
    validate_resource(mapped[0], where=rtype)


def test_unknown_dstu2_fields_are_named_and_other_types_are_not_mapped() -> None:
    mapped = to_r4({**DSTU2["Observation"], "reliability": "ok"})
    assert mapped is not None
    assert mapped[1] == ["reliability"]
    assert to_r4({"resourceType": "DiagnosticOrder", "id": "x"}) is None
