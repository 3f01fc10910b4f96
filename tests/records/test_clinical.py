"""Conditions, immunizations, visits, search and the health summary, against the samples."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.errors import ArgumentError
from healthlocker.records import Scope
from healthlocker.records._clinical import list_conditions, list_encounters, list_immunizations
from healthlocker.records._search import search_records
from healthlocker.records._summary import age_band, health_summary
from healthlocker.store import Vault, clinical_date
from helpers import SAMPLES, cites_each, load_json


def _resources(folders: tuple[str, ...] = ("synthea", "bluebutton")) -> Iterable[dict[str, Any]]:
    for folder in folders:
        for path in sorted((SAMPLES / folder).glob("*.json")):
            doc = load_json(path)
            if doc["resourceType"] == "Bundle":
                yield from (e["resource"] for e in doc.get("entry", []))
            else:
                yield doc


def _of_type(rtype: str) -> list[dict[str, Any]]:
    return [r for r in _resources() if r["resourceType"] == rtype]


def _person(res: dict[str, Any]) -> str | None:
    ref = (res.get("subject") or res.get("patient") or {}).get("reference")
    return "Patient/" + ref.removeprefix("urn:uuid:") if ref else None


def _name(concept: dict[str, Any]) -> str:
    return str(concept.get("text") or concept["coding"][0]["display"])


def _by_id() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in _resources()}


# --- conditions -------------------------------------------------------------------------------


def test_conditions_active_and_all(loaded_vault: Vault) -> None:
    records = _of_type("Condition")
    active = [r for r in records if r["clinicalStatus"]["coding"][0]["code"] == "active"]
    view = list_conditions(loaded_vault)
    assert view.total == len(active) == len(view.conditions)
    assert Counter((c.name, c.patient, c.onset) for c in view.conditions) == Counter(
        (_name(r["code"]), _person(r), r["onsetDateTime"][:10]) for r in active
    )
    onsets = [c.onset or "" for c in view.conditions]
    assert onsets == sorted(onsets, reverse=True)
    every = list_conditions(loaded_vault, status="all")
    assert every.total == len(records)
    resolved = {c.source.resource: c for c in every.conditions if c.clinical_status == "resolved"}
    for r in records:
        if "abatementDateTime" in r:
            assert resolved[f"Condition/{r['id']}"].abated == r["abatementDateTime"][:10]
    assert {c.snomed for c in every.conditions} == {r["code"]["coding"][0]["code"] for r in records}


def test_conditions_per_patient_and_window(loaded_vault: Vault) -> None:
    records = _of_type("Condition")
    patient = Counter(_person(r) for r in records).most_common(1)[0][0]
    assert patient
    mine = list_conditions(Scope(loaded_vault, patient=patient), status="all")
    assert mine.total == sum(1 for r in records if _person(r) == patient)
    cut = "2015-01-01"
    recent = list_conditions(Scope(loaded_vault, window_start=cut), status="all")
    # Dated from the cut on, or still going on then (no end, or an end after it): issue 14.
    inside = [r for r in records if (clinical_date(r) or "")[:10] >= cut or _ongoing(r, cut)]
    assert recent.total == len(inside)
    assert all((c.onset or "") >= cut or (c.abated or "9") >= cut for c in recent.conditions)
    assert any((c.onset or "") < cut for c in recent.conditions)  # the ongoing ones
    assert recent.withheld is not None
    assert recent.withheld.count == len(records) - len(inside) > 0
    assert "condition" in recent.render()
    assert f"outside the period you allowed (before {cut})" in recent.render()


def _ongoing(r: dict[str, Any], cut: str) -> bool:
    """A condition still going on at *cut*: the samples' conditions end with abatementDateTime,
    and an active one has none."""
    return r.get("abatementDateTime", "9999")[:10] >= cut


# --- immunizations ----------------------------------------------------------------------------


def test_immunizations(loaded_vault: Vault) -> None:
    records = _of_type("Immunization")
    view = list_immunizations(loaded_vault, limit=200)
    assert view.total == len(records)
    assert Counter((i.vaccine, i.cvx, i.date, i.status) for i in view.immunizations) == Counter(
        (
            _name(r["vaccineCode"]),
            r["vaccineCode"]["coding"][0]["code"],
            r["occurrenceDateTime"][:10],
            r["status"],
        )
        for r in records
    )
    dates = [i.date or "" for i in view.immunizations]
    assert dates == sorted(dates, reverse=True)
    since = list_immunizations(loaded_vault, since="2019-01-01")
    assert since.total == sum(1 for r in records if r["occurrenceDateTime"][:10] >= "2019-01-01")
    window = list_immunizations(Scope(loaded_vault, window_start="2019-01-01"), since="2010-01-01")
    assert window.total == since.total
    first = list_immunizations(loaded_vault)
    assert len(first.immunizations) == 30 < first.total and first.truncated
    assert first.immunizations == view.immunizations[:30]
    text = first.render()  # every one listed, with its source; and how to see the rest
    assert cites_each(text, [i.source.resource for i in first.immunizations])
    assert all(f"{i.date}: {i.vaccine}" in text for i in first.immunizations)
    assert "limit=" in text


# --- encounters -------------------------------------------------------------------------------

_CLASS = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient"}


def test_encounters_read_back(loaded_vault: Vault) -> None:
    records = _of_type("Encounter")
    index = _by_id()
    view = list_encounters(loaded_vault, limit=200)
    assert view.total == len(records) == len(view.encounters)
    assert not view.truncated
    got = {e.source.resource: e for e in view.encounters}
    for r in records:
        item = got[f"Encounter/{r['id']}"]
        assert item.date == r["period"]["start"][:10]
        assert item.end == r["period"]["end"][:10]
        assert item.type == _name(r["type"][0])
        assert item.encounter_class == _CLASS[r["class"]["code"]]
        org = index[r["serviceProvider"]["reference"].removeprefix("urn:uuid:")]
        assert item.organization == org["name"]
        doctors = []
        for p in r["participant"]:
            name = index[p["individual"]["reference"].removeprefix("urn:uuid:")]["name"][0]
            doctors.append(" ".join([*name.get("prefix", []), *name["given"], name["family"]]))
        assert item.practitioners == doctors
        reasons = [_name(c) for c in r.get("reasonCode", [])]
        assert item.reason == ("; ".join(reasons) or None)
        assert item.patient == _person(r)


def test_encounters_limit_order_and_dates(loaded_vault: Vault) -> None:
    records = _of_type("Encounter")
    view = list_encounters(loaded_vault, limit=5)
    assert (view.total, view.truncated, len(view.encounters)) == (len(records), True, 5)
    starts = sorted((r["period"]["start"] for r in records), reverse=True)[:5]
    assert [e.date for e in view.encounters] == [s[:10] for s in starts]
    since, until = "2015-01-01", "2016-12-31"
    ranged = list_encounters(loaded_vault, since=since, until=until, limit=200)
    assert ranged.total == sum(1 for r in records if since <= r["period"]["start"][:10] <= until)
    windowed = list_encounters(
        Scope(loaded_vault, window_start="2016-01-01"), since=since, limit=200
    )
    assert all((e.date or "") >= "2016-01-01" for e in windowed.encounters)
    text = view.render()  # every visit shown is in the text, with its source
    assert cites_each(text, [e.source.resource for e in view.encounters])
    assert all(f"{e.date}: {e.type}" in text for e in view.encounters)
    assert f"until={view.encounters[-1].date}" in text


# --- search -----------------------------------------------------------------------------------

_SEARCHED = {
    "Condition": ("code",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "Observation": ("code",),
    "DiagnosticReport": ("code",),
    "Procedure": ("code",),
    "Immunization": ("vaccineCode",),
    "AllergyIntolerance": ("code",),
    "Encounter": ("type", "reasonCode"),
}


def _expected_hits(query: str) -> Counter[tuple[str, str]]:
    needle = query.casefold()
    out: Counter[tuple[str, str]] = Counter()
    for r in _resources():
        for field in _SEARCHED.get(r["resourceType"], ()):
            value = r.get(field) or []
            concepts = value if isinstance(value, list) else [value]
            names = [
                _name(c)
                for c in concepts
                if needle in str(c.get("text", "")).casefold()
                or any(
                    needle in str(x.get("display", "")).casefold() or needle == x["code"].casefold()
                    for x in c.get("coding", [])
                )
            ]
            if names:
                out[(r["resourceType"], names[0])] += 1
                break
    return out


@pytest.mark.parametrize("query", ["influenza", "HYPERTENSION", "glucose", "check up", "2339-0"])
def test_search_matches_names_and_codes(loaded_vault: Vault, query: str) -> None:
    expected = _expected_hits(query)
    assert expected
    view = search_records(loaded_vault, query=query, limit=200)
    assert view.total == sum(expected.values())
    assert Counter((h.resource_type, h.name) for h in view.hits) == expected
    dates = [h.date or "" for h in view.hits]
    assert dates == sorted(dates, reverse=True)
    short = search_records(loaded_vault, query=query, limit=1)
    assert (len(short.hits), short.truncated) == (1, view.total > 1)


def test_search_window_and_patient(loaded_vault: Vault) -> None:
    view = search_records(
        Scope(loaded_vault, window_start="2019-01-01"), query="influenza", limit=200
    )
    assert view.hits
    assert all((h.date or "") >= "2019-01-01" for h in view.hits)
    patient = view.hits[0].patient
    mine = search_records(Scope(loaded_vault, patient=patient), query="influenza", limit=200)
    assert {h.patient for h in mine.hits} == {patient}


# --- health summary ---------------------------------------------------------------------------

_CLINICAL = (
    "Condition",
    "Observation",
    "Encounter",
    "MedicationRequest",
    "MedicationStatement",
    "Immunization",
    "Procedure",
    "AllergyIntolerance",
    "DiagnosticReport",
)


def _expected_age_band(birth: str) -> str:
    born, today = date.fromisoformat(birth), date.today()
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return "90 or older" if years >= 90 else f"{max(years // 10 * 10, 1)}-{years // 10 * 10 + 9}"


def test_health_summary_of_the_most_recent_person(loaded_vault: Vault) -> None:
    clinical = [r for r in _resources() if r["resourceType"] in _CLINICAL]
    latest: dict[str, str] = {}
    for r in clinical:
        who = _person(r)
        assert who
        latest[who] = max(latest.get(who, ""), clinical_date(r) or "")
    who = max(latest, key=lambda k: latest[k])
    patient = next(r for r in _of_type("Patient") if f"Patient/{r['id']}" == who)
    view = health_summary(loaded_vault)
    assert view.patient == who
    assert view.people_in_vault == len(_of_type("Patient")) == 7
    assert any(f"showing {who}" in n for n in view.notes)
    assert view.age_band == _expected_age_band(patient["birthDate"])
    assert view.sex == patient["gender"]
    assert view.counts == dict(Counter(r["resourceType"] for r in clinical if _person(r) == who))
    active = [
        _name(r["code"])
        for r in _of_type("Condition")
        if _person(r) == who and r["clinicalStatus"]["coding"][0]["code"] == "active"
    ]
    shown = [c.name or "" for c in view.active_conditions]  # a summary: ten at most
    assert len(shown) == min(len(active), 10)
    assert len(shown) + view.more.get("active_conditions", 0) == len(active)
    assert set(shown) <= set(active)
    meds = [r for r in _of_type("MedicationRequest") if _person(r) == who]
    assert len(view.active_medications) == sum(1 for r in meds if r["status"] == "active")
    weights = [
        r
        for r in _of_type("Observation")
        if _person(r) == who and r["code"]["coding"][0]["code"] == "29463-7"
    ]
    newest = max(weights, key=lambda r: r["effectiveDateTime"])
    weight = next(v for v in view.latest_vitals if v.metric == "body_weight")
    assert weight.value == pytest.approx(newest["valueQuantity"]["value"], abs=1e-3)
    assert weight.source.resource == f"Observation/{newest['id']}"
    assert {v.metric for v in view.latest_vitals} >= {"body_weight", "blood_pressure", "bmi"}
    labs = [
        r
        for r in _of_type("Observation")
        if _person(r) == who and r["category"][0]["coding"][0]["code"] == "laboratory"
    ]
    latest = max(r["effectiveDateTime"][:10] for r in labs)
    that_day = {f"Observation/{r['id']}" for r in labs if r["effectiveDateTime"][:10] == latest}
    shown = [lab for lab in view.recent_labs if lab.date == latest]
    assert shown and {lab.source.resource for lab in shown} <= that_day
    assert len(shown) + view.more.get("recent_labs", 0) == len(that_day)
    assert all(lab.date is not None and lab.date < latest for lab in view.recent_labs[len(shown) :])
    assert all(lab.flag not in ("normal", "unknown") for lab in view.recent_labs[len(shown) :])
    text = view.render()
    assert "Health summary" in text
    assert all(f"{lab.test} {lab.value}" in text for lab in view.recent_labs)
    assert cites_each(text, [lab.source.resource for lab in view.recent_labs])


def _personal_strings() -> set[str]:
    """Names, addresses, phone numbers and identifiers of every Patient in the samples."""
    out: set[str] = set()
    for p in _of_type("Patient"):
        for name in p.get("name", []):
            out.update([*name.get("given", []), name.get("family", "")])
        for addr in p.get("address", []):
            out.update([*addr.get("line", []), addr.get("city", ""), addr.get("postalCode", "")])
        out.update(t["value"] for t in p.get("telecom", []))
        # The resource id is how every item names its person (`patient`); Blue Button also
        # lists it as an identifier (the beneficiary id), so it is the one value allowed.
        out.update(i["value"] for i in p.get("identifier", []) if i["value"] != p["id"])
        out.add(p["birthDate"])
    return {s for s in out if s and len(s) > 1}


@pytest.mark.parametrize("patient", [None, "567834", "c79b748f-a792-4aea-bca5-c7c9c5b188cd"])
def test_health_summary_has_no_name_address_or_identifiers(
    loaded_vault: Vault, patient: str | None
) -> None:
    dump = json.dumps(health_summary(Scope(loaded_vault, patient=patient)).model_dump(mode="json"))
    leaked = [s for s in _personal_strings() if re.search(rf"\b{re.escape(s)}\b", dump)]
    assert leaked == []


def test_health_summary_of_a_file_named_after_the_person_names_no_one(
    loaded_vault: Vault,
) -> None:
    """Synthea's files (and Dexcom Clarity's) are named after the person, and a file's name is
    its default source label: the overview, which promises no name, reads it as a numbered
    import in both channels. A label without a name (a folder's, here) stays as it is."""
    named = SAMPLES / "synthea" / "Adalberto_Hartmann_44ec4447-9e2c-4eb9-bd4f-0bdb416b806e.json"
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [named]).ok
        view = health_summary(vault)
        text, structure = view.render(), json.dumps(view.structured())
        for channel in (text, structure):
            assert "Hartmann" not in channel and "Adalberto" not in channel
            assert "import 1 (label withheld: it holds a name)" in channel
        assert cites_each(text, [c.source.resource for c in view.active_conditions])
    assert "imported as 'synthea'" in health_summary(loaded_vault).render()


