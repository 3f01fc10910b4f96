"""One fact, many sources: the same lab from an EHR's API, its C-CDA and Apple Health Records is
read once, citing all three; the same file by another path is one source."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from connectors.ccda_helpers import document, lab, section
from healthlocker.connectors import import_paths
from healthlocker.people import People
from healthlocker.records import Scope, list_labs
from healthlocker.store import StoredResource, Vault
from healthlocker.store._facts import fact_key, merge_facts
from people.people_helpers import bundle, glucose, patient

WHEN = "2023-05-01T08:30:00-04:00"


def _bp(oid: str, when: str, systolic: float) -> dict[str, Any]:
    def part(code: str, value: float) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": oid,
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": when,
        "component": [part("8480-6", systolic), part("8462-4", 80)],
    }


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (glucose("b", "y", "2023-05-01T12:30:00Z", 95), True),  # the same minute, in UTC
        (glucose("b", "y", "2023-05-01T08:30:59-04:00", 95.0), True),  # seconds do not count
        (glucose("b", "y", "2023-05-01T08:31:00-04:00", 95), False),
        (glucose("b", "y", "2023-05-01", 95), False),  # a day is not a time of it
        (glucose("b", "y", "2023-05-01T08:30:00", 95), False),  # no zone: a local time
        (glucose("b", "y", WHEN, 95.5), False),
    ],
)
def test_what_makes_one_fact(other: dict[str, Any], same: bool) -> None:
    one = glucose("a", "x", WHEN, 95)
    assert fact_key(one) is not None
    assert (fact_key(one) == fact_key(other)) is same


def test_facts_need_a_standard_code_and_compare_every_component() -> None:
    local = glucose("a", "x", WHEN, 95)
    local["code"] = {"coding": [{"system": "urn:oid:1.2.3", "code": "GLU"}]}
    assert fact_key(local) is None  # a local code alone: never merged
    assert fact_key(_bp("a", WHEN, 120)) == fact_key(_bp("b", WHEN, 120))
    assert fact_key(_bp("a", WHEN, 120)) != fact_key(_bp("b", WHEN, 121))
    med = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "authoredOn": "2023-05-01T08:30:00-04:00",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]
        },
    }
    later_that_day = {**med, "id": "n", "authoredOn": "2023-05-01T17:00:00-04:00"}
    assert fact_key(med) == fact_key(later_that_day)  # prescriptions: to the day
    assert fact_key({**med, "resourceType": "MedicationStatement"}) is None  # no date there


def test_within_one_source_two_equal_records_stay_two() -> None:
    stored = [
        StoredResource(3, "s1", "clinic", glucose("a", "x", WHEN, 95)),
        StoredResource(2, "s1", "clinic", glucose("b", "x", WHEN, 95)),
        StoredResource(1, "s2", "apple-health", glucose("c", "x", WHEN, 95)),
    ]
    merged = merge_facts(stored)
    assert [(s.id, [c.id for c in s.also]) for s in merged] == [("a", ["c"]), ("b", [])]


def _three_sources(tmp_path: Path) -> list[Path]:
    """The same glucose result as an EHR's API, its C-CDA and Apple Health Records give it."""
    api = bundle(
        tmp_path / "portal-api.json",
        patient("portal-7", "Alex", "Example", "1980-02-14", "female"),
        glucose("portal-obs-1", "portal-7", WHEN, 95),
    )
    results = lab("r1", "2345-7", "Glucose", "95", "mg/dL", "20230501083000-0400", "70", "99")
    ccda = tmp_path / "portal-download.xml"
    ccda.write_text(document(section("3.1", "30954-2", results)), encoding="utf-8")
    me = (
        ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-02-14"'
        ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n'
    )
    record = (
        ' <ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" identifier="o1"'
        ' sourceName="Portal" fhirVersion="4.0.1" receivedDate="2023-05-02 09:00:00 -0400"'
        ' resourceFilePath="/clinical-records/Observation-o1.json"/>\n'
    )
    xml = f'<?xml version="1.0"?>\n<HealthData locale="en_US">\n{me}{record}</HealthData>\n'
    apple = tmp_path / "export.zip"
    with zipfile.ZipFile(apple, "w") as zf:
        zf.writestr("apple_health_export/export.xml", xml)
        zf.writestr(
            "apple_health_export/clinical-records/Observation-o1.json",
            json.dumps(glucose("portal-obs-1-apple", "portal-7", WHEN, 95)),
        )
    return [api, ccda, apple]


def test_the_same_lab_from_fhir_ccda_and_apple_health_records_is_one_fact(
    vault: Vault, tmp_path: Path
) -> None:
    report = import_paths(vault, _three_sources(tmp_path))
    assert report.ok, [f.error for f in report.files]
    assert len(People.load(vault).all) == 1  # and one person
    assert len(vault.resources("Observation", terms=["code||2345-7"])) == 1
    (result,) = list_labs(Scope.for_tool(vault), test="2345-7").results
    origins = [result.source.origin, *(c.origin for c in result.source.also)]
    assert sorted(origins) == ["apple-health", "portal-api", "portal-download"]
    assert len({result.source.resource, *(c.resource for c in result.source.also)}) == 3


def test_a_scope_keeps_only_its_persons_copies(vault: Vault, tmp_path: Path) -> None:
    # Two people's readings that happen to agree to the minute stay each person's own.
    mine = bundle(
        tmp_path / "mine.json",
        patient("me", "Alex", "Example", "1980-02-14", "female"),
        glucose("g-me", "me", WHEN, 95),
    )
    theirs = bundle(
        tmp_path / "theirs.json",
        patient("kid", "Robin", "Example", "2014-05-02", "male"),
        glucose("g-kid", "kid", WHEN, 95),
    )
    assert import_paths(vault, [mine, theirs]).ok
    for who, ref in (("owner", "Observation/g-me"), ("person-2", "Observation/g-kid")):
        (result,) = list_labs(Scope.for_tool(vault, patient=who)).results
        assert (result.source.resource, result.source.also) == (ref, None)  # no other source


def test_the_same_file_by_two_paths_is_one_source(vault: Vault, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = bundle(tmp_path / "a" / "records.json", glucose("g", None, WHEN, 95))
    copy = tmp_path / "b" / "renamed copy.json"
    shutil.copyfile(first, copy)
    assert import_paths(vault, [first]).ok
    again = import_paths(vault, [copy], source="another-label")
    (outcome,) = again.files
    assert outcome.result is not None and outcome.result.skipped_file
    assert outcome.result.already_in == "records"
    assert "imported before, as source 'records': not read again" in outcome.notes
    assert [s.label for s in vault.sources()] == ["records"]


def test_an_apple_health_export_is_one_source_by_any_name(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "apple_health_export"
    folder.mkdir()
    me = '<Me HKCharacteristicTypeIdentifierDateOfBirth="1990-02-02"/>'
    steps = (
        '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count"'
        ' startDate="2024-03-04 08:00:00 -0800" endDate="2024-03-04 09:00:00 -0800" value="900"/>'
    )
    (folder / "export.xml").write_text(f"<HealthData>{me}{steps}</HealthData>", encoding="utf-8")
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(folder / "export.xml", "apple_health_export/export.xml")
    for path in (zipped, folder, folder / "export.xml"):
        assert import_paths(vault, [path]).ok
    (source,) = vault.sources()
    assert (source.label, source.counts) == ("apple-health", {"Observation": 1, "Patient": 1})
