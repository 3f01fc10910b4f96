"""Apple Health import: the real sample exports, daily aggregates checked against an independent
parser, source deduplication, sleep, workouts, the Patient, re-import, zip against XML."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from bench.gen_apple import write as generate

from connectors.apple_helpers import (
    APPLE,
    PHONE,
    SAMPLE_XML,
    WATCH,
    Q,
    count_elements,
    export,
    record,
    reference_days,
    sleep,
    stored_days,
    write,
    zip_of,
)
from healthlocker.connectors import ReadOptions, detect_format, import_paths
from healthlocker.connectors.apple._reader import read_apple
from healthlocker.records import list_documents, read_document
from healthlocker.records._trends import summarize_trends
from healthlocker.store import Vault, validate_resource

WATCH_DEVICE = "&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch, model:Watch, hardware:Watch6,2&gt;"


def _all(vault: Vault) -> list[dict[str, Any]]:
    return list(vault.iter_all())


def _imported(vault: Vault, *paths: Path, source: str = "apple") -> list[dict[str, Any]]:
    report = import_paths(vault, list(paths), source=source)
    assert report.ok, [f.error for f in report.files]
    return _all(vault)


def _by_code(resources: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [
        r for r in resources if any(c["code"] == code for c in r.get("code", {}).get("coding", []))
    ]


@pytest.fixture
def dogsheep_zip(tmp_path: Path) -> Path:
    """The dogsheep sample's export folder, zipped as the iPhone does."""
    folder = APPLE / "dogsheep-zip"
    out = tmp_path / "export.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            zf.write(f, f.relative_to(folder).as_posix())
    return out


# --- the real samples -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_XML, ids=lambda p: p.name)
def test_real_samples_import_with_daily_values_matching_an_independent_parser(
    vault: Vault, path: Path
) -> None:
    assert detect_format(path) == "apple-health"
    resources = _imported(vault, path)
    for r in resources:
        validate_resource(r, where=r["id"])
    expected = reference_days(path)
    stored = stored_days(resources)
    assert expected, "the sample holds records the reference knows"
    for key, value in expected.items():
        assert stored[key] == pytest.approx(value, rel=1e-4, abs=1e-3), key
    assert len(_by_code(resources, "73985-4")) == count_elements(path, "Workout")
    (person,) = [r for r in resources if r["resourceType"] == "Patient"]
    assert person["gender"] == "male"
    assert len(person["birthDate"]) == 10
    subjects = {r["subject"]["reference"] for r in resources if r["resourceType"] == "Observation"}
    assert subjects == {f"Patient/{person['id']}"}


def test_sample_units_convert(vault: Vault) -> None:
    resources = _imported(vault, APPLE / "opendroid-sampleexport-2.xml")
    days = stored_days(resources)
    assert days[("8302-2", "2018-01-24")] == pytest.approx(175.26)  # 5.75 ft
    assert days[("29463-7", "2016-02-09")] == pytest.approx(82.1002, abs=1e-3)  # 181 lb
    assert days[("41982-0", "2020-04-18")] == pytest.approx(16.1)  # 0.161 as a percentage
    assert days[("94122-9", "2021-01-21")] == pytest.approx(33.09)  # mL/min·kg
    (walk,) = [w for w in _by_code(resources, "73985-4") if w["id"] and "07:46" in str(w)]
    parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in walk["component"]}
    assert parts["55411-3"]["value"] == pytest.approx(38.356, abs=1e-3)
    assert parts["41981-2"] == {
        "value": pytest.approx(158.794),
        "unit": "kcal",
        "system": "http://unitsofmeasure.org",
        "code": "kcal",
    }
    assert parts["distance"]["value"] == pytest.approx(2.16956 * 1.609344, rel=1e-4)


