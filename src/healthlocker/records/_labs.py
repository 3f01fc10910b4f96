"""Lab results: laboratory Observations as plain results with ranges, flags and explanations.

Which results match, for whom, newest first; how each value is read and flagged is in
``_flags`` (following ``docs/lab-catalog.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.people import ref_id
from healthlocker.records._catalog import Bounds, CatalogEntry, Flag, by_name, lookup, search
from healthlocker.records._common import (
    LOINC,
    RecordText,
    SourceRef,
    as_dict,
    check_choice,
    check_count,
    check_span,
    clean,
    codes_of,
    concept_code,
    concept_name,
    day,
    fmt_lab,
    record_text,
    source_of,
)
from healthlocker.records._flags import ReferenceRange, comparable_value, flag_result, read_value
from healthlocker.records._scope import Scope, scoped
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

MAX_LIMIT = 200


class LabResult(View):
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


class LabResults(Answer):
    """Lab results, newest first."""

    results: list[LabResult] = Field(description="Results, newest first, at most `limit`")
    total: int = Field(description="How many results matched before the limit")
    truncated: bool = Field(description="True when more results matched than are shown")
    next_hint: str | None = Field(description="How to see the results that were left out")

    def describe(self) -> str:
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


@scoped
def list_labs(
    reader: Scope,
    *,
    test: str | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    abnormal_only: bool = False,
    limit: int = 50,
    sex: str | None = None,
) -> LabResults:
    """Laboratory results, newest first, optionally filtered by test, dates and flag.

    *sex* (``male``/``female``) picks sex-specific typical ranges; by default it is read from
    the Patient each result belongs to.
    """
    since, until = check_span(since, until)
    needle = _check_args(test, limit, sex)
    query = _Query(
        needle=needle,
        known={c for e in search(needle) for c in e.codes} if needle is not None else set(),
        sex=sex,
        abnormal_only=abnormal_only,
    )
    genders = {p.ref: p.resource.get("gender") for p in reader.lookup("Patient")}
    stored = reader.resources(
        "Observation",
        terms=["cat||laboratory"],
        since=since,
        until=until,
        kind="lab results",
        where=lambda item: any(True for _ in _rows(item, query, genders)),
    )
    rows = [row for item in stored for row in _rows(item, query, genders)]
    rows.sort(key=lambda row: row[:3], reverse=True)
    results = [row[3] for row in rows[:limit]]
    truncated = len(rows) > limit
    return LabResults(
        results=results,
        total=len(rows),
        truncated=truncated,
        next_hint=_hint(results, len(rows), limit) if truncated else None,
    )


@dataclass(frozen=True)
class _Query:
    needle: str | None  # the test asked for, lower case
    known: set[str]  # codes of the catalog tests whose names match the needle
    sex: str | None
    abnormal_only: bool


def _rows(
    item: StoredResource, query: _Query, genders: dict[str, str | None]
) -> Iterator[tuple[str, str, int, LabResult]]:
    """The results in one Observation that *query* keeps, with their sort keys."""
    subject = _subject(item.resource, genders)
    if item.resource.get("status") in ("entered-in-error", "cancelled"):
        return
    who = query.sex or genders.get(subject or "")
    for index, (part, codes) in enumerate(_parts(item.resource)):
        if query.needle is not None and not _matches(query.needle, part, codes, query.known):
            continue
        result = _cached_result(item, index, part, who, subject)
        if query.abnormal_only and result.flag in ("normal", "unknown"):
            continue
        yield _sort_key(item), item.ref, -index, result


# Built results, kept while the store keeps the same StoredResource object (it makes a new one
# when a resource changes), so repeated questions do not rebuild thousands of results.
_BUILT: dict[tuple[int, int, str | None, str | None], tuple[StoredResource, LabResult]] = {}
_BUILT_MAX = 100_000


def _cached_result(
    item: StoredResource, index: int, part: dict[str, Any], who: str | None, subject: str | None
) -> LabResult:
    key = (id(item), index, who, subject)
    hit = _BUILT.get(key)
    if hit is not None and hit[0] is item:
        return hit[1]
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.clear()
    result = _result(item, part, who, subject)
    _BUILT[key] = (item, result)
    return result


def _check_args(test: str | None, limit: int, sex: str | None) -> str | None:
    check_count(limit, "limit", 1, MAX_LIMIT)
    if sex is not None:
        check_choice(sex, "sex", ("male", "female", "other", "unknown"))
    if test is None:
        return None
    needle = " ".join(str(test).lower().split())
    if not needle or len(needle) > 200:
        raise ArgumentError(
            "test must be a LOINC code like '2345-7' or part of a test name like 'glucose'"
        )
    return needle


# --- which patient, which sex -----------------------------------------------------------------


def _subject(resource: dict[str, Any], genders: dict[str, str | None]) -> str | None:
    """The Patient/id a result is about (the only patient, when the result names none)."""
    ref = as_dict(resource.get("subject")).get("reference")
    if isinstance(ref, str) and ref:
        pid = ref_id(ref, "Patient")
        return f"Patient/{pid}" if pid else None
    return next(iter(genders)) if len(genders) == 1 else None


# --- observations to results ------------------------------------------------------------------


def _parts(resource: dict[str, Any]) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """The Observation itself (if it has a result or no components) and each component."""
    components = [c for c in resource.get("component") or () if isinstance(c, dict)]
    has_value = any(k.startswith("value") for k in resource) or "dataAbsentReason" in resource
    if has_value or not components:
        yield resource, codes_of(resource.get("code"))
    for component in components:
        yield component, codes_of(component.get("code"))


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


def _result(
    item: StoredResource, part: dict[str, Any], sex: str | None, subject: str | None
) -> LabResult:
    loinc = concept_code(part.get("code"), LOINC)
    entry = lookup(loinc) or next(
        (e for code in sorted(codes_of(part.get("code"))) if (e := lookup(code))), None
    )
    value = read_value(part)
    comparable = comparable_value(value, entry)
    rng, flag, notice = flag_result(part, value, entry, comparable, sex)
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
        about=_about(entry, part.get("code")),
        comparable_value=float(f"{comparable:.6g}") if comparable is not None else None,
        comparable_unit=entry.unit if entry and comparable is not None else None,
        note=record_text(note),
        patient=subject,
        source=source_of(item),
    )


def _about(entry: CatalogEntry | None, concept: Any) -> str | None:
    """What the test measures: by its code, else by its recorded name (a result coded only in
    a vendor's local system, or not at all). A name match explains; it never sets a range or
    a flag, which stay with the code match and the lab's own range."""
    if entry is None and isinstance(concept, dict):
        codings = [c for c in concept.get("coding") or () if isinstance(c, dict)]
        names = [concept.get("text"), *(c.get("display") for c in codings)]
        entry = next((e for n in names if isinstance(n, str) and (e := by_name(n))), None)
    return entry.about if entry else None


def _sort_key(item: StoredResource) -> str:
    value = item.date or ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()


def _line(result: LabResult) -> str:
    if result.value is not None:
        shown = f"{result.comparator or ''}{fmt_lab(result.value)} {result.unit or ''}".rstrip()
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
