"""Small FHIR files about made-up people, for the people tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import ROOT

NEWCOMER = ROOT / "samples" / "newcomer"
CLINIC = NEWCOMER / "clinic-ccda.xml"  # John Doe, male, born 1981-03-17 (as Blue Button's)
MFP = ROOT / "samples" / "myfitnesspal"
BLUE_BUTTON = ROOT / "samples" / "fhir" / "bluebutton"
LOINC = "http://loinc.org"


def patient(
    pid: str,
    given: str | None,
    family: str | None,
    birth: str | None,
    sex: str | None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {"resourceType": "Patient", "id": pid, **extra}
    if given or family:
        r["name"] = [{"family": family, "given": [given] if given else []}]
    if birth:
        r["birthDate"] = birth
    if sex:
        r["gender"] = sex
    return r


def glucose(oid: str, pid: str | None, when: str, value: float) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": "2345-7", "display": "Glucose"}]},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
    }
    if pid is not None:
        r["subject"] = {"reference": f"Patient/{pid}"}
    return r


def bundle(path: Path, *resources: dict[str, Any]) -> Path:
    """A FHIR collection Bundle of *resources*, written to *path*."""
    doc = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