def test_the_zip_sample_imports_in_place(vault: Vault, dogsheep_zip: Path) -> None:
    assert detect_format(dogsheep_zip) == "apple-health"
    notes: list[str] = []
    items = list(read_apple(dogsheep_zip, ReadOptions(notes=notes)))
    assert any("workout-routes" in n for n in notes)  # listed, not read
    resources = _imported(vault, dogsheep_zip)
    assert len(resources) == len(items) == 6
    summaries = [r for r in resources if r.get("code", {}).get("text") == "Activity rings (daily)"]
    assert len(summaries) == 2


def test_zip_and_xml_give_the_same_resources(tmp_path: Path) -> None:
    xml = generate(tmp_path / "export.xml", 3) and tmp_path / "export.xml"
    zipped = zip_of(xml, tmp_path / "export.zip")
    with Vault.ephemeral() as a, Vault.ephemeral() as b:
        from_xml = _imported(a, xml)
        from_zip = _imported(b, zipped)
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(from_xml, key=key) == sorted(from_zip, key=key)
    assert len(from_xml) > 50


def test_a_generated_export_serves_every_trend(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    days = generate(path, 6)
    with Vault.ephemeral() as vault:
        resources = _imported(vault, path)
        for r in resources:
            validate_resource(r, where=r["id"])
        for metric in (
            "steps",
            "heart_rate",
            "resting_heart_rate",
            "body_weight",
            "sleep",
            "active_energy",
            "workouts",
            "blood_pressure",
            "oxygen_saturation",
            "respiratory_rate",
            "heart_rate_variability",
            "vo2_max",
            "bmi",
        ):
            view = summarize_trends(vault, metric=metric, granularity="day")
            assert view.points, metric
        steps = summarize_trends(vault, metric="steps", granularity="day")
        assert len(steps.points) == days
        assert steps.unit == "{steps}"
        bp = summarize_trends(vault, metric="blood_pressure")
        assert bp.points[0].value2 is not None
        sleep_view = summarize_trends(vault, metric="sleep", granularity="day")
        assert all(200 < p.value < 900 for p in sleep_view.points)


# --- source priority: no double counting -----------------------------------------------------


def _steps(*records: str) -> str:
    return export(*records)


def test_watch_and_iphone_counting_the_same_walk_are_not_double_counted(
    vault: Vault, tmp_path: Path
) -> None:
    step = Q + "StepCount"
    path = write(
        tmp_path / "export.xml",
        _steps(
            # 09:00-09:10 both devices counted the same walk: the Watch's count is taken.
            record(step, 1000, "2024-03-01 09:00:00", "2024-03-01 09:10:00", source=PHONE),
            record(step, 1100, "2024-03-01 09:01:00", "2024-03-01 09:09:00", source=WATCH),
            # 12:00 only the phone (watch charging): taken.
            record(step, 500, "2024-03-01 12:00:00", "2024-03-01 12:05:00", source=PHONE),
            # 18:00 only the watch, renamed: recognised by its device.
            record(
                step,
                300,
                "2024-03-01 18:00:00",
                "2024-03-01 18:05:00",
                source="⌚️",
                device=WATCH_DEVICE,
            ),
            record(step, 200, "2024-03-01 18:02:00", "2024-03-01 18:04:00", source=PHONE),
            # A third-party app's whole-day total overlaps everything: never on top of them.
            record(step, 9999, "2024-03-02 00:00:00", "2024-03-02 23:59:59", source="Pedometer"),
            record(step, 700, "2024-03-02 10:00:00", "2024-03-02 10:05:00", source=PHONE),
        ),
    )
    days = stored_days(_imported(vault, path))
    assert days[("41950-7", "2024-03-01")] == pytest.approx(1100 + 500 + 300)
    # 2024-03-02: the phone's 700 in its slot, the app's total spread over the other 95 slots.
    assert days[("41950-7", "2024-03-02")] == pytest.approx(700 + 9999 * 95 / 96, rel=1e-3)


def test_a_sample_across_midnight_is_shared_between_the_days(vault: Vault, tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.xml",
        _steps(record(Q + "StepCount", 600, "2024-03-01 23:50:00", "2024-03-02 00:20:00")),
    )
    days = stored_days(_imported(vault, path))
    assert days[("41950-7", "2024-03-01")] == pytest.approx(200)
    assert days[("41950-7", "2024-03-02")] == pytest.approx(400)


# --- sleep ------------------------------------------------------------------------------------


def test_sleep_before_and_since_ios16(vault: Vault, tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.xml",
        export(
            # Before iOS 16: the phone's time in bed, the watch's "Asleep".
            sleep("InBed", "2021-05-01 22:30:00", "2021-05-02 06:45:00", source=PHONE),
            sleep("Asleep", "2021-05-01 23:00:00", "2021-05-02 03:00:00"),
            sleep("Asleep", "2021-05-02 03:20:00", "2021-05-02 06:30:00"),
            # Since iOS 16: stages, awake spells; a second app's overlapping night is not added.
            sleep("AsleepCore", "2023-01-09 23:10:00", "2023-01-10 01:10:00"),
            sleep("AsleepDeep", "2023-01-10 01:10:00", "2023-01-10 02:00:00"),
            sleep("Awake", "2023-01-10 02:00:00", "2023-01-10 02:15:00"),
            sleep("AsleepREM", "2023-01-10 02:15:00", "2023-01-10 03:15:00"),
            sleep("AsleepUnspecified", "2023-01-10 03:15:00", "2023-01-10 06:00:00"),
            sleep("Asleep", "2023-01-09 23:00:00", "2023-01-10 07:00:00", source="SleepApp"),
            # A nap counts towards its day; sleep from 18:00 towards the next.
            sleep("AsleepCore", "2023-01-10 14:00:00", "2023-01-10 14:30:00"),
            sleep("AsleepCore", "2023-01-10 21:30:00", "2023-01-11 06:00:00"),
        ),
    )
    nights = {r["effectiveDateTime"][:10]: r for r in _by_code(_imported(vault, path), "93832-4")}
    old = nights["2021-05-02"]
    assert old["valueQuantity"]["value"] == pytest.approx(240 + 190)
    parts = {c["code"]["coding"][0]["code"]: c for c in old["component"]}
    assert parts["HKCategoryValueSleepAnalysisInBed"]["valueQuantity"]["value"] == 495
    assert parts["sleep-period"]["valuePeriod"] == {
        "start": "2021-05-01T23:00:00-08:00",
        "end": "2021-05-02T06:30:00-08:00",
    }
    new = nights["2023-01-10"]
    assert new["valueQuantity"]["value"] == pytest.approx(120 + 50 + 60 + 165 + 30)
    assert new["effectiveDateTime"] == "2023-01-10T14:30:00-08:00"  # woke from the nap
    parts = {c["code"]["coding"][0]["code"]: c for c in new["component"]}
    assert parts["HKCategoryValueSleepAnalysisAsleepDeep"]["valueQuantity"]["value"] == 50
    assert parts["HKCategoryValueSleepAnalysisAwake"]["valueQuantity"]["value"] == 15
    assert nights["2023-01-11"]["valueQuantity"]["value"] == 510
    with pytest.raises(KeyError):
        parts["HKCategoryValueSleepAnalysisInBed"]


# --- the rest of an export --------------------------------------------------------------------


def test_blood_pressure_correlations_count_once(vault: Vault, tmp_path: Path) -> None:
    sys_, dia = Q + "BloodPressureSystolic", Q + "BloodPressureDiastolic"
    reading = [
        record(sys_, 120, "2024-03-01 08:00:00", unit="mmHg", source="Omron"),
        record(dia, 80, "2024-03-01 08:00:00", unit="mmHg", source="Omron"),
    ]
    second = [
        record(sys_, 130, "2024-03-01 20:00:00", unit="mmHg", source="Omron"),
        record(dia, 90, "2024-03-01 20:00:00", unit="mmHg", source="Omron"),
    ]
    correlation = (
        ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron"'
        ' startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800">\n'
        + "".join(reading)
        + " </Correlation>\n"
    )
    path = write(tmp_path / "export.xml", export(*reading, *second, correlation))
    resources = _imported(vault, path)
    (panel,) = _by_code(resources, "85354-9")
    values = {c["code"]["coding"][0]["code"]: c for c in panel["component"]}
    assert values["8480-6"]["valueQuantity"]["value"] == 125
    assert values["8462-4"]["valueQuantity"]["value"] == 85
    assert values["count"]["valueInteger"] == 2
    view = summarize_trends(vault, metric="blood_pressure")
    assert (view.points[0].value, view.points[0].value2) == (125, 85)


def test_me_becomes_the_patient_and_ids_are_stable(tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.xml", export(record(Q + "StepCount", 10, "2024-03-01 09:00:00"))
    )
    first = [r for _, r in read_apple(path, ReadOptions())]
    again = [r for _, r in read_apple(path, ReadOptions())]
    assert first == again
    person = first[0]
    assert person == {
        "resourceType": "Patient",
        "id": person["id"],
        "gender": "female",
        "birthDate": "1980-01-02",
    }
    (blood,) = _by_code(first, "882-1")
    assert blood["valueCodeableConcept"] == {"text": "O-"}


def test_unknown_and_unreadable_records_are_counted_not_imported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.xml",
        export(
            record("HKCategoryTypeIdentifierMindfulSession", "x", "2024-03-01 09:00:00"),
            record(Q + "StepCount", "not-a-number", "2024-03-01 09:00:00"),
            record(Q + "StepCount", 5, "2024-03-01 09:00:00"),
            record(Q + "BodyMass", 70, "2024-03-01 09:00:00", unit="oz"),
            ' <Audiogram type="HKDataTypeIdentifierAudiogram" sourceName="x"'
            ' startDate="2024-03-01 09:00:00 -0800" endDate="2024-03-01 09:00:00 -0800"/>\n',
        ),
    )
    notes: list[str] = []
    resources = [r for _, r in read_apple(path, ReadOptions(notes=notes))]
    text = "\n".join(notes)
    assert "1 × HKCategoryTypeIdentifierMindfulSession" in text
    assert "1 × unreadable records" in text
    assert "1 × Audiogram" in text
    assert "BodyMass samples in the unit 'oz'" in text
    assert stored_days(resources)[("41950-7", "2024-03-01")] == 5