def test_health_summary_of_someone_without_clinical_records(loaded_vault: Vault) -> None:
    record = load_json(SAMPLES / "bluebutton" / "patientRead.json")
    view = health_summary(Scope(loaded_vault, patient=f"Patient/{record['id']}"))
    # The synthetic beneficiary "died" on the day of birth: the age band is the age at death.
    assert record["deceasedDateTime"][:10] == record["birthDate"]
    assert (view.sex, view.age_band, view.deceased) == (record["gender"], "under 1", True)
    assert view.counts == {}
    assert view.latest_vitals == []
    assert view.notes == []


def test_health_summary_window(loaded_vault: Vault) -> None:
    whole = health_summary(loaded_vault)
    cut = "2020-01-01"
    recent = health_summary(Scope(loaded_vault, patient=whole.patient, window_start=cut))
    assert sum(recent.counts.values()) < sum(whole.counts.values())
    assert all((lab.date or "") >= cut for lab in recent.recent_labs)
    assert all(v.date >= cut for v in recent.latest_vitals)
    # Active conditions and medications are ongoing: part of any period, however old their onset.
    assert [c.name for c in recent.active_conditions] == [c.name for c in whole.active_conditions]
    assert all(
        c.source in {w.source for w in whole.active_conditions} for c in recent.active_conditions
    )
    assert recent.active_medications == whole.active_medications
    assert recent.withheld is not None
    assert recent.withheld.before == cut
    assert recent.withheld.count >= sum(whole.counts.values()) - sum(recent.counts.values())


