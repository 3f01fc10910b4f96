"""C-CDA import: the bundled Synthea documents through the CLI, counts checked against an
independent count of their sections, spot checks, idempotence, and the records views."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.ccda_helpers import (
    CCDA,
    SAMPLE_XML,
    document,
    medication,
    reference_counts,
    rich_document,
    section,
)
from healthlocker.connectors import ReadOptions, detect_format, import_paths
from healthlocker.connectors.ccda._reader import looks_like, read_ccda
from healthlocker.connectors.ccda._types import ts
from healthlocker.records import (
    Scope,
    get_meds,
    list_conditions,
    list_encounters,
    list_immunizations,
    list_labs,
    summarize_trends,
)
from healthlocker.store import Vault
from helpers import run_cli

ANGELINA = CCDA / "Angelina101_Barton704_f19307b9-86f8-b922-6327-d459dba22815.xml"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _import_json(home: Path, *args: str) -> dict[str, Any]:
    result = run_cli("import", *args, "--json", home=home)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


# --- the samples through the CLI --------------------------------------------------------------


def test_samples_import_with_the_counts_their_sections_give(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    report = _import_json(home, str(CCDA))
    assert report["failed"] == 0 and report["file_count"] == len(SAMPLE_XML) == 2
    for entry in report["files"]:
        assert entry["format"] == "ccda"
        expected = reference_counts(Path(entry["path"]))
        assert entry["by_type"] == dict(expected), entry["path"]
        assert entry["added"] == sum(expected.values())
    again = _import_json(home, str(CCDA))
    assert again["added"] == again["updated"] == 0
    assert again["skipped_files"] == 2, "the same files again are recognised and skipped"


def test_a_changed_copy_under_the_same_source_adds_nothing(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    first = _import_json(home, str(ANGELINA), "--source", "portal")
    copy = tmp_path / "download-2.xml"
    copy.write_bytes(ANGELINA.read_bytes() + b"\n<!-- downloaded again -->\n")
    second = _import_json(home, str(copy), "--source", "portal")
    assert second["skipped_files"] == 0, "different bytes: read again"
    assert second["added"] == second["updated"] == 0
    assert second["unchanged"] == first["added"]


def test_a_later_document_adds_only_what_is_new(vault: Vault, tmp_path: Path) -> None:
    old = _write(tmp_path / "old.xml", rich_document())
    new = _write(
        tmp_path / "new.xml", rich_document(medication("m2", "310965", "Ibuprofen 200 MG"))
    )
    first = import_paths(vault, [old], source="portal").files[0].result
    second = import_paths(vault, [new], source="portal").files[0].result
    assert first is not None and second is not None
    assert (second.added, second.updated) == (1, 0)
    assert second.unchanged == first.added
    names = {m.name for m in get_meds(vault, status="all").medications}
    assert names == {"Amlodipine 5 MG Oral Tablet", "Ibuprofen 200 MG"}


# --- spot checks against the samples ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample_vault(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with Vault.create(tmp_path_factory.mktemp("ccda"), passphrase="pw") as v:
        report = import_paths(v, [CCDA])
        assert report.ok, [f.error for f in report.files]
        yield v


def test_labs_from_a_sample(sample_vault: Vault) -> None:
    # SARS-CoV-2 "Detected": Angelina on 2020-03-12 (Vital Signs section, line 1452), Ken on
    # 2020-03-13; the Results sections' copies have Synthea's unfilled "{entry.value}", kept
    # without a value.
    results = list_labs(sample_vault, test="94531-1").results
    detected = [r for r in results if r.value_text == "Detected (qualifier value)"]
    assert [r.date for r in detected] == ["2020-03-13", "2020-03-12"]
    assert len({r.patient for r in detected}) == 2
    assert len(results) == 4
    assert all(r.loinc == "94531-1" for r in results)
    assert not any("{" in (r.value_text or "") for r in results)


def _patient(vault: Vault, family: str) -> str:
    [found] = [
        p.resource["id"]
        for p in vault.resources("Patient")
        if p.resource["name"][0]["family"] == family
    ]
    return str(found)


def test_vital_signs_feed_the_trends(sample_vault: Vault) -> None:
    angelina = _patient(sample_vault, "Barton704")
    weights = summarize_trends(
        Scope(sample_vault, patient=angelina), metric="body_weight", since="2020-03-12"
    )
    # Angelina, line 1293: <value xsi:type="PQ" value="20.1" unit="kg"/> on 2020-03-12
    assert [(p.start[:10], p.value) for p in weights.points] == [("2020-03-12", 20.1)]
    assert weights.unit == "kg"
    assert not list_labs(sample_vault, test="29463-7").results, "a weight is not a lab result"


def test_immunizations_conditions_and_visits_from_a_sample(sample_vault: Vault) -> None:
    everything = list_immunizations(sample_vault, limit=200)  # a page holds 30 by default
    assert not everything.truncated
    shots = everything.immunizations
    hep_b = [i for i in shots if i.cvx == "08" and i.date == "2014-12-25"]
    assert [i.vaccine for i in hep_b] == ["Hep B, adolescent or pediatric"]
    assert hep_b[0].status == "completed"
    conditions = list_conditions(sample_vault, status="all").conditions
    covid = [c for c in conditions if c.snomed == "840539006"]
    assert len(covid) == 2 and all(c.name == "COVID-19" for c in covid)
    assert all(c.clinical_status == "resolved" and c.abated for c in covid)
    visits = list_encounters(sample_vault, since="2014-12-25", until="2014-12-25").encounters
    assert [(v.date, v.type) for v in visits] == [("2014-12-25", "Well child visit (procedure)")]


def test_entries_of_sections_not_mapped_are_named_in_the_import_notes(tmp_path: Path) -> None:
    """The notes say which section's entries were kept only as text, in words: a section not
    known by its LOINC code, one with no code as such ("an uncoded section", once "the an
    uncoded section")."""
    entry = (
        '<entry><observation classCode="OBS" moodCode="EVN"><code code="1"/></observation></entry>'
    )
    uncoded = f"<component><section><title>Other</title><text>x</text>{entry}</section></component>"
    path = _write(
        tmp_path / "sections.xml",
        document(section("99.99", "99999-9", entry), uncoded),
    )
    notes: list[str] = []
    list(read_ccda(path, ReadOptions(notes=notes)))
    joined = "\n".join(notes)
    assert "1 × entries of a LOINC 99999-9 section (its text is kept" in joined
    assert "1 × entries of an uncoded section (its text is kept" in joined


# --- medications, allergies, ranges (a built document: the samples have none) -----------------


def test_medications_allergies_and_ranges(vault: Vault, tmp_path: Path) -> None:
    path = _write(tmp_path / "rich.xml", rich_document())
    notes: list[str] = []
    resources = [r for _, r in read_ccda(path, ReadOptions(notes=notes))]
    report = import_paths(vault, [path])
    assert report.ok, report.files[0].error
    meds = get_meds(vault)
    [med] = meds.medications
    assert (med.name, med.rxnorm, med.status, med.started) == (
        "Amlodipine 5 MG Oral Tablet",
        "197361",
        "active",
        "2024-01-01",
    )
    assert med.dosage and "twice a day" in med.dosage
    [allergy] = meds.allergies
    assert (allergy.substance, allergy.criticality, allergy.reaction) == (
        "Penicillin G",
        "high",
        ["Hives"],
    )
    [glucose] = list_labs(vault, test="glucose").results
    assert (glucose.value, glucose.unit, glucose.date, glucose.flag) == (
        95,
        "mg/dL",
        "2024-03-01",
        "normal",
    )
    assert glucose.reference_range is not None
    assert (glucose.reference_range.low, glucose.reference_range.high) == (70, 99)
    [observation] = [r for r in resources if r["resourceType"] == "Observation"]
    assert observation["effectiveDateTime"] == "2024-03-01T08:15:00-05:00"
    [report_] = [r for r in resources if r["resourceType"] == "DiagnosticReport"]
    assert report_["result"] == [{"reference": f"Observation/{observation['id']}"}]
    assert [c.name for c in list_conditions(vault).conditions] == ["Hypertension"]
    joined = "\n".join(notes)
    assert "problems with no code and no text" in joined
    assert "negated entries" in joined
    assert "1 × entries of the functional status section (its text is kept" in joined


# --- detection and data types -----------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b'<ClinicalDocument xmlns="urn:hl7-org:v3">',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>',
        b'<?xml version="1.0"?><!-- a portal --><?xml-stylesheet href="cda.xsl"?>\n'
        b'<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3">',
    ],
)
def test_detects_c_cda_roots(head: bytes, tmp_path: Path) -> None:
    assert looks_like(head)
    path = tmp_path / "doc.txt"
    path.write_bytes(head)
    assert detect_format(path) == "ccda"


