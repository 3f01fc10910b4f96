"""The lab catalog: its data is sane, lookups and search work, units convert correctly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.records import _catalog
from healthlocker.records._catalog import (
    Bounds,
    CatalogEntry,
    catalog,
    convert,
    entries,
    interpretation_flag,
    lookup,
    normalize_unit,
    qualitative_flag,
    search,
)
from helpers import SAMPLES, load_json


def _raw() -> dict[str, Any]:
    text = resources.files("healthlocker.records").joinpath("lab_catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _ranges(entry: CatalogEntry) -> list[Bounds]:
    if entry.range is not None:
        return [entry.range]
    return list((entry.sex_ranges or {}).values())


def _fixture_lab_units() -> set[tuple[str, str]]:
    """(LOINC, unit) of every quantitative laboratory Observation in the Synthea samples."""
    found = set()
    for path in sorted((SAMPLES / "synthea").glob("*.json")):
        for item in load_json(path)["entry"]:
            res = item["resource"]
            if res["resourceType"] != "Observation":
                continue
            cats = {c["code"] for cat in res.get("category", []) for c in cat.get("coding", [])}
            if "laboratory" in cats:
                code = next(c["code"] for c in res["code"]["coding"] if "loinc" in c["system"])
                found.add((code, res["valueQuantity"]["code"]))
    return found


# --- the data ---------------------------------------------------------------------------------


def test_catalog_holds_every_test_of_the_file() -> None:
    raw = _raw()["tests"]
    assert len(entries()) == len(raw) >= 80
    assert [e.loinc for e in entries()] == [t["loinc"] for t in raw]


def test_catalog_is_loaded_once() -> None:
    assert catalog() is catalog()
    assert _catalog.catalog.cache_info().misses == 1


def test_codes_are_unique_across_primary_and_alternative() -> None:
    codes = [code for entry in entries() for code in entry.codes]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.loinc)
def test_every_test_is_explained_and_sourced(entry: CatalogEntry) -> None:
    assert entry.name.strip()
    assert len(entry.about) > 40
    assert entry.unit
    assert entry.units[entry.unit] == 1
    assert all(math.isfinite(f) and f > 0 for f in entry.units.values())
    assert entry.sources
    assert set(entry.sources) <= set(catalog().sources)
    assert all(alias == alias.lower() for alias in entry.aliases)


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.loinc)
def test_ranges_are_sane(entry: CatalogEntry) -> None:
    for bounds in _ranges(entry):
        if bounds.low is not None and bounds.high is not None:
            assert bounds.low < bounds.high
        if bounds.low is not None:
            assert bounds.low >= 0
    if entry.range_text is not None:
        assert entry.range is None
        assert entry.sex_ranges is None
    if entry.critical is None:
        return
    assert not entry.critical.empty
    for bounds in _ranges(entry):
        if entry.critical.low is not None and bounds.low is not None:
            assert entry.critical.low < bounds.low
        if entry.critical.high is not None and bounds.high is not None:
            assert entry.critical.high > bounds.high


def test_every_synthea_lab_code_is_catalogued_with_its_unit() -> None:
    pairs = _fixture_lab_units()
    assert pairs
    for code, unit in pairs:
        entry = lookup(code)
        assert entry is not None, code
        assert convert(1.0, unit, entry) is not None, (code, unit)


# --- lookup and search ------------------------------------------------------------------------


def test_lookup_by_primary_and_alternative_code() -> None:
    wbc = next(e for e in entries() if e.alt_loinc)
    assert lookup(wbc.loinc) is wbc
    assert all(lookup(code) is wbc for code in wbc.alt_loinc)
    assert lookup(f" {wbc.loinc} ") is wbc
    assert lookup("0000-0") is None
    assert lookup(None) is None
    assert lookup("") is None


@pytest.mark.parametrize("entry", entries()[:20], ids=lambda e: e.loinc)
def test_search_finds_a_test_by_code_name_and_alias(entry: CatalogEntry) -> None:
    assert search(entry.loinc)[0] is entry
    assert entry in search(entry.name.upper())
    for alias in entry.aliases:
        assert entry in search(alias)


def test_search_puts_exact_matches_first_and_matches_parts() -> None:
    glucose = lookup("2345-7")
    found = search("glucose")
    assert found[0] is glucose
    assert len(found) > 1
    assert all("glucose" in (e.name + " ".join(e.aliases)).lower() for e in found)
    assert {e.loinc for e in search("LDL")} >= {"13457-7", "18262-6"}
    assert search("   ") == []
    assert search("no such test at all") == []


# --- typical ranges ---------------------------------------------------------------------------


def test_sex_specific_ranges() -> None:
    hgb = lookup("718-7")
    assert hgb is not None
    assert hgb.sex_ranges is not None
    male, female = hgb.sex_ranges["male"], hgb.sex_ranges["female"]
    assert hgb.typical_range("male") == male
    assert hgb.typical_range("female") == female
    union = hgb.typical_range(None)
    assert union == Bounds(
        low=min(male.low or 0, female.low or 0), high=max(male.high or 0, female.high or 0)
    )
    assert "for women" in (hgb.describe_range("female") or "")
    assert "sex not recorded" in (hgb.describe_range("unknown") or "")


def test_sex_without_a_typical_range_is_not_flagged() -> None:
    estradiol = lookup("2243-4")
    assert estradiol is not None
    assert estradiol.typical_range("female") is None
    assert estradiol.typical_range(None) is None
    assert estradiol.typical_range("male") is not None


def test_qualitative_tests_have_expected_text_not_numbers() -> None:
    nitrite = lookup("5802-4")
    assert nitrite is not None
    assert nitrite.typical_range() is None
    assert nitrite.describe_range() == f"typical result: {nitrite.range_text}"


def test_one_sided_ranges_describe_themselves() -> None:
    assert Bounds(low=None, high=199).describe() == "≤ 199"
    assert Bounds(low=60, high=None).describe() == "≥ 60"
    assert Bounds(low=70, high=99).describe() == "70–99"
    assert Bounds().classify(5) is None
    assert Bounds(low=None, high=199).classify(250) == "high"
    assert Bounds(low=60, high=None).classify(30) == "low"


def test_critical_limits() -> None:
    potassium = lookup("2823-3")
    assert potassium is not None
    assert potassium.critical is not None
    assert potassium.critical.high is not None
    assert potassium.past_critical(potassium.critical.high + 0.1)
    assert not potassium.past_critical(potassium.critical.high)
    assert not potassium.past_critical(None)
    mcv = lookup("787-2")
    assert mcv is not None
    assert not mcv.past_critical(1000)


# --- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "ucum"),
    [
        ("mg/dl", "mg/dL"),
        ("MG/DL", "mg/dL"),
        ("mmol/l", "mmol/L"),
        ("K/uL", "10*3/uL"),
        ("x10E3/uL", "10*3/uL"),
        ("10^9/L", "10*9/L"),
        ("M/uL", "10*6/uL"),
        ("µmol/L", "umol/L"),
        ("g/l", "g/L"),
        ("mm/hr", "mm/h"),
        ("sec", "s"),
        (" % ", "%"),
        ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
    ],
)
def test_normalize_unit(spelling: str, ucum: str) -> None:
    assert normalize_unit(spelling) == ucum


def test_glucose_mmol_and_mg() -> None:
    glucose = lookup("2345-7")
    assert glucose is not None
    factor = glucose.units["mmol/L"]
    assert convert(5.5, "mmol/L", glucose) == pytest.approx(5.5 * factor)
    assert convert(5.5, "mmol/L", glucose) == pytest.approx(99.1, abs=0.1)
    assert convert(100, "mg/dL", "mmol/L", entry=glucose) == pytest.approx(5.55, abs=0.01)
    assert convert(5.5, "mmol/l", glucose) == convert(5.5, "mmol/L", glucose)


def test_cholesterol_mmol_and_mg() -> None:
    chol = lookup("2093-3")
    assert chol is not None
    assert convert(5.2, "mmol/L", chol) == pytest.approx(5.2 * chol.units["mmol/L"])
    assert convert(5.2, "mmol/L", chol) == pytest.approx(201, abs=0.5)
    assert convert(200, "mg/dL", "mmol/L", entry=chol) == pytest.approx(5.17, abs=0.01)


def test_counts_and_same_dimension_units_convert_without_an_entry() -> None:
    assert convert(5.6, "K/uL", "10*3/uL") == 5.6
    assert convert(5.6, "10*9/L", "10*3/uL") == pytest.approx(5.6)
    assert convert(5600, "/uL", "10*3/uL") == pytest.approx(5.6)
    assert convert(1.0, "g/dL", "mg/dL") == pytest.approx(1000)
    assert convert(70, "g/L", "g/dL") == pytest.approx(7)
    assert convert(88.4, "umol/L", "mmol/L") == pytest.approx(0.0884)


def test_inconvertible_units_give_none() -> None:
    glucose = lookup("2345-7")
    assert glucose is not None
    assert convert(5.5, "mmol/L", "mg/dL") is None  # needs the analyte's molar mass
    assert convert(5.5, "mg", glucose) is None
    assert convert(5.5, "%", glucose) is None
    assert convert(5.5, None, glucose) is None
    assert convert(math.nan, "mg/dL", glucose) is None
    assert convert(5.5, "furlongs/fortnight", "mg/dL") is None


def test_a_unit_the_entry_does_not_list_converts_by_dimension() -> None:
    glucose = lookup("2345-7")
    assert glucose is not None
    assert "g/dL" not in glucose.units
    assert convert(0.1, "g/dL", glucose) == pytest.approx(100)


_PAIRS = [(e, a, b) for e in entries() for a in e.units for b in e.units]


@given(pair=st.sampled_from(_PAIRS), value=st.floats(min_value=1e-6, max_value=1e6))
def test_conversion_round_trips(pair: tuple[CatalogEntry, str, str], value: float) -> None:
    entry, a, b = pair
    there = convert(value, a, b, entry=entry)
    assert there is not None
    back = convert(there, b, a, entry=entry)
    assert back == pytest.approx(value, rel=1e-9)


@given(pair=st.sampled_from(_PAIRS), value=st.floats(min_value=0, max_value=1e6))
def test_conversion_to_canonical_uses_the_factor(
    pair: tuple[CatalogEntry, str, str], value: float
) -> None:
    entry, unit, _ = pair
    assert convert(value, unit, entry) == pytest.approx(value * entry.units[unit], rel=1e-9)


# --- flags vocabulary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "flag"),
    [
        ("L", "low"),
        ("LU", "low"),
        ("H", "high"),
        ("HU", "high"),
        ("LL", "critical"),
        ("HH", "critical"),
        ("AA", "critical"),
        ("N", "normal"),
        ("A", "abnormal"),
        ("POS", "abnormal"),
        ("NEG", "normal"),
        ("h", "high"),
        ("IND", None),
    ],
)
def test_interpretation_codes(code: str, flag: str | None) -> None:
    system = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    assert interpretation_flag([{"coding": [{"system": system, "code": code}]}]) == flag


def test_interpretation_text_and_junk() -> None:
    assert interpretation_flag([{"text": "High"}]) == "high"
    assert interpretation_flag([{"text": "looks fine"}]) is None
    assert interpretation_flag(None) is None
    assert interpretation_flag("H") is None
    assert interpretation_flag(["H", {"coding": [{"code": "L"}]}]) == "low"


@pytest.mark.parametrize(
    ("value", "expected", "flag"),
    [
        ("Negative", "Negative", "normal"),
        ("neg", "Negative", "normal"),
        ("Not detected", "negative", "normal"),
        ("Positive", "Negative", "abnormal"),
        ("Trace", "Negative", "abnormal"),
        ("Yellow", "Yellow", "normal"),
        ("Amber", "Yellow", None),
    ],
)
def test_qualitative_flag(value: str, expected: str, flag: str | None) -> None:
    assert qualitative_flag(value, expected) == flag


# --- size, variants, docs and load time -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_catalog_covers_the_common_lab_codes() -> None:
    codes = {code for entry in entries() for code in entry.codes}
    assert len(codes) >= 300
    panels = {entry.panel for entry in entries()}
    for panel in ("Complete blood count", "Urinalysis", "Blood gases", "Drug levels", "Heart"):
        assert panel in panels


def test_a_variant_points_at_a_main_test_in_the_same_unit() -> None:
    variants = [e for e in entries() if e.variant_of]
    assert variants
    for entry in variants:
        main = lookup(entry.variant_of)
        assert main is not None, entry.loinc
        assert main.loinc == entry.variant_of
        assert main.variant_of is None
        assert main.unit == entry.unit
        assert main is not entry


def test_docs_list_every_test_as_the_catalog_has_it() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab_catalog_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = (ROOT / "docs" / "lab-catalog.md").read_text(encoding="utf-8")
    for entry in entries():
        assert f"| {entry.loinc} | " in doc


def test_first_lookup_is_fast() -> None:
    """The catalog is read on first use, inside a tool call: that must stay quick."""
    code = (
        "from healthlocker.records import _catalog; import time; t = time.perf_counter(); "
        "_catalog.lookup('718-7'); print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout) < 0.03
