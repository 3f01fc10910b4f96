"""The overview of recorded long-term conditions, on a synthetic person with diabetes, high
blood pressure and chronic kidney disease; the expected figures are computed here, apart."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.errors import ArgumentError
from healthlocker.records import Scope, condition_overview
from healthlocker.records._condition_map import GROUPS
from healthlocker.store import Vault
from helpers import ROOT

PERSON = {"reference": "Patient/p1"}
TODAY = date.today()
HBA1C = [(400, 8.4), (300, 7.9), (200, 7.6), (120, 7.1), (60, 6.8), (20, 6.9)]  # days ago, %
BP = [(500, 150, 95), (300, 142, 90), (100, 138, 86), (30, 128, 79)]  # days ago, mmHg
EGFR = [(900, 58.0), (800, 52.0)]


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def condition(cid: str, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": PERSON,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": extra.pop("status", "active"),
                }
            ]
        },
        "code": code,
        "onsetDateTime": extra.pop("onset", "2015-04-01"),
        **extra,
    }


def lab(oid: str, loinc: str, days: int, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": PERSON,
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": ago(days) + "T09:00:00Z",
        "valueQuantity": {"value": value, "unit": unit},
    }


def bp(oid: str, days: int, systolic: float, diastolic: float) -> dict[str, Any]:
    def part(code: str, value: float) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": PERSON,
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": ago(days) + "T09:00:00Z",
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
    }


def med(mid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "subject": PERSON,
        "medicationCodeableConcept": {"text": text},
        "authoredOn": "2016-01-01",
        **extra,
    }


def person() -> list[dict[str, Any]]:
    snomed = "http://snomed.info/sct"
    return [
        {"resourceType": "Patient", "id": "p1"},
        condition("dm", {"coding": [{"system": snomed, "code": "44054006"}], "text": "T2DM"}),
        condition("htn", {"text": "Essential hypertension"}),
        condition(
            "ckd",
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.3"}]},
        ),
        condition("pre", {"text": "Prediabetes"}),
        condition("old-afib", {"text": "Atrial fibrillation"}, status="resolved"),
        *(lab(f"a1c-{n}", "4548-4", d, v, "%") for n, (d, v) in enumerate(HBA1C)),
        *(bp(f"bp-{n}", d, s, di) for n, (d, s, di) in enumerate(BP)),
        *(lab(f"gfr-{n}", "33914-3", d, v, "mL/min") for n, (d, v) in enumerate(EGFR)),
        med(
            "metformin",
            "Metformin 500 MG Oral Tablet",
            reasonReference=[{"reference": "Condition/dm"}],
        ),
        med("lisinopril", "Lisinopril 10 MG Oral Tablet"),
        med("old", "Glipizide 5 MG", status="stopped"),
    ]


@pytest.fixture(scope="module")
def overview_vault(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("overview")
    path = folder / "person.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in person()],
            }
        )
    )
    with Vault.create(folder / "vault", passphrase="a long enough passphrase") as v:
        assert import_paths(v, [path]).ok
        yield v


def trend(values: list[float]) -> str:
    last = values[-5:]
    change = last[-1] - last[0]
    if abs(change) < 0.05 * abs(last[0]):
        return "about the same"
    return "rising" if change > 0 else "falling"


def test_the_recorded_conditions_with_their_measures(overview_vault: Vault) -> None:
    view = condition_overview(overview_vault)
    by = {c.condition: c for c in view.conditions}
    assert list(by) == ["diabetes", "high blood pressure", "chronic kidney disease"]
    a1c = by["diabetes"].measures[0]
    assert a1c.name == "HbA1c"
    assert (a1c.latest.value, a1c.latest.date) == (HBA1C[-1][1], ago(HBA1C[-1][0]))  # type: ignore[union-attr]
    assert [r.value for r in a1c.recent] == [v for _, v in HBA1C][-5:]
    assert a1c.trend == trend([v for _, v in HBA1C])
    assert a1c.change == pytest.approx(HBA1C[-1][1] - HBA1C[-5][1])
    assert a1c.sits == "within the typical target"
    assert a1c.target_source == "ADA Standards of Care in Diabetes (2024)"
    systolic, diastolic = by["high blood pressure"].measures
    assert systolic.latest.value == BP[-1][1]  # type: ignore[union-attr]
    assert systolic.trend == trend([s for _, s, _ in BP])
    assert diastolic.latest.value == BP[-1][2]  # type: ignore[union-attr]
    assert diastolic.sits == "within the typical target"
    egfr = by["chronic kidney disease"].measures[0]
    assert (egfr.latest.value, egfr.sits, egfr.trend) == (52.0, "category G3a", "falling")  # type: ignore[union-attr]


def test_medications_and_gaps_are_facts(overview_vault: Vault) -> None:
    by = {c.condition: c for c in condition_overview(overview_vault).conditions}
    assert [(m.name, m.matched_by) for m in by["diabetes"].medications] == [
        ("Metformin 500 MG Oral Tablet", "reason")
    ]
    assert [(m.name, m.matched_by) for m in by["high blood pressure"].medications] == [
        ("Lisinopril 10 MG Oral Tablet", "drug class")
    ]
    assert by["diabetes"].gaps == ["no Fasting glucose recorded"]
    assert by["chronic kidney disease"].gaps == [
        f"no eGFR recorded in the last 12 months (the latest is from {ago(800)})",
        "no Creatinine recorded",
        "no Urine albumin/creatinine ratio recorded",
    ]
    text = condition_overview(overview_vault).render()
    assert "never makes a diagnosis" in text
    assert "typical target" in text
    for advice in ("you should", "you need", "increase your", "reduce your"):
        assert advice not in text.lower()


def test_one_condition_and_unknown_ones(overview_vault: Vault) -> None:
    (only,) = condition_overview(overview_vault, condition="High blood pressure").conditions
    assert only.condition == "high blood pressure"
    assert condition_overview(overview_vault, condition="asthma").conditions == []
    with pytest.raises(ArgumentError, match="condition must be one the overview follows"):
        condition_overview(overview_vault, condition="broken arm")


def test_the_window_hides_older_readings_and_says_so(overview_vault: Vault) -> None:
    view = condition_overview(Scope(overview_vault, window_start=ago(90)))
    a1c = next(c for c in view.conditions if c.condition == "diabetes").measures[0]
    assert [r.date for r in a1c.recent] == [ago(d) for d, _ in HBA1C if d <= 90]
    assert view.withheld is not None
    older = [d for d, *_ in (*HBA1C, *BP, *EGFR) if d > 90]
    assert view.withheld.by_kind == {"measurements": len(older)}


def test_docs_list_every_condition_measure_and_source() -> None:
    text = (ROOT / "docs" / "conditions.md").read_text()
    for group in GROUPS:
        assert f"| {group.key} |" in text, group.key
        for measure in group.measures:
            assert measure.name in text
            assert all(code in text for code in measure.loinc), measure.name
            if measure.source:
                assert measure.source in text
        assert all(code in text for code in group.snomed), group.key
        assert all(re.search(rf"\b{d}\b", text) for d in group.drugs), group.key