def test_clinical_records_r4_stored_as_is_dstu2_mapped(vault: Vault, tmp_path: Path) -> None:
    r4 = {
        "resourceType": "Immunization",
        "id": "imm-1",
        "status": "completed",
        "vaccineCode": {"text": "Influenza"},
        "patient": {"reference": "Patient/p1"},
        "occurrenceDateTime": "2020-10-01",
    }
    dstu2 = {
        "resourceType": "Immunization",
        "id": "imm-2",
        "status": "completed",
        "date": "2019-10-01",
        "vaccineCode": {"text": "Flu"},
        "patient": {"reference": "Patient/p1"},
        "wasNotGiven": False,
        "reported": False,
    }
    order = {
        "resourceType": "DiagnosticOrder",
        "id": "do-1",
        "subject": {"reference": "Patient/p1"},
    }
    clinical = "".join(
        f' <ClinicalRecord type="Immunization" identifier="{i}" sourceName="Clinic"'
        f' sourceURL="https://x.example/{i}" fhirVersion="{v}"'
        ' receivedDate="2024-03-01 09:00:00 -0800"'
        f' resourceFilePath="/clinical-records/Immunization-{i}.json"/>\n'
        for i, v in (("A", "4.0.1"), ("B", "1.0.2"), ("C", "4.0.1"), ("D", "4.0.1"), ("E", "1.0.2"))
    )
    xml = write(tmp_path / "export.xml", export(clinical))
    zipped = zip_of(
        xml,
        tmp_path / "export.zip",
        {
            "apple_health_export/clinical-records/Immunization-A.json": json.dumps(r4).encode(),
            "apple_health_export/clinical-records/Immunization-B.json": json.dumps(dstu2).encode(),
            "apple_health_export/clinical-records/Immunization-D.json": b'{"resourceType": ',
            "apple_health_export/clinical-records/Immunization-E.json": json.dumps(order).encode(),
        },
    )
    notes: list[str] = []
    list(read_apple(zipped, ReadOptions(notes=notes)))
    text = "\n".join(notes)
    assert "1 × clinical records in FHIR DSTU2 of a type not mapped to R4 (DiagnosticOrder)" in text
    assert "1 × clinical records whose file is missing" in text
    assert "1 × clinical records that are not valid FHIR R4 JSON" in text
    resources = _imported(vault, zipped)
    imms = {r["id"]: r for r in resources if r["resourceType"] == "Immunization"}
    assert imms["imm-1"] == r4
    assert imms["imm-2"]["occurrenceDateTime"] == "2019-10-01"  # DSTU2 `date`, mapped
    assert imms["imm-2"]["primarySource"] is True


