"""get_meds: Synthea medications and allergies read back exactly; dosage words; references."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.errors import ArgumentError
from healthlocker.people import ref_id
from healthlocker.records import Scope
from healthlocker.records._dosage import dosage_words
from healthlocker.records._meds import get_meds
from healthlocker.store import Vault
from helpers import SAMPLES, cites_each, load_json, scoped_call

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


# --- what the sample files hold ---------------------------------------------------------------


def _bundles() -> Iterable[list[dict[str, Any]]]:
    for path in sorted((SAMPLES / "synthea").glob("*.json")):
        yield [e["resource"] for e in load_json(path)["entry"]]


def _of_type(rtype: str) -> list[dict[str, Any]]:
    return [r for bundle in _bundles() for r in bundle if r["resourceType"] == rtype]


def _uuid(reference: dict[str, Any]) -> str:
    return str(reference["reference"]).removeprefix("urn:uuid:")


def _name(concept: dict[str, Any]) -> str:
    return str(concept.get("text") or concept["coding"][0]["display"])


def _by_id() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for bundle in _bundles() for r in bundle}


def test_active_medications_per_patient(loaded_vault: Vault) -> None:
    requests = _of_type("MedicationRequest")
    for patient in {_uuid(r["subject"]) for r in requests}:
        mine = [r for r in requests if _uuid(r["subject"]) == patient]
        active = [r for r in mine if r["status"] in ("active", "on-hold")]
        view = get_meds(Scope(loaded_vault, patient=patient))
        assert Counter(m.name for m in view.medications) == Counter(
            _name(r["medicationCodeableConcept"]) for r in active
        )
        assert {m.patient for m in view.medications} <= {f"Patient/{patient}"}
        assert all(m.kind == "prescription" and m.status == "active" for m in view.medications)
        every = get_meds(Scope(loaded_vault, patient=f"Patient/{patient}"), status="all")
        assert len(every.medications) == len(mine)


def test_all_patients_together_and_newest_first(loaded_vault: Vault) -> None:
    requests = _of_type("MedicationRequest")
    view = get_meds(loaded_vault, status="all")
    assert len(view.medications) == len(requests)
    starts = [m.started or "" for m in view.medications]
    assert starts == sorted(starts, reverse=True)
    assert {m.started for m in view.medications} == {r["authoredOn"][:10] for r in requests}
    assert {m.rxnorm for m in view.medications} == {
        c["code"] for r in requests for c in r["medicationCodeableConcept"]["coding"]
    }


def test_prescriber_and_reason_resolved_from_the_samples(loaded_vault: Vault) -> None:
    index = _by_id()
    expected = {}
    for r in _of_type("MedicationRequest"):
        doc = index[_uuid(r["requester"])]["name"][0]
        who = " ".join([*doc.get("prefix", []), *doc["given"], doc["family"]])
        reasons = [_name(index[_uuid(x)]["code"]) for x in r.get("reasonReference", [])]
        expected[f"MedicationRequest/{r['id']}"] = (who, "; ".join(reasons) or None)
    view = get_meds(loaded_vault, status="all")
    got = {m.source.resource: (m.prescriber, m.reason) for m in view.medications}
    assert got == expected
    assert any(reason for _, reason in got.values())


def test_synthea_dosages_in_words(loaded_vault: Vault) -> None:
    view = get_meds(loaded_vault, status="all")
    by_ref = {m.source.resource: m for m in view.medications}
    for r in _of_type("MedicationRequest"):
        item = by_ref[f"MedicationRequest/{r['id']}"]
        dosage = (r.get("dosageInstruction") or [{}])[0]
        if dosage.get("asNeededBoolean"):
            assert item.dosage == "as needed"
        elif "timing" in dosage:
            assert item.dosage == "1 dose, once a day"
        else:
            assert item.dosage is None


def test_allergies_from_the_samples(loaded_vault: Vault) -> None:
    records = _of_type("AllergyIntolerance")
    view = get_meds(loaded_vault)
    assert Counter((a.substance, a.criticality, a.status, a.patient) for a in view.allergies) == (
        Counter(
            (
                _name(r["code"]),
                r.get("criticality"),
                r["clinicalStatus"]["coding"][0]["code"],
                f"Patient/{_uuid(r['patient'])}",
            )
            for r in records
        )
    )
    assert {a.source.resource for a in view.allergies} == {
        f"AllergyIntolerance/{r['id']}" for r in records
    }


def test_window_start_hides_older_records(loaded_vault: Vault) -> None:
    cut = "2019-01-01"
    view = get_meds(Scope(loaded_vault, window_start=cut), status="all")
    # From the cut on, or still taken (active, no end): ongoing state is in any period.
    every = _of_type("MedicationRequest")
    requests = [r for r in every if r["authoredOn"][:10] >= cut or r["status"] == "active"]
    assert any(r["authoredOn"][:10] < cut for r in requests)  # the ongoing ones
    assert len(view.medications) == len(requests) < len(every)
    assert all((m.started or "") >= cut or m.status == "active" for m in view.medications)
    allergies = [
        r
        for r in _of_type("AllergyIntolerance")
        if r["recordedDate"][:10] >= cut or _code(r["clinicalStatus"]) == "active"
    ]
    assert len(view.allergies) == len(allergies)
    assert view.withheld is not None
    assert view.withheld.by_kind == {"prescriptions": len(every) - len(requests)}
    assert f"{len(every) - len(requests)} older prescriptions are outside" in view.render()


def _code(concept: dict[str, Any]) -> str:
    return str(concept["coding"][0]["code"])


def test_the_text_holds_every_medication_and_allergy(loaded_vault: Vault) -> None:
    view = get_meds(loaded_vault)
    text = view.render()
    assert text.startswith(f"Medications: {len(view.medications)} current")
    assert "all medication(s)" not in get_meds(loaded_vault, status="all").render()
    for m in view.medications:
        dosage = m.dosage or "dosage not recorded"
        assert f"{m.name} (RxNorm {m.rxnorm}; prescription, {m.status}): {dosage}" in text
        assert all(x in text for x in (m.started, m.prescriber, m.reason) if x)
    assert "Allergies (active):" in text
    assert all(f"{a.substance}: " in text for a in view.allergies)
    items = [*view.medications, *view.allergies]
    assert cites_each(text, [i.source.resource for i in items])


# --- dosage in words --------------------------------------------------------------------------

_ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}], "text": "Oral"}


def _dose(value: float, unit: str | None = None) -> list[dict[str, Any]]:
    q: dict[str, Any] = {"value": value}
    if unit:
        q["unit"] = unit
    return [{"doseQuantity": q}]


def _every(freq: int, period: float, unit: str, **more: Any) -> dict[str, Any]:
    return {"repeat": {"frequency": freq, "period": period, "periodUnit": unit, **more}}


@pytest.mark.parametrize(
    ("dosage", "words"),
    [
        (
            {"doseAndRate": _dose(1, "tablet"), "timing": _every(2, 1, "d"), "route": _ORAL},
            "1 tablet, twice a day, by mouth",
        ),
        ({"asNeededBoolean": True}, "as needed"),
        (
            {"doseAndRate": _dose(2, "puff"), "asNeededCodeableConcept": {"text": "wheezing"}},
            "2 puff, as needed for wheezing",
        ),
        ({"doseAndRate": _dose(1), "timing": _every(1, 1, "d")}, "1 dose, once a day"),
        ({"doseAndRate": _dose(0.5, "mL"), "timing": _every(1, 8, "h")}, "0.5 mL, every 8 hours"),
        ({"timing": _every(3, 1, "d", when=["PC"])}, "3 times a day, after meals"),
        ({"timing": _every(1, 1, "wk", dayOfWeek=["mon"])}, "once a week, on Mon"),
        ({"timing": _every(1, 1, "h")}, "once an hour"),
        ({"timing": _every(1, 4, "h", periodMax=6)}, "every 4–6 hours"),
        ({"timing": _every(1, 1, "d", frequencyMax=2)}, "1–2 times a day"),
        (
            {
                "timing": {
                    "repeat": {
                        "timeOfDay": ["08:00:00"],
                        "boundsDuration": {"value": 10, "code": "d"},
                    }
                }
            },
            "at 08:00, for 10 days",
        ),
        ({"timing": {"code": {"text": "BID"}}}, "BID"),
        ({"route": {"text": "Subcutaneous route"}}, "under the skin"),
        ({"route": {"text": "Intrathecal"}}, "route: Intrathecal"),
        (
            {
                "doseAndRate": [
                    {"doseRange": {"low": {"value": 1}, "high": {"value": 2, "unit": "tablet"}}}
                ]
            },
            "1–2 tablet",
        ),
        ({}, None),
    ],
)
def test_dosage_words(dosage: dict[str, Any], words: str | None) -> None:
    assert dosage_words(dosage) == words


@pytest.mark.parametrize(
    ("reference", "rtype", "expected"),
    [
        ("Practitioner/abc", "Practitioner", "abc"),
        ("https://ehr.example/fhir/Practitioner/abc/_history/2", "Practitioner", "abc"),
        ("Organization/abc", "Practitioner", None),
        ("#med", "Medication", None),
        ("urn:uuid:abc", "Practitioner", None),
    ],
)
def test_reference_forms(reference: str, rtype: str, expected: str | None) -> None:
    assert ref_id({"reference": reference}, rtype) == expected


# --- hand-built records, through a real vault -------------------------------------------------


def _rx(code: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": code, "display": name}]}


def _records() -> list[dict[str, Any]]:
    subject = {"reference": "Patient/p1"}
    return [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-02-02"},
        {
            "resourceType": "Practitioner",
            "id": "dr1",
            "name": [{"prefix": ["Dr."], "given": ["Ada"], "family": "Lovelace"}],
        },
        {"resourceType": "Medication", "id": "med1", "code": _rx("197361", "Amlodipine 5 MG")},
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": subject,
            "code": {"text": "Hypertension"},
            "onsetDateTime": "2023-01-01",
            "abatementDateTime": "2023-03-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr1",
            "status": "active",
            "intent": "order",
            "contained": [
                {"resourceType": "Medication", "id": "m", "code": _rx("860975", "Metformin")}
            ],
            "medicationReference": {"reference": "#m"},
            "subject": subject,
            "authoredOn": "2024-01-10",
            "requester": {"reference": "Practitioner/dr1"},
            "reasonReference": [{"reference": "Condition/c1"}],
            "dosageInstruction": [
                {"timing": _every(2, 1, "d"), "route": _ORAL, "doseAndRate": _dose(1, "tablet")}
            ],
            "dispenseRequest": {"validityPeriod": {"start": "2024-01-10", "end": "2024-07-10"}},
        },
        {
            "resourceType": "MedicationStatement",
            "id": "ms1",
            "status": "active",
            "medicationReference": {"reference": "Medication/med1"},
            "subject": subject,
            "effectivePeriod": {"start": "2023-05-01"},
            "dosage": [{"text": "Take one\u200b tablet  daily", "timing": _every(1, 1, "d")}],
            "reasonCode": [{"text": "High blood pressure"}],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr2",
            "status": "stopped",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Old drug"},
            "subject": subject,
            "authoredOn": "2022-01-01",
            "requester": {"display": "Dr. Who"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr3",
            "status": "entered-in-error",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Mistake"},
            "subject": subject,
            "authoredOn": "2024-02-01",
        },
        {
            "resourceType": "MedicationDispense",
            "id": "md1",
            "status": "completed",
            "medicationCodeableConcept": _rx("860975", "Metformin"),
            "subject": subject,
            "whenHandedOver": "2024-01-12",
        },
        _allergy("a1", "active", None, "high", "Penicillin", "Hives"),
        _allergy("a2", "resolved", None, "low", "Latex", None),
        _allergy("a3", "active", "entered-in-error", "low", "Mistake", None),
        _allergy("a4", "active", "refuted", "low", "Refuted", None),
    ]


def _allergy(
    rid: str, clinical: str, verification: str | None, crit: str, what: str, reaction: str | None
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "criticality": crit,
        "category": ["medication"],
        "code": {"text": what},
        "patient": {"reference": "Patient/p1"},
        "recordedDate": "2020-03-03",
    }
    if verification:
        res["verificationStatus"] = {"coding": [{"code": verification}]}
    if reaction:
        res["reaction"] = [{"manifestation": [{"text": reaction}], "severity": "moderate"}]
    return res


@pytest.fixture
def built(vault: Vault, tmp_path: Path) -> Vault:
    path = tmp_path / "meds.json"
    entries = [{"resource": r} for r in _records()]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    report = import_paths(vault, [path], source="clinic")
    assert report.ok, [f.error for f in report.files]
    return vault


def test_references_contained_and_stored(built: Vault) -> None:
    view = get_meds(built)
    assert [m.source.resource for m in view.medications] == [
        "MedicationRequest/mr1",
        "MedicationStatement/ms1",
    ]
    mr1, ms1 = view.medications
    assert (mr1.name, mr1.rxnorm, mr1.kind) == ("Metformin", "860975", "prescription")
    assert mr1.prescriber == "Dr. Ada Lovelace"
    assert mr1.reason == "Hypertension"
    assert (mr1.started, mr1.ended) == ("2024-01-10", "2024-07-10")
    assert mr1.dosage == mr1.dosage_structured == "1 tablet, twice a day, by mouth"
    assert (ms1.name, ms1.rxnorm, ms1.kind) == ("Amlodipine 5 MG", "197361", "statement")
    assert ms1.dosage == "Take one tablet daily"  # the record's own words, cleaned
    assert ms1.dosage_structured == "once a day"
    assert ms1.reason == "High blood pressure"
    assert ms1.patient == "Patient/p1"
    assert ms1.source.origin == "clinic"


def test_all_adds_stopped_and_dispenses_never_errors(built: Vault) -> None:
    view = get_meds(built, status="all")
    refs = [m.source.resource for m in view.medications]
    assert refs == [
        "MedicationDispense/md1",
        "MedicationRequest/mr1",
        "MedicationStatement/ms1",
        "MedicationRequest/mr2",
    ]
    assert view.medications[-1].prescriber == "Dr. Who"


def test_allergy_status_and_reactions(built: Vault) -> None:
    active = get_meds(built).allergies
    assert [(a.substance, a.reaction, a.criticality) for a in active] == [
        ("Penicillin", ["Hives"], "high")
    ]
    assert active[0].category == ["medication"]
    every = get_meds(built, status="all").allergies
    assert sorted(a.substance or "" for a in every) == ["Latex", "Penicillin", "Refuted"]


def test_window_hides_the_reason_condition_too(built: Vault) -> None:
    view = get_meds(Scope(built, window_start="2023-06-01"))
    # ms1 began in 2023-05 and has no end: still taken, so part of the period (issue 14).
    assert [m.source.resource for m in view.medications] == [
        "MedicationRequest/mr1",
        "MedicationStatement/ms1",
    ]
    assert view.medications[0].reason is None  # Condition/c1 (2023-01 to 03) is outside
    assert [a.substance for a in view.allergies] == ["Penicillin"]  # active: ongoing
    assert view.withheld is None  # nothing listed was left out: c1 is only looked up
    later = get_meds(Scope(built, window_start="2022-06-01"))
    assert later.medications[0].reason == "Hypertension"
    stopped = get_meds(Scope(built, window_start="2023-06-01"), status="all")
    assert "MedicationRequest/mr2" not in {m.source.resource for m in stopped.medications}
    # mr2 (stopped, 2022), the resolved and the refuted allergy (2020); never those in error.
    assert stopped.withheld is not None
    assert stopped.withheld.by_kind == {"prescriptions": 1, "allergies": 2}


def test_patient_filter(built: Vault) -> None:
    assert get_meds(Scope(built, patient="someone-else")).medications == []
    assert len(get_meds(Scope(built, patient="p1")).medications) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "current"}, "'active' or 'all'"),
        ({"window_start": "2024-1-1"}, "ISO date"),
        ({"patient": "Patient/../x"}, "Patient id"),
    ],
)
def test_bad_arguments_raise_value_error(
    built: Vault, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ArgumentError, match=message):
        scoped_call(get_meds, built, **kwargs)
