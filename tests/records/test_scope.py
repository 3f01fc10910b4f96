"""The consent scope: what a call may read, what it leaves out, and that every catalogued tool
reads only through it -- a property test per tool over the bundled records."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthlocker.catalogue import TOOLS, ToolSpec
from healthlocker.errors import ArgumentError
from healthlocker.records import Scope, get_meds, list_conditions, list_labs
from healthlocker.store import StoredResource, Vault, clinical_date, is_dated

PEOPLE = [
    None,
    "ba18818d-faef-44cd-9744-b12d8973d402",
    "c79b748f-a792-4aea-bca5-c7c9c5b188cd",
    "567834",  # the Blue Button beneficiary
]
# Arguments worth trying per tool (anything else is its defaults).
ARGUMENTS: dict[str, list[dict[str, Any]]] = {
    "list_labs": [{}, {"test": "glucose"}, {"test": "2339-0", "limit": 5}, {"abnormal_only": True}],
    "get_meds": [{}, {"status": "all"}],
    "explain_coverage": [{}, {"since": date(2015, 1, 1)}],
    "summarize_trends": [
        {"metric": "body_weight"},
        {"metric": "blood_pressure"},
        {"metric": "glucose"},
        {"metric": "heart_rate", "since": date(2018, 1, 1)},
    ],
    "list_conditions": [{}, {"status": "all"}],
    "list_immunizations": [{}],
    "list_visits": [{}, {"limit": 200}],
    "search_records": [{"query": "glucose"}, {"query": "influenza"}, {"query": "pain"}],
    "health_summary": [{}],
    "list_documents": [{}, {"kind": "imaging"}, {"since": date(2015, 1, 1), "limit": 5}],
    # The bundled records hold no documents: tests/records/test_documents.py checks the window
    # of both document tools over a vault that has some.
    "read_document": [{"id": "DocumentReference/none"}],
    "condition_overview": [{}, {"condition": "high blood pressure"}, {"condition": "diabetes"}],
}


class FakeReader:
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.stored = [StoredResource(i, "s", "test", r) for i, r in enumerate(resources)]

    def resources(self, resource_type: str, **_: Any) -> list[StoredResource]:
        return [s for s in self.stored if s.resource_type == resource_type]


def _cond(cid: str, who: str, onset: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{who}"},
        "code": {"text": cid},
        "onsetDateTime": onset,
        **extra,
    }


def test_a_scope_reads_its_period_and_person_and_counts_the_rest() -> None:
    reader = FakeReader(
        [
            {"resourceType": "Patient", "id": "a"},
            {"resourceType": "Patient", "id": "b"},
            _cond("new", "a", "2024-03-01"),
            _cond("old", "a", "2010-03-01", abatementDateTime="2011-01-01"),
            _cond("going-on", "a", "2010-03-01"),
            _cond("theirs", "b", "2024-03-01"),
            {"resourceType": "Practitioner", "id": "dr"},
        ]
    )
    scope = Scope(reader, window_start=date(2024, 1, 1), patient="a")
    assert scope.window_start == "2024-01-01"
    shown = [s.id for s in scope.resources("Condition")]
    assert shown == ["new", "going-on"]  # ongoing state belongs to any period
    assert [s.id for s in scope.lookup("Practitioner")] == ["dr"]  # reference data: always
    assert [s.id for s in scope.lookup("Patient")] == ["a"]
    withheld = scope.withheld()
    assert withheld is not None
    assert (withheld.count, withheld.before, withheld.other_people) == (2, "2024-01-01", 1)
    assert withheld.by_kind == {"conditions": 2}
    assert withheld.note == (
        "1 older condition is outside the period you allowed (before 2024-01-01); 1 record "
        "about other people in the vault is not shown (this answer is about Patient/a)."
    )
    assert scope.people() == ["Patient/a", "Patient/b"]


def test_lookups_and_what_a_view_does_not_keep_are_not_counted() -> None:
    reader = FakeReader([_cond("old", "a", "2010-03-01", abatementDateTime="2011-01-01")])
    scope = Scope(reader, window_start="2024-01-01")
    assert scope.lookup("Condition") == []
    assert scope.resources("Condition", where=lambda s: s.id == "other") == []
    assert scope.withheld() is None
    assert scope.resources("Condition") == []
    assert scope.withheld() is not None


def test_a_plain_reader_is_every_record_of_everyone(loaded_vault: Vault) -> None:
    assert list_labs(loaded_vault).total == list_labs(Scope(loaded_vault)).total
    assert list_labs(loaded_vault).withheld is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"window_start": "2024/01/31"}, "window_start must be an ISO date like 2024-01-31"),
        ({"window_start": 20240131}, "window_start must be an ISO date"),
        ({"patient": "a/b"}, "patient must be a Patient id"),
    ],
)
def test_a_bad_window_or_person_is_an_argument_error(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        Scope(FakeReader([]), **bad)


def test_a_view_that_picks_a_person_counts_the_others_it_leaves_out(loaded_vault: Vault) -> None:
    every = get_meds(loaded_vault, status="all")
    view = list_conditions(Scope(loaded_vault, patient=PEOPLE[1]), status="all")
    assert view.withheld is not None
    assert view.withheld.other_people == view.withheld.count > 0
    assert every.withheld is None


# --- every catalogued tool reads only through its scope: a property test per tool -----------


@functools.cache
def _stored(vault: Vault) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in vault.iter_all()}


def _cited(value: Any) -> set[str]:
    """The stored resources an answer cites (its ``source`` references)."""
    if isinstance(value, dict):
        own = {value["resource"]} if {"resource", "origin"} <= set(value) else set()
        return own.union(*(_cited(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_cited(v) for v in value))
    return set()


def _ends(value: Any) -> list[str]:
    """Every ``end`` date anywhere in a record (periods of all kinds)."""
    if isinstance(value, dict):
        own = [value["end"]] if isinstance(value.get("end"), str) else []
        return own + [e for v in value.values() for e in _ends(v)]
    if isinstance(value, list):
        return [e for v in value for e in _ends(v)]
    return []


def _status(r: dict[str, Any], key: str) -> str | None:
    codings = (r.get(key) or {}).get("coding") or [{}]
    return codings[0].get("code")


def _ongoing(r: dict[str, Any], start: str) -> bool:
    """Ongoing state as issue 14 lists it (a little wider than the scope, never narrower)."""
    kind, ends = r["resourceType"], [e[:10] for e in _ends(r)]
    if kind in ("MedicationRequest", "MedicationStatement", "Coverage"):
        live = r.get("status") in ("active", "on-hold", "intended")
        return any(e >= start for e in ends) or (live and not ends)
    if kind == "AllergyIntolerance":
        return _status(r, "clinicalStatus") in (None, "active")
    if kind == "Condition":
        ended = r.get("abatementDateTime")
        return ended is None or ended[:10] >= start
    return False


def _outside(r: dict[str, Any], start: str) -> bool:
    if not is_dated(r["resourceType"]) or _ongoing(r, start):
        return False
    return (clinical_date(r) or "")[:10] < start


@pytest.mark.parametrize("spec", TOOLS, ids=[t.name for t in TOOLS])
def test_every_tool_reads_only_its_window_and_says_what_it_left_out(
    loaded_vault: Vault, spec: ToolSpec
) -> None:
    stored = _stored(loaded_vault)

    @settings(max_examples=15)
    @given(
        start=st.dates(date(1990, 1, 1), date(2023, 12, 31)),
        extra=st.sampled_from(ARGUMENTS[spec.name]),
        person=st.sampled_from(PEOPLE),
    )
    def check(start: date, extra: dict[str, Any], person: str | None) -> None:
        args = spec.input(**extra, patient=person)
        try:
            full = spec.answer(Scope(loaded_vault, patient=person), args)
        except ArgumentError:  # e.g. a metric this person has no data for: nothing to check
            return
        windowed = spec.answer(Scope(loaded_vault, window_start=start, patient=person), args)
        day = start.isoformat()
        leaked = [ref for ref in _cited(windowed.model_dump()) if _outside(stored[ref], day)]
        assert leaked == []
        hidden = [ref for ref in _cited(full.model_dump()) if _outside(stored[ref], day)]
        if hidden:  # the window hid records the answer would otherwise show: it says so
            assert windowed.withheld is not None
            assert windowed.withheld.before == day
            assert windowed.withheld.count - windowed.withheld.other_people > 0
            assert f"outside the period you allowed (before {day})" in windowed.render()

    check()
