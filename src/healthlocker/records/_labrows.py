"""Which Observations are lab results, and each one (or each of its components) as a result.

A lab result is an Observation in the ``laboratory`` category; or, where a record gives no
category at all (point-of-care tests from some EHRs), one whose code the lab catalog knows or
that a laboratory DiagnosticReport lists among its results. How each value is read and flagged
is in ``_flags`` (following ``docs/lab-catalog.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from healthlocker.people import ref_id
from healthlocker.records._catalog import CatalogEntry, by_name, entries, lookup
from healthlocker.records._common import (
    LOINC,
    as_dict,
    clean,
    codes_of,
    concept_code,
    concept_name,
    day,
    record_text,
    sig,
    source_of,
)
from healthlocker.records._flags import comparable_value, flag_result, read_value
from healthlocker.records._labresult import LabResult
from healthlocker.records._scope import Scope
from healthlocker.store import StoredResource

LAB_CATEGORY = "laboratory"
# DiagnosticReport categories of laboratory work (HL7 v2 table 0074, and FHIR's own word).
_LAB_REPORTS = ("cat||LAB", "cat||laboratory")


@dataclass(frozen=True)
class Query:
    needle: str | None  # the test asked for, lower case
    known: frozenset[str]  # codes of the catalog tests whose names match the needle
    sex: str | None
    abnormal_only: bool


@cache
def _lab_codes() -> tuple[str, ...]:
    return tuple(sorted({f"code||{c}" for e in entries() for c in e.codes}))


def _uncategorised(item: StoredResource) -> bool:
    return not any(isinstance(c, dict) and c for c in item.resource.get("category") or ())


def lab_observations(
    reader: Scope,
    since: str | None,
    until: str | None,
    keep: Callable[[StoredResource], bool],
) -> list[StoredResource]:
    """The lab Observations in [since, until] the scope lets the call read; those it leaves out
    are counted as lab results when *keep* (the call's own filter) would keep them."""

    def read(terms: tuple[str, ...], extra: Callable[[StoredResource], bool]) -> list[Any]:
        return reader.resources(
            "Observation",
            terms=terms,
            since=since,
            until=until,
            kind="lab results",
            where=lambda item: extra(item) and keep(item),
        )

    found = {s.ref: s for s in read(("cat||" + LAB_CATEGORY,), lambda _: True)}
    for item in read(_lab_codes(), _uncategorised):
        if _uncategorised(item):
            found.setdefault(item.ref, item)
    listed = _report_results(reader) - {ref_id(ref, "Observation") for ref in found}
    if listed:  # results of lab reports that neither their category nor their code told

        def wanted(item: StoredResource) -> bool:
            return item.id in listed and _uncategorised(item)

        for item in read((), wanted):
            if wanted(item):
                found.setdefault(item.ref, item)
    return list(found.values())


def _report_results(reader: Scope) -> set[str | None]:
    """The ids of the Observations laboratory reports list as their results."""
    ids: set[str | None] = set()
    for report in reader.lookup("DiagnosticReport", terms=_LAB_REPORTS):
        for ref in report.resource.get("result") or ():
            ids.add(ref_id(ref, "Observation"))
    ids.discard(None)
    return ids


def rows(
    item: StoredResource, query: Query, genders: dict[str, str | None]
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


def _subject(resource: dict[str, Any], genders: dict[str, str | None]) -> str | None:
    """The Patient/id a result is about (the only patient, when the result names none)."""
    ref = as_dict(resource.get("subject")).get("reference")
    if isinstance(ref, str) and ref:
        pid = ref_id(ref, "Patient")
        return f"Patient/{pid}" if pid else None
    return next(iter(genders)) if len(genders) == 1 else None


def _parts(resource: dict[str, Any]) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """The Observation itself (if it has a result or no components) and each component."""
    components = [c for c in resource.get("component") or () if isinstance(c, dict)]
    has_value = any(k.startswith("value") for k in resource) or "dataAbsentReason" in resource
    if has_value or not components:
        yield resource, codes_of(resource.get("code"))
    for component in components:
        yield component, codes_of(component.get("code"))


def _matches(needle: str, part: dict[str, Any], codes: set[str], known: frozenset[str]) -> bool:
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
    explained = _explained(entry, part.get("code"))
    result = LabResult(
        test=concept_name(part.get("code")) or (entry.name if entry else "Unnamed test"),
        loinc=loinc,
        value=sig(value.value),
        comparator=value.comparator if value.comparator in ("<", "<=", ">=", ">") else None,
        value_text=value.text,
        unit=value.unit,
        reference_range=rng,
        flag=flag,
        notice=notice,
        date=day(item.date),
        comparable_value=sig(comparable) if comparable is not None else None,
        comparable_unit=entry.unit if entry and comparable is not None else None,
        note=record_text(note),
        patient=subject,
        source=source_of(item),
    )
    result.explain(explained.name if explained else None, explained.about if explained else None)
    return result


def _explained(entry: CatalogEntry | None, concept: Any) -> CatalogEntry | None:
    """The catalog's entry that says what the test measures: by its code, else by its recorded
    name (a result coded only in a vendor's local system, or not at all). A name match
    explains; it never sets a range or a flag, which stay with the code match and the lab's
    own range."""
    if entry is None and isinstance(concept, dict):
        codings = [c for c in concept.get("coding") or () if isinstance(c, dict)]
        names = [concept.get("text"), *(c.get("display") for c in codings)]
        entry = next((e for n in names if isinstance(n, str) and (e := by_name(n))), None)
    return entry


def _sort_key(item: StoredResource) -> str:
    value = item.date or ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()
