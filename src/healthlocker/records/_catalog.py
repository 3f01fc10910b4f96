"""The lab test catalog: plain-language names, typical adult ranges and unit conversion.

The data lives in ``lab_catalog.json`` (documented in ``docs/lab-catalog.md``); it is read once,
on first use. Ranges and critical limits are *typical* adult values in each test's canonical UCUM
unit — never the range of the laboratory that ran a test.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from healthlocker.records._common import fmt_lab
from healthlocker.records._units import dimension
from healthlocker.records._units import normalize_unit as normalize_unit

Flag = Literal["low", "high", "normal", "abnormal", "critical", "unknown"]
CRITICAL_NOTICE = (
    "This result is in a range where laboratories usually contact a clinician urgently. "
    "If you have not already talked with a clinician about it, contact one promptly."
)

# v3 ObservationInterpretation (and HL7 v2 table 0078, which shares these codes).
_INTERPRETATION: dict[str, Flag] = {
    **dict.fromkeys(("L", "LU"), "low"),
    **dict.fromkeys(("H", "HU"), "high"),
    **dict.fromkeys(("LL", "HH", "AA"), "critical"),
    **dict.fromkeys(("N", "NEG", "ND"), "normal"),
    **dict.fromkeys(("A", "POS", "DET"), "abnormal"),
}
_INTERPRETATION_TEXT: dict[str, Flag] = {
    **{flag: flag for flag in ("low", "high", "normal", "abnormal", "critical")},
    **dict.fromkeys(("critically low", "critically high"), "critical"),
}
# Canonical units of pure numbers: a value recorded without a unit can be read in them.
UNITLESS = frozenset({"1", "[pH]", "{INR}", "{ratio}"})
_NEGATIVE = {"neg", "negative", "not detected", "none detected", "nondetected", "absent", "nil"}


class Bounds(BaseModel):
    """A range in the test's canonical unit; a ``None`` bound means no bound on that side."""

    model_config = ConfigDict(frozen=True)
    low: float | None = Field(default=None, description="Lower bound (None: no lower bound)")
    high: float | None = Field(default=None, description="Upper bound (None: no upper bound)")

    @property
    def empty(self) -> bool:
        return self.low is None and self.high is None

    def classify(self, value: float) -> Literal["low", "high", "normal"] | None:
        """Where *value* falls; None when there are no bounds to compare with."""
        if self.empty:
            return None
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "high"
        return "normal"

    def describe(self) -> str:
        """``70–99``, ``≤ 199`` or ``≥ 60``."""
        if self.low is None:
            return f"≤ {fmt_lab(self.high)}"
        if self.high is None:
            return f"≥ {fmt_lab(self.low)}"
        return f"{fmt_lab(self.low)}–{fmt_lab(self.high)}"


class CatalogEntry(BaseModel):
    """One test of the catalog."""

    model_config = ConfigDict(frozen=True)
    loinc: str = Field(description="Primary LOINC code")
    alt_loinc: tuple[str, ...] = Field(description="Other LOINC codes for the same measurement")
    name: str = Field(description="Plain name of the test")
    aliases: tuple[str, ...] = Field(description="Other names and abbreviations, lower case")
    panel: str = Field(description="The group of tests it usually belongs to")
    about: str = Field(description="What the test measures, in plain language")
    unit: str = Field(description="Canonical UCUM unit of the ranges and limits")
    units: dict[str, float] = Field(description="Accepted unit -> factor to the canonical unit")
    range: Bounds | None = Field(description="Typical adult range for everyone, if not by sex")
    sex_ranges: dict[str, Bounds] | None = Field(description="Typical adult ranges by sex")
    range_text: str | None = Field(description="Expected result of a qualitative test")
    critical: Bounds | None = Field(description="Commonly used critical limits")
    sources: tuple[str, ...] = Field(description="Keys of the references behind the values")
    variant_of: str | None = Field(
        default=None,
        description="Primary LOINC of the test this one is a specimen or method variant of "
        "(whole blood for serum, direct for calculated); a name lookup takes the two as one",
    )

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.loinc, *self.alt_loinc)

    @property
    def sex_specific(self) -> bool:
        return self.range is None and self.sex_ranges is not None

    def typical_range(self, sex: str | None = None) -> Bounds | None:
        """The typical range for *sex* (``male``/``female``; anything else: unknown).

        With the sex unknown, a sex-specific test gets the union of both ranges, so only values
        outside both are flagged; a sex without a typical range (both bounds null) gets none.
        """
        if self.range is not None:
            return None if self.range.empty else self.range
        if self.sex_ranges is None:
            return None
        if isinstance(sex, str) and sex in self.sex_ranges:
            chosen = self.sex_ranges[sex]
            return None if chosen.empty else chosen
        both = list(self.sex_ranges.values())
        if any(b.empty for b in both):
            return None
        lows = [b.low for b in both]
        highs = [b.high for b in both]
        return Bounds(
            low=None if None in lows else min(x for x in lows if x is not None),
            high=None if None in highs else max(x for x in highs if x is not None),
        )

    def past_critical(self, value: float | None) -> bool:
        """True when *value* (in the canonical unit) passes a commonly used critical limit."""
        if self.critical is None or value is None:
            return False
        low, high = self.critical.low, self.critical.high
        return (low is not None and value < low) or (high is not None and value > high)

    def describe_range(self, sex: str | None = None) -> str | None:
        """The typical range in words, saying it is typical and whose it is."""
        if self.range_text and self.range is None and self.sex_ranges is None:
            return f"typical result: {self.range_text}"
        bounds = self.typical_range(sex)
        if bounds is None:
            return None
        who = ""
        if self.sex_specific:
            who = {"male": " for men", "female": " for women"}.get(
                str(sex), " (men and women combined; sex not recorded)"
            )
        return f"typical adult range{who}: {bounds.describe()} {self.unit}"


