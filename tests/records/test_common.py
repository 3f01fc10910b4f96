"""The helpers every view shares: argument checks, references, names and numbers for reading."""

from __future__ import annotations

from typing import Any

import pytest

from healthlocker.people import patient_of, ref_id
from healthlocker.records import Scope, SourceRef, VitalSign, summarize_trends
from healthlocker.records._common import (
    check_count,
    check_date,
    check_patient,
    check_span,
    contained,
    fmt_money,
    fmt_number,
    human_name,
)
from healthlocker.records._scope import Resolver
from healthlocker.records._text import Cites
from healthlocker.store import StoredResource, Vault
from helpers import short_ref

SOURCE = SourceRef(resource="Observation/1", origin="test")


class FakeReader:
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.stored = [StoredResource(i, "s", "test", r) for i, r in enumerate(resources)]
        self.calls: list[str] = []

    def resources(self, resource_type: str, **_: Any) -> list[StoredResource]:
        self.calls.append(resource_type)
        return [s for s in self.stored if s.resource_type == resource_type]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (174.8219, "175"),
        (86.686, "86.7"),
        (5.4321, "5.43"),
        (0.012345, "0.0123"),
        (8123.4, "8,123"),
        (1234567.891, "1,234,568"),
        (-1.2345, "-1.23"),
        (-0.0, "0"),
        (0, "0"),
        (12.0, "12"),
        (99.96, "100"),
        (None, "?"),
    ],
)
def test_fmt_number_keeps_three_significant_digits_and_every_whole_digit(
    value: float | None, shown: str
) -> None:
    assert fmt_number(value) == shown


def test_fmt_money_groups_thousands_with_two_decimals() -> None:
    assert fmt_money(1234.5, "USD") == "$1,234.50"
    assert fmt_money(-3.456, None) == "-$3.46"
    assert fmt_money(1234.5, "EUR") == "1,234.50 EUR"


def test_vital_signs_read_rounded_and_blood_pressure_in_whole_mmhg() -> None:
    weight = VitalSign(
        metric="body_weight",
        value=86.686,
        value2=None,
        unit="kg",
        unit_text="kg",
        date="2020-01-01",
        source=SOURCE,
    )
    pressure = weight.model_copy(
        update={
            "metric": "blood_pressure",
            "value": 128.7757,
            "value2": 72.2993,
            "unit": "mm[Hg]",
            "unit_text": "mmHg",
        }
    )
    cite = Cites([SOURCE])
    assert weight.line(cite) == f"Body weight 86.7 kg on 2020-01-01 [{short_ref(SOURCE.resource)}]"
    assert pressure.line(cite).startswith("Blood pressure 129/72 mmHg on 2020-01-01")
    assert pressure.value == 128.7757  # structured content keeps the value as measured


def test_trend_text_is_rounded_and_structured_stats_to_the_precision_recorded(
    loaded_vault: Vault,
) -> None:
    view = summarize_trends(loaded_vault, metric="blood_pressure")
    assert view.stats.mean is not None
    text = view.render()
    assert f"mean {fmt_number(view.stats.mean)} mmHg" in text
    assert str(view.stats.mean) not in text
    # The mean of the points, to 4 decimals and 6 significant digits at most (no float tails).
    mean = round(sum(p.value for p in view.points) / len(view.points), 4)
    assert view.stats.mean == float(f"{mean:.6g}")


def test_argument_checks() -> None:
    assert check_date("2024-02-29", "since") == "2024-02-29"
    assert check_date(None, "since") is None
    for bad in ("2023-02-29", "2024-01-31T10:00:00", "20240131", 20240131):
        with pytest.raises(ValueError, match="since must be an ISO date like 2024-01-31"):
            check_date(bad, "since")
    assert check_span("2024-01-01", "2024-01-01") == ("2024-01-01", "2024-01-01")
    with pytest.raises(ValueError, match="since must be on or before until"):
        check_span("2024-01-02", "2024-01-01")
    assert check_count(5, "limit", 1, 5) == 5
    for bad_count in (0, 6, True, "3", 2.0):
        with pytest.raises(ValueError, match="limit must be a whole number from 1 to 5"):
            check_count(bad_count, "limit", 1, 5)
    assert check_patient(" Patient/abc-1 ") == "Patient/abc-1"
    # A bare id may be a person's or a Patient's: the scope tells which (test_people_scope.py).
    assert check_patient("abc.1") == "abc.1"
    assert (check_patient("person-2"), check_patient("owner")) == ("person-2", "owner")
    for bad_id in ("", "a/b", "Patient/../x", "x" * 65):
        with pytest.raises(ValueError, match="Patient id"):
            check_patient(bad_id)


def test_references() -> None:
    assert ref_id("Patient/1", "Patient") == "1"
    assert ref_id({"reference": "https://fhir.example/r4/Patient/1/_history/3"}, "Patient") == "1"
    assert ref_id("Practitioner/1", "Patient") is None
    assert ref_id("#p1", "Patient") is None
    assert patient_of({"subject": {"reference": "Patient/2?x=1"}}) == "Patient/2"
    assert patient_of({"beneficiary": {"reference": "Patient/3"}}) == "Patient/3"
    assert patient_of({"subject": {"reference": "Group/1"}}) is None
    eob = {"contained": [{"id": "c1", "resourceType": "Coverage"}, "junk"]}
    assert contained(eob, "#c1") == {"id": "c1", "resourceType": "Coverage"}
    assert contained(eob, "#c2") is None


def test_human_names() -> None:
    assert human_name({"name": "Acme Clinic"}) == "Acme Clinic"
    assert human_name({"name": ""}) is None
    assert human_name({"name": [{"prefix": ["Dr."], "given": ["Ann"], "family": "Lee"}]}) == (
        "Dr. Ann Lee"
    )
    assert human_name({"name": [{"text": "Ann Lee", "given": ["X"]}]}) == "Ann Lee"
    assert human_name({"name": [{"prefix": None, "family": "Lee"}]}) == "Lee"
    assert human_name({"name": [{}, {"family": "Second"}]}) == "Second"


def test_resolver_names_parties_and_loads_each_type_once() -> None:
    reader = FakeReader(
        [
            {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Lee"}]},
            {"resourceType": "Organization", "id": "o1", "name": "Acme"},
        ]
    )
    resolve = Resolver(Scope(reader, window_start="2024-01-01"))
    assert resolve.party("Practitioner/p1") == "Lee"
    assert resolve.party("https://fhir.example/Organization/o1") == "Acme"
    assert resolve.party("Organization/p1") is None
    assert resolve.name({"display": "Shown", "reference": "Practitioner/p1"}, "Practitioner") == (
        "Shown"
    )
    assert resolve.party("Practitioner/p1") == "Lee"
    assert reader.calls.count("Practitioner") == 1
