"""What a Patient says about who they are, and when two Patients are one person."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.people import Demographics, verdict


def _patient(
    given: str | None = "Jane",
    family: str | None = "Smith",
    birth: str | None = "1981-03-17",
    sex: str | None = "female",
    ids: tuple[tuple[str, str], ...] = (),
    **extra: Any,
) -> Demographics:
    r: dict[str, Any] = {"resourceType": "Patient", "id": "x", **extra}
    if given or family:
        r["name"] = [{"given": [given] if given else [], "family": family}]
    if birth:
        r["birthDate"] = birth
    if sex:
        r["gender"] = sex
    if ids:
        r["identifier"] = [{"system": s, "value": v} for s, v in ids]
    return Demographics.of(r)


def test_names_are_compared_as_letters_and_shown_as_initials() -> None:
    d = Demographics.of(
        {
            "resourceType": "Patient",
            "name": [
                {"use": "old", "given": ["Janet"], "family": "Jones"},
                {"use": "official", "given": ["José123", "Maria"], "family": "Smith-Jones"},
            ],
            "birthDate": "1981-03-17",
            "gender": "female",
        }
    )
    assert (d.given, d.family, d.birth, d.sex) == ("jose", "smithjones", "1981-03-17", "female")
    assert d.initials == "J. S."
    assert d.shown() == "J. S., born 1981"


@pytest.mark.parametrize(
    ("name", "family", "given"),
    [
        ({"text": "Doe, John A"}, "doe", "john"),
        ({"text": "John A Doe"}, "doe", "john"),
        ({"family": ["van", "Dyke"], "given": ["Dick"]}, "vandyke", "dick"),  # DSTU2's list
    ],
)
def test_names_written_otherwise(name: dict[str, Any], family: str, given: str) -> None:
    d = Demographics.of({"resourceType": "Patient", "name": [name]})
    assert (d.family, d.given) == (family, given)


def test_what_is_shown_when_little_is_known() -> None:
    assert _patient(given=None, family=None).shown() == "born 1981, female"  # Apple's Me
    assert _patient(given=None, family=None, birth=None).shown() == "female"
    nobody = Demographics.of({"resourceType": "Patient", "gender": "unknown"})
    assert nobody.shown() is None
    assert not nobody.names_someone


@pytest.mark.parametrize(
    ("other", "expected", "differ"),
    [
        (_patient(), "same", set()),
        (_patient(given="J"), "same", set()),  # an initial matches the name
        (_patient(given=None, family=None), "same", set()),  # Apple's Me: birth date and sex
        (_patient(family="Smyth"), "unsure", {"name"}),  # same birth date and sex
        (_patient(birth="1982-03-17"), "unsure", {"birth date"}),  # same name
        (_patient(sex="male"), "unsure", {"sex"}),
        (_patient(birth=None), "unsure", set()),  # only the name to go by
        (_patient("Ann", "Lee", birth="2014-05-02"), "different", {"name", "birth date"}),
        (_patient(given=None, family=None, birth="2014-05-02"), "different", {"birth date"}),
        (_patient(given=None, family=None, birth=None), "unknown", set()),  # only the sex
    ],
)
def test_verdicts(other: Demographics, expected: str, differ: set[str]) -> None:
    assert verdict(_patient(), other) == (expected, differ)


def test_an_identifier_in_common_links_unless_something_differs() -> None:
    mbi = (("http://hl7.org/fhir/sid/us-mbi", "9AB2WW3GR44"),)
    a = _patient(given=None, family=None, birth=None, ids=mbi)
    b = _patient(ids=mbi)
    assert verdict(a, b)[0] == "same"
    # Sample documents reuse example ids for different people: an id alone is not enough.
    assert verdict(_patient(given="Ann", family="Lee", ids=mbi), b) == ("unsure", {"name"})


_FIELD = st.one_of(st.none(), st.sampled_from(["Ann", "Bo", "J"]))
_BIRTH = st.one_of(st.none(), st.sampled_from(["1981-03-17", "1982-01-01", "1981"]))
_SEX = st.one_of(st.none(), st.sampled_from(["male", "female", "unknown"]))


_PATIENT = st.builds(_patient, _FIELD, _FIELD, _BIRTH, _SEX)


@given(_PATIENT, _PATIENT)
def test_a_verdict_does_not_depend_on_the_order(a: Demographics, b: Demographics) -> None:
    assert verdict(a, b) == verdict(b, a)
    assert verdict(a, a)[0] in ("same", "unsure", "unknown")