def test_a_clinical_note_from_health_records_reads_as_a_document(
    vault: Vault, tmp_path: Path
) -> None:
    """Apple Health Records keeps a clinic's notes as FHIR R4 DocumentReferences with the note
    inline (base64 HTML here, as the portals send it): imported, the note is a document the
    assistant lists and reads, its text verbatim without the markup, its source the export."""
    html = (
        "<html><body><h1>Office visit</h1><p>Seen for follow-up of hypertension.</p>"
        "<p>BP 128/82. Continue lisinopril 10 mg daily.</p><script>alert(1)</script>"
        "</body></html>"
    )
    note = {
        "resourceType": "DocumentReference",
        "id": "note-1",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}],
                 "text": "Progress note"},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/"
                      "us-core-documentreference-category", "code": "clinical-note"}]}],
        "subject": {"reference": "Patient/p1"},
        "date": "2024-02-27T10:15:00Z",
        "content": [{"attachment": {
            "contentType": "text/html",
            "data": base64.b64encode(html.encode()).decode(),
            "title": "Office visit",
        }}],
    }  # fmt: skip
    clinical = (
        ' <ClinicalRecord type="DocumentReference" identifier="n1" sourceName="Clinic"'
        ' sourceURL="https://x.example/n1" fhirVersion="4.0.1"'
        ' receivedDate="2024-03-01 09:00:00 -0800"'
        ' resourceFilePath="/clinical-records/DocumentReference-n1.json"/>\n'
    )
    zipped = zip_of(
        write(tmp_path / "export.xml", export(clinical)),
        tmp_path / "export.zip",
        {
            "apple_health_export/clinical-records/DocumentReference-n1.json": json.dumps(
                note
            ).encode()
        },
    )
    _imported(vault, zipped)
    listed = list_documents(vault)
    [doc] = listed.documents
    assert (doc.id, doc.kind, doc.date) == ("DocumentReference/note-1", "note", "2024-02-27")
    assert doc.source.origin == "apple"
    page = read_document(vault, id=doc.id)
    assert page.text is not None
    words = page.text.record_text
    assert "Seen for follow-up of hypertension." in words
    assert "Continue lisinopril 10 mg daily." in words
    assert "<p>" not in words and "alert(1)" not in words
    assert "[note-1]" in page.render()  # the text cites it too


