"""Lab results: laboratory Observations as plain results with ranges, flags and explanations.

Flags follow ``docs/lab-catalog.md``: the record's own interpretation wins, then the record's own
reference range; only a record without a range is compared with the catalog's *typical* adult
range, and says so. Commonly used critical limits add a notice to contact a clinician.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from healthlocker.records._catalog import (
    CRITICAL_NOTICE,
    UNITLESS,
    Bounds,
    CatalogEntry,
    Flag,
    convert,
    fmt,
    interpretation_flag,
    lookup,
    qualitative_flag,
    search,
)
from healthlocker.records._common import (
    LOINC,
    Reader,
    RecordText,
    SourceRef,
    clean,
    concept_code,
    concept_name,
    day,
    later_of,
    record_text,
    source_of,
)
from healthlocker.store import StoredResource

MAX_LIMIT = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class ReferenceRange(BaseModel):
    """The range a result was compared with."""

    low: float | None = Field(default=None, description="Lower bound (None: no lower bound)")
    high: float | None = Field(default=None, description="Upper bound (None: no upper bound)")
    unit: str | None = Field(default=None, description="Unit of low and high")
    text: str | None = Field(default=None, description="The range in words")
    kind: Literal["lab", "typical"] = Field(
        description="'lab': the laboratory's own range from the record; 'typical': a typical "
        "adult range from healthlocker's catalog, not the lab's — say so when citing it"
    )


class LabResult(BaseModel):
    """One lab result (a panel's components are separate results)."""

    test: str = Field(description="Test name as recorded")
    loinc: str | None = Field(description="LOINC code, if the record has one")
    value: float | None = Field(description="Numeric result, in `unit`")
    comparator: str | None = Field(default=None, description="'<', '<=', '>=' or '>' if any")
    value_text: str | None = Field(description="Non-numeric result (e.g. 'Negative')")
    unit: str | None = Field(description="Unit as recorded")
    reference_range: ReferenceRange | None = Field(description="Range used for the flag")
    flag: Flag = Field(
        description="low/high/normal/abnormal: against the range (or the lab's own "
        "interpretation); critical: past a commonly used critical limit or flagged so by the "
        "lab; unknown: nothing to compare with"
    )
    notice: str | None = Field(description="Set for critical results: what the person should do")
    date: str | None = Field(description="Date of the result (YYYY-MM-DD)")
    about: str | None = Field(description="What the test measures, in plain language")
    comparable_value: float | None = Field(
        description="The value converted to the catalog's canonical unit, to compare results"
    )
    comparable_unit: str | None = Field(description="Unit of comparable_value")
    note: RecordText | None = Field(description="Comments written on the result in the record")
    patient: str | None = Field(description="The person it is about, as Patient/id")
    source: SourceRef = Field(description="The stored resource this result comes from")


class LabResults(BaseModel):
    """Lab results, newest first."""

    results: list[LabResult] = Field(description="Results, newest first, at most `limit`")
    total: int = Field(description="How many results matched before the limit")
    truncated: bool = Field(description="True when more results matched than are shown")
    next_hint: str | None = Field(description="How to see the results that were left out")

    def render(self) -> str:
        if not self.results:
            return "No lab results match."
        shown = len(self.results)
        noun = "lab result" if self.total == 1 else "lab results"
        head = f"{self.total} {noun}" + (f" (showing {shown})." if self.truncated else ".")
        lines = [head, *(_line(r) for r in self.results[:5])]
        if shown > 5:
            lines.append(f"… and {shown - 5} more in the structured results.")
        critical = sum(r.flag == "critical" for r in self.results)
        if critical:
            lines.append(
                f"{critical} result(s) past a commonly used critical limit: if you have not "
                "already talked with a clinician about them, contact one promptly."
            )
        if self.next_hint:
            lines.append(self.next_hint)
        return "\n".join(lines)


def list_labs(
    reader: Reader,
    *,
    test: str | None = None,
    since: str | None = None,
    until: str | None = None,
    abnormal_only: bool = False,
    limit: int = 50,
    sex: str | None = None,
    patient: str | None = None,
    window_start: str | None = None,
) -> LabResults:
    """Laboratory results, newest first, optionally filtered by test, dates, person and flag.

    *sex* (``male``/``female``) picks sex-specific typical ranges; by default it is read from
    the Patient each result belongs to. *patient* (a Patient id) keeps one person's results.
    """
    needle = _check_args(test, since, until, limit, sex, window_start)
    wanted = _patient_ref(patient)
    stored = reader.resources(
        "Observation", terms=["cat||laboratory"], since=later_of(since, window_start), until=until
    )
    genders = {p.ref: p.resource.get("gender") for p in reader.resources("Patient")}
    known = {c for e in search(needle) for c in e.codes} if needle is not None else set()
    rows: list[tuple[str, str, int, LabResult]] = []
    for item in stored:
        subject = _subject(item.resource, genders)
        if item.resource.get("status") in ("entered-in-error", "cancelled") or (
            wanted and subject != wanted
        ):
            continue
        who = sex or genders.get(subject or "")
        for index, (part, codes) in enumerate(_parts(item.resource)):
            if needle is not None and not _matches(needle, part, codes, known):
                continue
            result = _result(item, part, who, subject)
            if abnormal_only and result.flag in ("normal", "unknown"):
                continue
            rows.append((_sort_key(item), item.ref, -index, result))
    rows.sort(key=lambda row: row[:3], reverse=True)
    results = [row[3] for row in rows[:limit]]
    truncated = len(rows) > limit
    return LabResults(
        results=results,
        total=len(rows),
        truncated=truncated,
        next_hint=_hint(results, len(rows), limit) if truncated else None,
    )


def _check_args(
    test: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    sex: str | None,
    window_start: str | None,
) -> str | None:
    for name, value in (("since", since), ("until", until), ("window_start", window_start)):
        _check_date(name, value)
    if since and until and since[:10] > until[:10]:
        raise ValueError(f"since ({since}) is after until ({until}); give since <= until")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    if sex is not None and sex not in ("male", "female", "other", "unknown"):
        raise ValueError(f"sex must be 'male', 'female', 'other' or 'unknown', got {sex!r}")
    if test is None:
        return None
    needle = " ".join(str(test).lower().split())
    if not needle or len(needle) > 200:
        raise ValueError(
            "test must be a LOINC code like '2345-7' or part of a test name like 'glucose'"
        )
    return needle


def _check_date(name: str, value: str | None) -> None:
    if value is None:
        return
    try:
        date.fromisoformat(value[:10] if isinstance(value, str) and _DATE.match(value) else "?")
    except ValueError:
        raise ValueError(f"{name} must be an ISO date like 2024-01-31, got {value!r}") from None


# --- which patient, which sex -----------------------------------------------------------------


def _patient_ref(patient: str | None) -> str | None:
    if patient is None:
        return None
    pid = str(patient).strip().removeprefix("Patient/")
    if not _FHIR_ID.match(pid):
        raise ValueError("patient must be a Patient id like 'Patient/abc-123' or 'abc-123'")
    return f"Patient/{pid}"


def _subject(resource: dict[str, Any], genders: dict[str, str | None]) -> str | None:
    """The Patient/id a result is about (the only patient, when the result names none)."""
    subject = resource.get("subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    if isinstance(ref, str) and ref:
        parts = ref.split("/")
        at = parts.index("Patient") if "Patient" in parts[:-1] else -1
        return f"Patient/{parts[at + 1]}" if at >= 0 else None
    return next(iter(genders)) if len(genders) == 1 else None


# --- observations to results ------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    value: float | None = None
    text: str | None = None
    unit: str | None = None
    code_unit: str | None = None
    comparator: str | None = None


def _parts(resource: dict[str, Any]) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """The Observation itself (if it has a result or no components) and each component."""
    components = [c for c in resource.get("component") or () if isinstance(c, dict)]
    has_value = any(k.startswith("value") for k in resource) or "dataAbsentReason" in resource
    if has_value or not components:
        yield resource, _codes(resource.get("code"))
    for component in components:
        yield component, _codes(component.get("code"))


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {str(c["code"]) for c in concept.get("coding") or () if c.get("code")}


def _matches(needle: str, part: dict[str, Any], codes: set[str], known: set[str]) -> bool:
    """Code match, a part of the recorded name, or a catalog name/alias for the same code."""
    if needle in {code.lower() for code in codes}:
        return True
    concept = part.get("code")
    if isinstance(concept, dict):
        names = [concept.get("text"), *(c.get("display") for c in concept.get("coding") or ())]
        if any(isinstance(n, str) and needle in clean(n).lower() for n in names):
            return True
    return bool(codes & known)


def _value(part: dict[str, Any]) -> _Value:
    quantity = part.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        unit = quantity.get("unit") or quantity.get("code")
        return _Value(
            value=float(quantity["value"]),
            unit=clean(unit) if unit else None,
            code_unit=str(quantity["code"]) if quantity.get("code") else None,
            comparator=quantity.get("comparator"),
        )
    for key in ("valueInteger", "valueDecimal"):
        if isinstance(part.get(key), int | float) and not isinstance(part[key], bool):
            return _Value(value=float(part[key]))
    if isinstance(part.get("valueString"), str):
        return _Value(text=clean(part["valueString"]) or None)
    return _Value(text=concept_name(part.get("valueCodeableConcept")))


def _result(
    item: StoredResource, part: dict[str, Any], sex: str | None, subject: str | None
) -> LabResult:
    loinc = concept_code(part.get("code"), LOINC)
    entry = lookup(loinc) or next(
        (e for code in sorted(_codes(part.get("code"))) if (e := lookup(code))), None
    )
    value = _value(part)
    comparable = _comparable(value, entry)
    rng, flag, notice = _flag(part, value, entry, comparable, sex)
    note = "\n".join(
        n["text"] for n in item.resource.get("note") or () if isinstance(n.get("text"), str)
    )
    return LabResult(
        test=concept_name(part.get("code")) or (entry.name if entry else "Unnamed test"),
        loinc=loinc,
        value=value.value,
        comparator=value.comparator if value.comparator in ("<", "<=", ">=", ">") else None,
        value_text=value.text,
        unit=value.unit,
        reference_range=rng,
        flag=flag,
        notice=notice,
        date=day(item.date),
        about=entry.about if entry else None,
        comparable_value=float(f"{comparable:.6g}") if comparable is not None else None,
        comparable_unit=entry.unit if entry and comparable is not None else None,
        note=record_text(note),
        patient=subject,
        source=source_of(item),
    )


def _comparable(value: _Value, entry: CatalogEntry | None) -> float | None:
    if entry is None or value.value is None:
        return None
    if not (value.code_unit or value.unit) and entry.unit in UNITLESS:
        return value.value  # a ratio, pH or INR is often sent without a unit
    for unit in (value.code_unit, value.unit):
        if unit and (converted := convert(value.value, unit, entry)) is not None:
            return converted
    return None


# --- flags ------------------------------------------------------------------------------------


def _flag(
    part: dict[str, Any],
    value: _Value,
    entry: CatalogEntry | None,
    comparable: float | None,
    sex: str | None,
) -> tuple[ReferenceRange | None, Flag, str | None]:
    """Range, flag and notice: the lab's own call first, then its range, then a typical range."""
    lab_call = interpretation_flag(part.get("interpretation"))
    rng = _lab_range(part, value.unit) or _typical_range(entry, sex)
    flag = lab_call or _compare(rng, value, entry, comparable)
    crossed = entry is not None and entry.past_critical(comparable)
    if crossed and lab_call is None and flag != "normal":
        flag = "critical"
    notice = CRITICAL_NOTICE if flag == "critical" or (crossed and flag != "normal") else None
    return rng, flag, notice


def _compare(
    rng: ReferenceRange | None, value: _Value, entry: CatalogEntry | None, comparable: float | None
) -> Flag:
    if rng is None:
        return "unknown"
    if value.value is None:
        expected = rng.text if rng.kind == "lab" else (entry.range_text if entry else None)
        text_flag = qualitative_flag(value.text, expected) if value.text and expected else None
        return text_flag or "unknown"
    number = comparable
    if rng.kind == "lab":
        number = value.value
        if rng.unit and value.unit and rng.unit != value.unit:
            number = convert(value.value, value.code_unit or value.unit, rng.unit, entry=entry)
    flag = None if number is None else Bounds(low=rng.low, high=rng.high).classify(number)
    return flag or "unknown"


def _lab_range(part: dict[str, Any], unit: str | None) -> ReferenceRange | None:
    ranges = [r for r in part.get("referenceRange") or () if isinstance(r, dict)]
    if not ranges:
        return None
    chosen = next((r for r in ranges if "appliesTo" not in r and "age" not in r), ranges[0])
    low, high = chosen.get("low") or {}, chosen.get("high") or {}
    bound_unit = low.get("code") or low.get("unit") or high.get("code") or high.get("unit")
    text = chosen.get("text")
    return ReferenceRange(
        low=_number(low.get("value")),
        high=_number(high.get("value")),
        unit=clean(bound_unit) if bound_unit else unit,
        text=clean(text) if isinstance(text, str) and text.strip() else None,
        kind="lab",
    )


def _typical_range(entry: CatalogEntry | None, sex: str | None) -> ReferenceRange | None:
    text = entry.describe_range(sex) if entry else None
    if entry is None or text is None:
        return None
    bounds = entry.typical_range(sex) or Bounds()
    return ReferenceRange(
        low=bounds.low, high=bounds.high, unit=entry.unit, text=text, kind="typical"
    )


# --- small helpers ----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _sort_key(item: StoredResource) -> str:
    value = item.date or ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()


def _line(result: LabResult) -> str:
    if result.value is not None:
        shown = f"{result.comparator or ''}{fmt(result.value)} {result.unit or ''}".rstrip()
    else:
        shown = result.value_text or "no value"
    rng = result.reference_range
    where = ""
    if rng is not None and (rng.low is not None or rng.high is not None):
        label = "lab range" if rng.kind == "lab" else "typical"
        where = f"; {label} {Bounds(low=rng.low, high=rng.high).describe()}"
    return f"{result.test} {result.date or 'undated'}: {shown} ({result.flag}{where})"


def _hint(results: list[LabResult], total: int, limit: int) -> str:
    more = f"raise limit (up to {MAX_LIMIT}) or " if limit < MAX_LIMIT else ""
    oldest = f" (the oldest shown is from {results[-1].date})" if results[-1].date else ""
    return f"Showing the newest {limit} of {total}: {more}narrow with test, since or until{oldest}."
