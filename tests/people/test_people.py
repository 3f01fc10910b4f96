"""Whom records are about: one person from several sources is one person, two people are never
pooled, a file that only looks like the owner is refused until --person chooses."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from healthlocker.connectors import import_paths
from healthlocker.errors import PeopleError
from healthlocker.people import People, Placement
from healthlocker.records import Scope, explain_coverage, get_meds, list_labs, summarize_trends
from healthlocker.store import Vault
from helpers import ROOT, SAMPLES, load_json
from people.people_helpers import BLUE_BUTTON, CLINIC, MFP, NEWCOMER, bundle, glucose, patient


def _people(vault: Vault) -> list[tuple[str, str, bool, int]]:
    people = People.load(vault)
    return [(p.id, people.shown(p), p.owner, len(p.patients)) for p in people.all]


def test_one_person_from_a_clinic_medicare_and_myfitnesspal(vault: Vault) -> None:
    report = import_paths(vault, [CLINIC, BLUE_BUTTON, MFP])
    assert report.ok, [f.error for f in report.files]
    assert _people(vault) == [("person-1", "J. D., born 1981", True, 2)]
    said = report.people_said()
    assert said == [
        "The vault's owner is J. D., born 1981 (person-1): the first person its records name."
    ]
    # "How is my weight trending": ten years of the clinic's weights and MyFitnessPal's days.
    trend = summarize_trends(Scope.for_tool(vault), metric="body_weight", granularity="year")
    assert [p.start[:4] for p in trend.points] == ["2011", "2012", "2013", "2024"]
    assert {s.origin for s in trend.sources} == {"clinic-ccda", "myfitnesspal"}
    assert trend.person is None and trend.withheld is None  # one person: nothing to say
    claims = explain_coverage(Scope.for_tool(vault))
    assert claims.withheld is None and claims.claims.count > 0  # Medicare's claims are theirs


def test_nine_sample_patients_are_nine_people_never_pooled(vault: Vault) -> None:
    paths = [SAMPLES / "synthea", ROOT / "samples" / "ccda", BLUE_BUTTON]
    assert import_paths(vault, paths).ok
    people = _people(vault)
    assert len(people) == 9
    assert [p[2] for p in people] == [True] + [False] * 8
    # Before: get_meds listed every sample patient's medications as one person's.
    pooled = get_meds(vault, status="all")
    assert len({m.patient for m in pooled.medications}) == 6
    files = sorted((SAMPLES / "synthea").glob("*.json"))
    for number, path in enumerate(files, start=1):
        entries = [e["resource"] for e in load_json(path)["entry"]]
        mine = sum(1 for r in entries if r["resourceType"] == "MedicationRequest")
        view = get_meds(Scope.for_tool(vault, patient=f"person-{number}"), status="all")
        assert len(view.medications) == mine
        assert len({m.patient for m in view.medications}) <= 1
        assert view.person is not None and view.person.id == f"person-{number}"
        assert view.person.people_in_vault == 9
        assert view.person.note in view.render().split("\n")[1]
        if mine < len(pooled.medications):
            assert view.withheld is not None and view.withheld.other_people > 0
    owner = get_meds(Scope.for_tool(vault), status="all")
    assert owner.person is not None and owner.person.owner
    assert "the vault's owner" in owner.render().split("\n")[1]


def test_the_patient_argument_takes_a_person_a_patient_or_owner(vault: Vault) -> None:
    assert import_paths(vault, [SAMPLES / "synthea"]).ok
    by_patient = list_labs(Scope.for_tool(vault, patient="Patient/567834-nobody"))
    assert by_patient.total == 0  # a Patient id no one holds: no one's records
    first = next(iter(sorted((SAMPLES / "synthea").glob("*.json"))))
    pid = next(e["resource"]["id"] for e in load_json(first)["entry"])
    one = list_labs(Scope.for_tool(vault, patient=pid)).total
    assert one == list_labs(Scope.for_tool(vault, patient="person-1")).total
    assert one == list_labs(Scope.for_tool(vault, patient="owner")).total
    assert one == list_labs(Scope.for_tool(vault)).total > 0


def _owner_is_alex(vault: Vault, tmp_path: Path) -> None:
    first = bundle(
        tmp_path / "clinic.json",
        patient("alex", "Alex", "Example", "1980-02-14", "female"),
        glucose("g1", "alex", "2023-05-01T08:30:00-04:00", 95),
    )
    assert import_paths(vault, [first]).ok


def test_a_file_that_only_looks_like_the_owner_is_refused_until_chosen(
    vault: Vault, tmp_path: Path
) -> None:
    _owner_is_alex(vault, tmp_path)
    held = len(vault.resources("Observation"))
    typo = bundle(
        tmp_path / "other-clinic.json",
        patient("alex-2", "Alex", "Example", "1980-02-15", "female"),
        glucose("g2", "alex-2", "2023-06-01T08:30:00-04:00", 101),
    )
    report = import_paths(vault, [typo])
    (outcome,) = report.files
    assert outcome.error is not None
    assert "looks like the vault's owner but whose birth date differs" in outcome.error
    assert "nothing of it was imported" in outcome.error
    assert "--person owner" in outcome.error and "--person new" in outcome.error
    assert "1980" not in outcome.error and "Alex" not in outcome.error  # no health data
    assert len(vault.resources("Observation")) == held  # nothing stored
    assert len(_people(vault)) == 1

    chosen = import_paths(vault, [typo], person="owner")
    assert chosen.ok
    assert chosen.files[0].people[0].how == "chosen"
    assert _people(vault) == [("person-1", "A. E., born 1980", True, 2)]
    # The same file again with another choice is read again, and moves.
    moved = import_paths(vault, [typo], person="new")
    assert moved.ok and moved.files[0].result is not None
    assert not moved.files[0].result.skipped_file
    assert [p[3] for p in _people(vault)] == [1, 1]


def test_someone_else_is_stored_apart_and_said(vault: Vault, tmp_path: Path) -> None:
    _owner_is_alex(vault, tmp_path)
    kid = bundle(
        tmp_path / "kid.json",
        patient("kid", "Robin", "Example", "2014-05-02", "male"),
        glucose("g3", "kid", "2023-05-01T08:30:00-04:00", 80),
    )
    report = import_paths(vault, [kid])
    assert report.ok
    assert report.people_said() == [
        "Someone else: R. E., born 2014, stored apart as person-2; if this is you, run "
        "`healthlocker people link owner person-2`."
    ]
    assert [p[:3] for p in _people(vault)] == [
        ("person-1", "A. E., born 1980", True),
        ("person-2", "R. E., born 2014", False),
    ]
    labs = list_labs(Scope.for_tool(vault))
    assert [r.value for r in labs.results] == [95]
    assert labs.withheld is not None and labs.withheld.other_people == 1


def test_a_bad_patient_record_is_left_out_and_its_records_said_to_wait(
    vault: Vault, tmp_path: Path
) -> None:
    _owner_is_alex(vault, tmp_path)
    kid = bundle(
        tmp_path / "kid.json",
        patient("kid", "Robin", "Example", "14 May", "male"),  # not a FHIR date
        glucose("g5", "kid", "2023-05-01T08:30:00-04:00", 80),
        glucose("g6", "kid", "2023-06-01T08:30:00-04:00", 82),
    )
    strict = import_paths(vault, [kid], strict=True)
    assert strict.files[0].error is not None and strict.files[0].result is None
    report = import_paths(vault, [kid])
    (outcome,) = report.files
    assert outcome.error is None and [r.where for r in outcome.skipped_records] == [
        f"{kid}: entry 0"
    ]
    assert any("holds no Patient record" in n for n in outcome.notes)
    assert sorted(r.value for r in list_labs(Scope.for_tool(vault)).results) == [80, 82, 95]
    chosen = import_paths(vault, [kid], person="new")  # "this is someone else"
    assert chosen.ok and not any("holds no Patient record" in n for n in chosen.files[0].notes)
    assert [r.value for r in list_labs(Scope.for_tool(vault)).results] == [95]
    theirs = list_labs(Scope.for_tool(vault, patient="person-2")).results
    assert sorted(r.value for r in theirs) == [80, 82]


def test_a_name_chosen_with_person_names_a_new_person_then_finds_them(
    vault: Vault, tmp_path: Path
) -> None:
    _owner_is_alex(vault, tmp_path)
    one = bundle(tmp_path / "a.json", glucose("g4", "sam-a", "2020-01-01", 90))
    two = bundle(tmp_path / "b.json", patient("sam-b", "Sam", "Other", "2010-01-01", "male"))
    assert import_paths(vault, [one], person="Sam").ok
    assert import_paths(vault, [two], person="sam").ok  # names compare case-blind
    people = People.load(vault)
    sam = people.get("Sam")
    assert sam.name == "Sam" and sorted(sam.patients) == ["Patient/sam-a", "Patient/sam-b"]
    assert people.shown(sam) == "Sam"
    bad = import_paths(vault, [one], person="x" * 61)
    assert bad.files[0].error is not None and "--person takes" in bad.files[0].error


def test_person_refuses_a_file_about_plainly_different_people(vault: Vault, tmp_path: Path) -> None:
    family = bundle(
        tmp_path / "family.json",
        patient("p1", "Ann", "Lee", "1970-01-01", "female"),
        patient("p2", "Bo", "Kim", "2012-01-01", "male"),
    )
    report = import_paths(vault, [family], person="owner")
    assert report.files[0].error is not None
    assert "about more than one person" in report.files[0].error
    assert vault.resources("Patient") == []
    assert import_paths(vault, [family]).ok  # without --person: two people
    assert len(_people(vault)) == 2


def test_apple_health_records_are_the_exports_own_person(vault: Vault, tmp_path: Path) -> None:
    assert import_paths(vault, [CLINIC]).ok
    export = tmp_path / "export.zip"
    folder = NEWCOMER / "apple_health_export"
    with zipfile.ZipFile(export, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "apple_health_export/" + path.relative_to(folder).as_posix())
    report = import_paths(vault, [export])
    assert report.ok
    assert report.people_said() == []  # the owner again: nothing to say
    people = People.load(vault)
    (owner,) = people.all
    # The clinic's Patient, Apple's Me and the health system's Patient the record names.
    assert len(owner.patients) == 3
    assert "Patient/gwc-26604" in owner.patients
    assert sorted(owner.patients["Patient/gwc-26604"]) == ["apple-health"]


def test_records_naming_no_one_are_the_owners(vault: Vault) -> None:
    assert import_paths(vault, [MFP]).ok
    people = People.load(vault)
    assert [(p.owner, p.patients) for p in people.all] == [(True, {})]
    trend = summarize_trends(Scope.for_tool(vault), metric="calories_in")
    assert trend.points and trend.withheld is None and trend.person is None


def test_records_of_a_patient_not_yet_imported_wait_for_it(vault: Vault) -> None:
    first = import_paths(vault, [BLUE_BUTTON / "eobReadCarrier.json"])
    assert first.ok
    assert any("holds no Patient record" in n for n in first.files[0].notes)
    clinic = import_paths(vault, [CLINIC])  # John Doe, as the beneficiary: the same person
    assert clinic.ok
    then = import_paths(vault, [BLUE_BUTTON])  # the beneficiary's Patient record comes
    assert then.ok
    assert not any("holds no Patient record" in n for f in then.files for n in f.notes)
    assert len(_people(vault)) == 1
    assert explain_coverage(Scope.for_tool(vault)).withheld is None


def test_a_sync_cannot_ask_so_someone_unclear_is_stored_apart(vault: Vault, tmp_path: Path) -> None:
    _owner_is_alex(vault, tmp_path)
    placement = Placement(vault, label="portal", refuse=False)
    unclear = patient("alex-api", "Alex", "Example", "1980-12-14", "female")
    vault.import_batch(
        placement.wrap(iter([("api: Patient", unclear)])),
        source="portal",
        kind="smart",
        name="sync",
        file_digest=b"sync-1",
    )
    (placed,) = placement.placed
    assert (placed.person, placed.how) == ("person-2", "unclear")
    assert placed.note is not None
    assert "looks like the vault's owner but whose birth date differs" in placed.note
    assert "`healthlocker people link owner person-2`" in placed.note


def test_forget_takes_what_it_placed(vault: Vault, tmp_path: Path) -> None:
    _owner_is_alex(vault, tmp_path)
    kid = bundle(tmp_path / "kid.json", patient("kid", "Robin", "Example", "2014-05-02", "male"))
    assert import_paths(vault, [kid]).ok
    assert len(_people(vault)) == 2
    vault.forget("kid")
    assert [p[0] for p in _people(vault)] == ["person-1"]
    vault.forget(None)
    assert _people(vault) == [("person-1", "person-1", True, 0)]


def test_people_edits_and_their_mistakes(vault: Vault, tmp_path: Path) -> None:
    _owner_is_alex(vault, tmp_path)
    kid = bundle(tmp_path / "kid.json", patient("kid", "Robin", "Example", "2014-05-02", "male"))
    assert import_paths(vault, [kid]).ok
    people = People.load(vault)
    owner, other = people.all
    with pytest.raises(PeopleError, match="already one person"):
        people.link(owner, owner)
    with pytest.raises(PeopleError, match="nothing to split off"):
        people.split(other.patients)
    with pytest.raises(PeopleError, match="no person 'person-9'"):
        people.get("person-9")
    with pytest.raises(PeopleError, match="no Patient and no source"):
        people.holding("nobody")
    people.rename(other, "Robin")
    with pytest.raises(PeopleError, match="already names someone else"):
        people.rename(owner, "robin")
    people.make_owner(other)
    people.save(vault)
    again = People.load(vault)
    assert [(p.id, p.owner, p.name) for p in again.all] == [
        ("person-2", True, "Robin"),
        ("person-1", False, None),
    ]
    assert Counter(json.dumps(sorted(p.patients)) for p in again.all) == Counter(
        ['["Patient/kid"]', '["Patient/alex"]']
    )