# --- re-import --------------------------------------------------------------------------------


def test_reimport_is_idempotent_and_a_later_export_adds_only_what_is_new(
    vault: Vault, tmp_path: Path
) -> None:
    step = Q + "StepCount"
    day1 = record(step, 100, "2024-03-01 09:00:00")
    partial = record(step, 50, "2024-03-02 08:00:00")
    first = write(tmp_path / "first.xml", export(day1, partial))
    later = write(
        tmp_path / "later.xml",
        export(
            day1,
            partial,
            record(step, 70, "2024-03-02 19:00:00"),
            record(step, 30, "2024-03-03 09:00:00"),
        ),
    )
    one = import_paths(vault, [first], source="iphone")
    assert one.totals()["added"] == 4  # Patient, blood type, two days
    same = import_paths(vault, [first], source="iphone")
    assert same.totals()["skipped_files"] == 1
    copy = write(tmp_path / "copy.xml", first.read_text() + "\n")  # other bytes, same content
    assert import_paths(vault, [copy], source="iphone").totals()["unchanged"] == 4
    two = import_paths(vault, [later], source="iphone").totals()
    assert (two["added"], two["updated"], two["unchanged"]) == (1, 1, 3)
    days = stored_days(_all(vault))
    assert days[("41950-7", "2024-03-02")] == 120
    assert len(_all(vault)) == 5