@pytest.mark.parametrize(
    "head",
    [
        b'<ClinicalDocument xmlns="urn:other">',
        b"<HL7Message><ClinicalDocument xmlns='urn:hl7-org:v3'/></HL7Message>",
        b"<?xml version='1.0'?><Bundle xmlns='http://hl7.org/fhir'/>",
    ],
)
def test_other_xml_is_not_c_cda(head: bytes) -> None:
    assert not looks_like(head)


def test_a_folder_takes_c_cda_but_not_other_xml(tmp_path: Path) -> None:
    shutil.copy(ANGELINA, tmp_path / "record.xml")
    _write(tmp_path / "notes.xml", "<notes/>")
    from healthlocker.connectors import plan_import

    plan = plan_import([tmp_path])
    assert [p.path.name for p in plan.files] == ["record.xml"]
    [skipped] = plan.skipped
    assert Path(skipped.path).name == "notes.xml"
    assert "XML: not a format this version imports" in skipped.why


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020", "2020"),
        ("202003", "2020-03"),
        ("20200312", "2020-03-12"),
        ("20200312163128", "2020-03-12"),  # no offset: FHIR wants one with a time, so the day
        ("20200312163128-0700", "2020-03-12T16:31:28-07:00"),
        ("202003121631+0100", "2020-03-12T16:31:00+01:00"),
        ("20200312163128.123+0000", "2020-03-12T16:31:28.123+00:00"),
        ("20201312", None),
        ("2020-03-12", None),
        ("", None),
    ],
)
def test_cda_times_become_fhir_date_times(value: str, expected: str | None) -> None:
    assert ts(value) == expected


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([dt.timezone(dt.timedelta(minutes=m)) for m in (-420, 0, 330)]),
    )
)
def test_a_cda_time_with_an_offset_is_the_same_instant(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0)
    offset = moment.strftime("%z")
    assert dt.datetime.fromisoformat(ts(moment.strftime("%Y%m%d%H%M%S") + offset) or "") == moment


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    seen: list[int] = []
    list(read_ccda(ANGELINA, ReadOptions(progress=seen.append)))
    assert sum(seen) == ANGELINA.stat().st_size


def test_a_document_with_only_empty_known_sections_imports_the_patient(
    vault: Vault, tmp_path: Path
) -> None:
    path = _write(tmp_path / "empty.xml", document(section("6.1", "48765-2")))
    report = import_paths(vault, [path])
    assert report.ok and report.files[0].result is not None
    assert report.files[0].result.by_type == {"Patient": 1}
