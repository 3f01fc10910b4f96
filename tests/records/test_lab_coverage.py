"""The lab catalog explains the labs real documents carry: by code, and by name where a result
has no LOINC code; measured on the tests that real vendor documents and the samples report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.records import list_labs
from healthlocker.records._catalog import CatalogEntry, by_name, convert, entries, lookup
from healthlocker.records._catalog import _name_key as name_key
from healthlocker.store import Vault

DATA = Path(__file__).parent / "data"
LOINC_SYSTEMS = {"2.16.840.1.113883.6.1", "http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"}
Row = tuple[str, str, str, int]


def _rows(group: str) -> list[Row]:
    data: dict[str, list[list[Any]]] = json.loads(
        (DATA / "lab_codes.json").read_text(encoding="utf-8")
    )
    return [(str(c), str(s), str(n), int(k)) for c, s, n, k in data[group]]


def _explained(code: str, system: str, name: str) -> CatalogEntry | None:
    """What list_labs does: the code when it is a LOINC code, else (or failing that) the name."""
    entry = lookup(code) if system in LOINC_SYSTEMS else None
    return entry or by_name(name)


def _share(rows: list[Row]) -> float:
    explained = sum(n for code, system, name, n in rows if _explained(code, system, name))
    return explained / sum(n for *_, n in rows)


# --- measured on real documents ---------------------------------------------------------------


def test_fixture_is_what_it_says() -> None:
    ccda, fhir = _rows("ccda"), _rows("fhir")
    assert sum(n for *_, n in ccda) == 297
    assert sum(n for *_, n in fhir) == 578
    assert ("", "", "", 7) in ccda  # results that carry neither a code nor a name


@pytest.mark.parametrize("group", ["ccda", "fhir"])
def test_at_least_95_percent_of_real_lab_results_are_explained(group: str) -> None:
    assert _share(_rows(group)) >= 0.95


def test_every_vendor_result_with_a_code_or_a_name_is_explained() -> None:
    missing = {
        (code, name)
        for code, system, name, _ in _rows("ccda")
        if (code or name) and not _explained(code, system, name)
    }
    # LOINC's "Laboratory studies (set)" heads a group of results; it names no test.
    assert missing == {("26436-6", "Laboratory Studies")}


@pytest.mark.parametrize(
    ("code", "same_as"),
    [
        ("6598-7", "67151-1"),  # troponin T, conventional and high-sensitivity
        ("30313-1", "718-7"),  # hemoglobin
        ("33765-9", "6690-2"),  # white cells
        ("26464-8", "6690-2"),
        ("14646-4", "2085-9"),  # HDL cholesterol in mmol/L
        ("11579-0", "3016-3"),  # TSH
        ("41653-7", "2339-0"),  # glucose by meter
        ("6777-7", "2345-7"),  # the deprecated serum glucose code vendors still send
        ("14749-6", "2345-7"),
    ],
)
def test_alternative_codes_named_in_the_issue(code: str, same_as: str) -> None:
    entry = lookup(code)
    assert entry is not None
    assert entry is lookup(same_as)
    assert code in entry.codes


@pytest.mark.parametrize(
    "code",
    [
        "5778-6",  # color
        "5767-9",  # appearance
        "5770-3",  # bilirubin
        "20405-7",  # urobilinogen
        "13945-1",  # red cells per high-power field
        "5821-4",  # white cells per high-power field
        "11277-1",  # squamous epithelial cells
        "25145-4",  # bacteria
        "5796-8",  # hyaline casts
        "13362-9",  # how long a timed urine was collected
        "35674-1",  # urine creatinine
    ],
)
def test_urinalysis_and_urine_chemistry_are_explained(code: str) -> None:
    entry = lookup(code)
    assert entry is not None
    assert entry.panel in ("Urinalysis", "Urine chemistry")
    assert "urine" in entry.about.lower()


def test_hdl_in_mmol_converts_to_the_catalog_unit() -> None:
    hdl = lookup("14646-4")
    assert hdl is not None
    assert convert(1.0, "mmol/L", hdl) == pytest.approx(38.67)


def test_troponin_t_in_either_unit() -> None:
    tnt = lookup("6598-7")
    assert tnt is not None
    assert convert(0.01, "ng/mL", tnt) == pytest.approx(10)
    assert convert(14, "ng/L", tnt) == 14


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("HGB", "718-7"),
        ("Hemoglobin", "718-7"),
        ("WBC", "6690-2"),
        ("W.B.C.", "6690-2"),
        ("  white   blood cell COUNT ", "6690-2"),
        ("Hemoglobin [Mass/volume] in Blood", "718-7"),
        ("Leukocytes [#/volume] in Blood by Automated count", "6690-2"),
        ("Urea nitrogen, Serum", "3094-0"),
        ("Hematocrit, Whole Blood", "4544-3"),
        ("Neutrophils %", "770-8"),
        ("Neut #", "751-8"),
        ("TSH", "3016-3"),
        ("HbA1c", "4548-4"),
        ("POC Glucose", "2339-0"),
        ("Troponin T", "67151-1"),
        ("Malb/Cr", "9318-7"),
        ("TIME SPAN", "13362-9"),
    ],
)
def test_by_name_reads_vendor_spellings(name: str, code: str) -> None:
    entry = by_name(name)
    assert entry is not None
    assert entry.loinc == code


def test_a_variant_answers_as_its_main_test_but_keeps_its_own_name() -> None:
    # BUN is an alias of serum and of whole-blood urea nitrogen: one test, two specimens.
    assert by_name("BUN") is lookup("3094-0")
    assert by_name("Urea nitrogen (whole blood)") is lookup("6299-2")
    # A test's own name wins over another test's alias ("urea" is also an alias of BUN).
    assert by_name("Urea") is lookup("22664-7")


@pytest.mark.parametrize(
    "name",
    ["RAST", "specific IgE", "HCO3", "Blood", "Laboratory Studies", "no such test", "", "x" * 300],
)
def test_by_name_gives_none_rather_than_a_guess(name: str) -> None:
    assert by_name(name) is None
    assert by_name(None) is None


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.loinc)
def test_every_test_answers_to_its_own_name_in_any_case(entry: CatalogEntry) -> None:
    assert by_name(entry.name) is entry
    assert by_name(f" {entry.name.upper()}.") is entry


def _main(entry: CatalogEntry) -> str:
    return entry.variant_of or entry.loinc


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.loinc)
def test_every_alias_finds_its_test_unless_another_test_shares_it(entry: CatalogEntry) -> None:
    for alias in entry.aliases:
        found = by_name(alias)
        sharing = [e for e in entries() if name_key(alias) in {name_key(a) for a in e.aliases}]
        if found is None:
            assert len({_main(e) for e in sharing}) > 1, alias
        elif found.name.lower() != alias:
            assert found.loinc == (entry.loinc if len(sharing) == 1 else _main(entry)), alias


# --- through list_labs ------------------------------------------------------------------------


def _observation(oid: str, name: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": "urn:oid:1.2.3.4.5", "code": f"LOCAL-{oid}", "display": name}]
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-01",
        "valueQuantity": {"value": value, "unit": unit},
        **extra,
    }


def _about(code: str) -> str:
    entry = lookup(code)
    assert entry is not None
    return entry.about


def test_results_with_only_a_local_code_are_explained_by_name(vault: Vault, tmp_path: Path) -> None:
    potassium_range = [
        {"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.1, "unit": "mmol/L"}}
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}},
            {"resource": _observation("a", "HGB", 13.1, "g/dL")},
            {"resource": _observation("b", "Glucose", 450, "mg/dL")},
            {
                "resource": _observation(
                    "c", "Potassium", 7.0, "mmol/L", referenceRange=potassium_range
                )
            },
            {"resource": _observation("d", "Specific IgE", 2.0, "kU/L")},
        ],
    }
    path = tmp_path / "local-codes.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    report = import_paths(vault, [path])
    assert report.ok, [f.error for f in report.files if f.error]

    results = {r.test: r for r in list_labs(vault).results}
    assert results["HGB"].about == _about("718-7")
    assert results["HGB"].loinc is None
    # A name explains the test; it never brings a typical range, a flag or a critical notice.
    glucose = results["Glucose"]
    assert glucose.about == _about("2345-7")
    assert (glucose.reference_range, glucose.flag, glucose.notice) == (None, "unknown", None)
    potassium = results["Potassium"]
    assert potassium.about == _about("2823-3")
    assert potassium.reference_range is not None
    assert potassium.reference_range.kind == "lab"
    assert (potassium.flag, potassium.notice) == ("high", None)
    # A name that more than one test answers to is left unexplained.
    assert results["Specific IgE"].about is None