# --- early flow, a reader process --------------------------------------------------


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in a reader process even for a small export."""
    from healthlocker.connectors.apple import _proc as _apple_proc

    monkeypatch.setattr(_apple_proc, "MIN_PARALLEL_BYTES", 0)


@pytest.mark.usefixtures("parallel")
def test_a_reader_process_gives_the_same_vault(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    generate(path, 3)
    with Vault.ephemeral() as vault:
        report = import_paths(vault, [path])
        assert report.ok, [f.error for f in report.files]
        resources = _all(vault)
        totals = report.totals()
    assert (totals["added"], totals["updated"]) == (len(resources), 0)  # each yielded once
    inline = [r for _, r in read_apple(path, ReadOptions())]
    assert sorted(resources, key=lambda r: r["id"]) == sorted(inline, key=lambda r: r["id"])


@pytest.mark.usefixtures("parallel")
def test_a_reader_started_for_a_file_the_vault_has_is_stopped(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "export.xml"
    generate(path, 3)
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [path]).totals()["added"] > 0
        again = import_paths(vault, [path])  # the reader starts before the digest is known
        assert again.totals()["skipped_files"] == 1
        assert multiprocessing.active_children() == []


@pytest.mark.parametrize("reader", [False, True], ids=["here", "reader-process"])
def test_an_invalid_resource_fails_the_whole_batch_when_strict_else_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: bool
) -> None:
    from healthlocker.connectors.apple import _check as _apple_check
    from healthlocker.connectors.apple import _proc as _apple_proc

    path = tmp_path / "export.xml"
    generate(path, 3)
    if reader:
        monkeypatch.setattr(_apple_proc, "MIN_PARALLEL_BYTES", 0)

    def strict(resource: dict[str, Any], *, where: str) -> str:
        # stands for a resource the validator refuses, late in the file
        if "activity summary" in where:
            resource = {**resource, "effectiveDateTime": "yesterday"}
        return validate_resource(resource, where=where)

    monkeypatch.setattr(_apple_check, "validate_resource", strict)
    with Vault.ephemeral() as vault:
        report = import_paths(vault, [path], strict=True)
        assert not report.ok
        error = report.files[0].error or ""
        assert "activity summary 2019-01-01" in error
        assert "invalid Observation at effectiveDateTime" in error
        assert vault.stats()["resources"] == 0
        # Without strict: the records the validator refuses are left out, each named.
        [outcome] = import_paths(vault, [path]).files
        assert outcome.error is None and outcome.result is not None
        assert outcome.skipped_records
        assert all("activity summary" in r.where for r in outcome.skipped_records)
        assert outcome.skipped_records[0].why.startswith("invalid Observation at effective")
        assert vault.stats()["resources"] == outcome.result.added > 0


@pytest.mark.usefixtures("parallel")
def test_errors_in_the_reader_process_come_back_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    generate(path, 2)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) * 3 // 4], encoding="utf-8")
    with Vault.ephemeral() as vault:
        report = import_paths(vault, [path])
        assert "ends early at line" in (report.files[0].error or "")
        assert vault.stats()["resources"] == 0


def test_an_export_not_ordered_by_type_gives_the_same_days(tmp_path: Path) -> None:
    """Groups yielded early are yielded again when what they depend on changed later."""
    step, hr, km = Q + "StepCount", Q + "HeartRate", Q + "DistanceWalkingRunning"
    steps_a = [
        record(step, 100, "2024-03-01 09:00:00", source=PHONE),
        record(step, 40, "2024-03-01 09:01:00", source="Pedometer"),  # no device: an app?
    ]
    steps_b = [record(step, 5, "2024-03-01 21:00:00", source=PHONE)]
    heart = [record(hr, 60, "2024-03-01 09:00:00", unit="count/min", source=WATCH)]
    # ... no: a watch (its device says so), which puts it first for the steps too
    distance = [
        record(km, 1, "2024-03-01 09:00:00", unit="km", source="Pedometer", device=WATCH_DEVICE)
    ]
    ordered = write(tmp_path / "ordered.xml", export(*steps_a, *steps_b, *distance, *heart))
    shuffled = write(tmp_path / "shuffled.xml", export(*steps_a, *heart, *distance, *steps_b))
    with Vault.ephemeral() as a, Vault.ephemeral() as b:
        one, two = _imported(a, ordered), _imported(b, shuffled)
    assert sorted(one, key=lambda r: r["id"]) == sorted(two, key=lambda r: r["id"])
    assert stored_days(two)[("41950-7", "2024-03-01")] == 40 + 5


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read files 2 KiB at a time, so groups leave early even in a small export."""
    from healthlocker.connectors import _read

    monkeypatch.setattr(_read, "CHUNK", 2048)