def qualitative_flag(value: str, expected: str) -> Literal["normal", "abnormal"] | None:
    """A text result against an expected text result (``Negative``); None if undecidable."""
    want, got = expected.strip().lower(), value.strip().lower()
    if want in _NEGATIVE:
        return "normal" if got in _NEGATIVE else "abnormal"
    return "normal" if got == want else None


def interpretation_flag(concepts: Any) -> Flag | None:
    """The flag a record's own ``interpretation`` (a list of CodeableConcepts) gives, if any."""
    for concept in concepts if isinstance(concepts, list) else ():
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or ():
            flag = _INTERPRETATION.get(str(coding.get("code", "")).upper())
            if flag:
                return flag
        text = str(concept.get("text") or "").strip().lower()
        if text in _INTERPRETATION_TEXT:
            return _INTERPRETATION_TEXT[text]
    return None


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)
    entries: tuple[CatalogEntry, ...]
    sources: dict[str, dict[str, str]]


def _bounds(raw: Any) -> Bounds | None:
    return None if raw is None else Bounds(low=raw.get("low"), high=raw.get("high"))


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    rng = raw.get("range")
    by_sex = isinstance(rng, dict) and ("male" in rng or "female" in rng)
    return CatalogEntry(
        loinc=raw["loinc"],
        alt_loinc=tuple(raw.get("alt_loinc") or ()),
        name=raw["name"],
        aliases=tuple(raw.get("aliases") or ()),
        panel=raw.get("panel") or "",
        about=raw["about"],
        unit=raw["unit"],
        units={str(k): float(v) for k, v in raw["units"].items()},
        range=None if by_sex else _bounds(rng),
        sex_ranges={k: Bounds(**v) for k, v in rng.items()} if by_sex and rng else None,
        range_text=raw.get("range_text"),
        critical=_bounds(raw.get("critical")),
        sources=tuple(raw.get("sources") or ()),
        variant_of=raw.get("variant_of"),
    )


@cache
def catalog() -> Catalog:
    """The whole catalog, loaded from the package data on first use."""
    text = resources.files("healthlocker.records").joinpath("lab_catalog.json").read_text("utf-8")
    data = json.loads(text)
    return Catalog(
        entries=tuple(_entry(raw) for raw in data["tests"]),
        sources={str(k): dict(v) for k, v in data.get("sources", {}).items()},
    )


@cache
def _by_code() -> dict[str, CatalogEntry]:
    index: dict[str, CatalogEntry] = {}
    for entry in catalog().entries:
        for code in entry.codes:
            index.setdefault(code, entry)
    return index


# A LOINC long name's property in brackets and its method ("by Automated count"), then a
# trailing specimen or filler word, none of which names a different test.
_QUALIFIERS = re.compile(r"\[[^\]]*\]|\s+by\s+.*$", re.IGNORECASE)
_SPECIMEN = re.compile(
    r"[\s,;:(-]*(?:\b(?:in|on)\s+)?(?:serum or plasma|serum/plasma|ser/plas|serpl|serum|plasma|"
    r"whole blood|blood|bld|level|levels)\W*$",
    re.IGNORECASE,
)


def _name_key(name: str) -> str:
    folded = name.lower().replace("%", " percent ").replace("#", " count ")
    return re.sub(r"[^a-z0-9]", "", folded)