@pytest.mark.parametrize(
    ("birth", "band"),
    [
        ("2024-06-01", "under 1"),
        ("2016-01-02", "1-9"),
        ("1980-06-30", "40-49"),
        ("1920-01-01", "90 or older"),
    ],
)
def test_age_bands(birth: str, band: str) -> None:
    assert age_band(birth, date(2025, 1, 1)) == band
    assert age_band("not a date", date(2025, 1, 1)) is None


# --- hand-built edge cases --------------------------------------------------------------------


def test_undated_records_are_hidden_by_a_window_unless_ongoing(
    vault: Vault, tmp_path: Path
) -> None:
    subject = {"reference": "Patient/p1"}
    records = [
        {"resourceType": "Condition", "id": "c1", "subject": subject, "code": {"text": "Asthma"}},
        {
            "resourceType": "Condition",
            "id": "c2",
            "subject": subject,
            "code": {"text": "Old thing"},
            "abatementDateTime": "2001-01-01",
        },
        {
            "resourceType": "Condition",
            "id": "c3",
            "subject": subject,
            "code": {"text": "Ruled out"},
            "verificationStatus": {"coding": [{"code": "refuted"}]},
            "onsetDateTime": "2024-01-01",
        },
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "VR"},
            "subject": subject,
            "period": {"start": "2024-02-02T10:00:00Z"},
            "reasonReference": [{"reference": "Condition/c3"}],
            "location": [{"location": {"display": "Video call"}}],
        },
    ]
    path = tmp_path / "edge.json"
    entries = [{"resource": r} for r in records]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    assert import_paths(vault, [path]).ok
    # No clinical status: active unless it has ended; refuted ones are not active.
    assert [c.name for c in list_conditions(vault).conditions] == ["Asthma"]
    assert list_conditions(vault, status="all").total == 3
    # Asthma has no date, but is still going on: part of any period (issue 14). "Old thing"
    # ended in 2001: inside a period from 2000, outside one from 2002, and counted there.
    assert [
        c.name for c in list_conditions(Scope(vault, window_start="2000-01-01")).conditions
    ] == ["Asthma"]
    later = list_conditions(Scope(vault, window_start="2002-01-01"), status="all")
    assert sorted(c.name or "" for c in later.conditions) == ["Asthma", "Ruled out"]
    assert later.withheld is not None
    assert (later.withheld.count, later.withheld.before) == (1, "2002-01-01")
    assert "1 older condition is outside the period you allowed (before 2002-01-01)" in (
        later.render()
    )
    (visit,) = list_encounters(vault).encounters
    assert (visit.encounter_class, visit.reason, visit.locations) == (
        "virtual",
        "Ruled out",
        ["Video call"],
    )
    assert search_records(vault, query="asthma").total == 1
    assert search_records(Scope(vault, window_start="2000-01-01"), query="asthma").total == 1
    old_thing = search_records(Scope(vault, window_start="2002-01-01"), query="old thing")
    assert old_thing.total == 0
    assert old_thing.withheld is not None and old_thing.withheld.count == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v: list_conditions(v, status="resolved"), "'active' or 'all'"),
        (lambda v: list_immunizations(v, since="2024/01/01"), "ISO date"),
        (lambda v: list_encounters(v, limit=0), "1 to 200"),
        (lambda v: list_encounters(v, since="2024-02-01", until="2024-01-01"), "on or before"),
        (lambda v: search_records(v, query="  "), "1 to 100 characters"),
        (lambda v: search_records(v, query="x", limit=500), "1 to 200"),
        (lambda v: health_summary(Scope(v, window_start="soon")), "ISO date"),
        (lambda v: health_summary(Scope(v, patient="a/b")), "Patient id"),
    ],
)
def test_bad_arguments_raise_value_error(vault: Vault, call: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call(vault)