@pytest.mark.usefixtures("small_chunks")
def test_the_reader_drops_what_has_left(tmp_path: Path) -> None:
    """Memory does not follow the days or types an export covers: once a type's resources have
    left, its accumulators are dropped, and so are workouts and summaries once built."""
    from healthlocker.connectors._read import file_chunks
    from healthlocker.connectors.apple._flow import Flow
    from healthlocker.connectors.apple._xml import parse_steps

    path = tmp_path / "export.xml"
    generate(path, 20)
    flow, held, items = Flow(str(path)), 0, 0
    for c in parse_steps(file_chunks(path, None), str(path)):
        items += len(list(flow.step(c)))
        types = {k[0] for k in c.sums} | {k[0] for k in c.means}
        assert not types & flow.released  # nothing kept of a type that has left
        assert not c.workouts and not c.summaries
        held = max(held, len(c.sums) + len(c.means) + len(c.nights))
    assert len(flow.released) >= 5 and items > 0
    assert not flow.stale(c)
    every_day_of_every_type = len({r["id"] for _, r in read_apple(path, ReadOptions())})
    assert held < every_day_of_every_type / 3
    rest = [r for _, r in flow.rest(c, {})]
    early_and_rest = items + len(rest)
    assert early_and_rest == every_day_of_every_type  # each resource left once