def _name_forms(name: str) -> list[str]:
    forms = [name]
    simpler = _QUALIFIERS.sub(" ", name)
    while (shorter := _SPECIMEN.sub("", simpler)) != simpler and shorter.strip():
        simpler = shorter
    if _name_key(simpler) and simpler != name:
        forms.append(simpler)
    return forms


@cache
def _by_name() -> dict[str, CatalogEntry | None]:
    """Name key -> the one test it names (None: more than one test answers to it)."""
    own: dict[str, list[CatalogEntry]] = {}
    other: dict[str, dict[str, CatalogEntry]] = {}
    for entry in catalog().entries:
        own.setdefault(_name_key(entry.name), []).append(entry)
        for alias in entry.aliases:
            other.setdefault(_name_key(alias), {})[entry.loinc] = entry
    index: dict[str, CatalogEntry | None] = {}
    for key, answering in other.items():
        mains = {e.variant_of or e.loinc for e in answering.values()}
        if len(answering) == 1:
            index[key] = next(iter(answering.values()))
        else:
            index[key] = lookup(mains.pop()) if len(mains) == 1 else None
    for key, named in own.items():
        index[key] = named[0] if len(named) == 1 else None
    return index


def entries() -> tuple[CatalogEntry, ...]:
    return catalog().entries


def lookup(loinc: str | None) -> CatalogEntry | None:
    """The catalog entry for a LOINC code (primary or alternative), or None."""
    return _by_code().get(loinc.strip()) if loinc else None


def by_name(name: str | None) -> CatalogEntry | None:
    """The entry whose name or an alias is *name*, when exactly one test answers to it.

    Case, spaces and punctuation do not count (``W.B.C.`` is ``wbc``; ``%`` reads as
    ``percent``). A name given as LOINC words it: ``Hemoglobin [Mass/volume] in Blood by
    Automated count`` is also tried as ``Hemoglobin``. A test's own name wins over another's
    alias; an alias that a test shares with its specimen or method variants names the main
    test; a name that two different tests answer to (``RAST``) gives None, not a guess.
    """
    if not name or len(name) > 200:
        return None
    index = _by_name()
    for form in _name_forms(name):
        key = _name_key(form)
        if key in index:
            return index[key]
    return None


def search(text: str) -> list[CatalogEntry]:
    """Entries whose code, name or an alias matches *text* (case-insensitive part of a name).

    Exact matches (code, name, alias) come first, then the rest in catalog order.
    """
    needle = " ".join(text.lower().split())
    if not needle:
        return []
    exact, partial = [], []
    for entry in catalog().entries:
        names = [entry.name.lower(), *(a.lower() for a in entry.aliases)]
        if needle in entry.codes or needle in names:
            exact.append(entry)
        elif any(needle in name for name in names):
            partial.append(entry)
    return exact + partial


def _factor(entry: CatalogEntry, unit: str | None) -> float | None:
    if unit is None:
        return None
    if unit in entry.units:
        return entry.units[unit]
    norm = normalize_unit(unit)
    if norm in entry.units:
        return entry.units[norm]
    folded = [k for k in entry.units if k.lower() in (unit.strip().lower(), str(norm).lower())]
    if len(folded) == 1:
        return entry.units[folded[0]]
    # Same-dimension units the catalog does not list (say g/L for a test listed in mg/dL).
    canonical = dimension(entry.unit)
    theirs = dimension(norm or "")
    if canonical and theirs and canonical[0] == theirs[0]:
        return theirs[1] / canonical[1]
    return None


def convert(
    value: float,
    from_unit: str | None,
    to: str | CatalogEntry,
    *,
    entry: CatalogEntry | None = None,
) -> float | None:
    """*value* in *from_unit* expressed in *to* (a unit, or a catalog entry's canonical unit).

    Conversions between amount-of-substance and mass (mmol/L ↔ mg/dL) need the analyte: pass a
    catalog entry, as *to* or as *entry*. Returns None when the units are not convertible.
    """
    if isinstance(to, CatalogEntry):
        entry, to_unit = to, to.unit
    else:
        to_unit = to
    if not math.isfinite(value) or from_unit is None:
        return None
    src, dst = normalize_unit(from_unit), normalize_unit(to_unit)
    if src is None or dst is None:
        return None
    if src == dst:
        return value
    if entry is not None:
        f_src, f_dst = _factor(entry, from_unit), _factor(entry, to_unit)
        if f_src is not None and f_dst is not None:
            return value * f_src / f_dst
    a, b = dimension(src), dimension(dst)
    if a and b and a[0] == b[0]:
        return value * a[1] / b[1]
    return None