@pytest.mark.usefixtures("small_chunks")
def test_an_unordered_export_is_read_again_for_what_was_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A type met again after its days had left (never in a real export): the file is read a
    second time, and the vault holds what the whole file says, each resource counted once."""
    from healthlocker.connectors.apple import _reader as _apple

    second_readings: list[str] = []
    whole = _apple.parse

    def parse(chunks: Any, where: str) -> Any:
        second_readings.append(where)
        return whole(chunks, where)

    monkeypatch.setattr(_apple, "parse", parse)
    step, hr = Q + "StepCount", Q + "HeartRate"
    filler = [
        record(hr, 60 + i % 30, f"2024-03-01 {i // 60:02d}:{i % 60:02d}:00", unit="count/min")
        for i in range(0, 600, 2)
    ]  # more than a chunk: the steps leave before they come back
    first = [record(step, 100, "2024-03-01 09:00:00", source=PHONE)]
    later = [record(step, 7, "2024-03-02 21:00:00", source=PHONE)]
    ordered = write(tmp_path / "ordered.xml", export(*first, *later, *filler))
    shuffled = write(tmp_path / "shuffled.xml", export(*first, *filler, *later))
    assert shuffled.stat().st_size > 4 * 2048
    with Vault.ephemeral() as a, Vault.ephemeral() as b:
        one = _imported(a, ordered)
        assert second_readings == []
        report = import_paths(b, [shuffled], source="again")
        assert second_readings == [str(shuffled)]
        two = _all(b)
    assert sorted(one, key=lambda r: r["id"]) == sorted(two, key=lambda r: r["id"])
    assert stored_days(two)[("41950-7", "2024-03-02")] == 7
    assert report.totals()["added"] == len(two)


def test_the_mapping_table_in_the_docs_matches_the_code() -> None:
    from healthlocker.connectors.apple._map import QTYPE, QUANTITIES

    doc = (APPLE.parent.parent / "docs" / "apple-health.md").read_text()
    table = [[c.strip() for c in line.strip("|").split("|")] for line in doc.splitlines()]
    rows = {cells[0]: cells for cells in table if len(cells) == 5}
    for hk, spec in QUANTITIES.items():
        _name, loinc, unit, per_day, _units = rows[hk.removeprefix(QTYPE)]
        assert loinc == (", ".join(c for c, _ in spec.loinc) or "—"), hk
        assert unit == f"`{spec.unit}`", hk
        assert per_day.startswith("total" if spec.kind == "sum" else "mean"), hk


def test_progress_is_reported_in_bytes_read(tmp_path: Path) -> None:
    xml = tmp_path / "export.xml"
    generate(xml, 3)
    seen: list[int] = []
    list(read_apple(xml, ReadOptions(progress=seen.append)))
    assert sum(seen) == xml.stat().st_size
    assert len(seen) > 1
    zipped = zip_of(xml, tmp_path / "export.zip")
    seen.clear()
    list(read_apple(zipped, ReadOptions(progress=seen.append)))
    assert 0.5 * zipped.stat().st_size < sum(seen) <= zipped.stat().st_size


def test_unreadable_dates_are_left_out_not_fatal(tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.xml",
        export(
            record(Q + "HeartRate", 60, "2024-13-45 09:00:00", unit="count/min"),
            record(Q + "HeartRate", 70, "2024-03-01 09:00:00", unit="count/min"),
            record(Q + "StepCount", 5, "20xx-03-01 09:00:00"),
        ),
    )
    notes: list[str] = []
    resources = [r for _, r in read_apple(path, ReadOptions(notes=notes))]
    assert stored_days(resources) == {("8867-4", "2024-03-01"): 70}
    assert any("days whose date cannot be read" in n for n in notes)


@pytest.mark.parametrize("level", ["apple_health_export", "its parent"])
def test_an_unzipped_export_folder_imports_its_export_xml(tmp_path: Path, level: str) -> None:
    """The Files app unzips export.zip into apple_health_export/: the folder imports as the
    export, not as a folder of FHIR JSON (of which it has none outside clinical-records)."""
    import shutil

    from helpers import ROOT, run_cli

    unzipped = ROOT / "samples" / "apple-health" / "dogsheep-zip"
    copy = shutil.copytree(unzipped, tmp_path / "download")
    target = copy / "apple_health_export" if level == "apple_health_export" else copy
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    done = run_cli("import", str(target), "--json", home=home)
    assert done.returncode == 0, done.stderr
    (outcome,) = json.loads(done.stdout)["files"]
    assert outcome["path"].endswith("apple_health_export/export.xml")
    assert outcome["format"] == "apple-health"
    assert outcome["added"] > 0
