"""Search across records: conditions, medications, observations, reports, procedures,
immunizations, allergies and visits whose name or code matches a few words."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.people import patient_of
from healthlocker.records._common import (
    SourceRef,
    check_count,
    clean,
    concept_name,
    day,
    fmt_lab,
    source_of,
)
from healthlocker.records._flags import read_value
from healthlocker.records._scope import Resolver, Scope, scoped
from healthlocker.records._text import Cites, count
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

_SEARCHED: dict[str, tuple[str, ...]] = {
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


class SearchHit(View):
    resource_type: str = Field(description="Condition, MedicationRequest, Observation, …")
    name: str = Field(description="The name that matched, as recorded")
    value: str | None = Field(
        default=None, description="An observation's value in words (e.g. '95 mg/dL')"
    )
    date: str | None = Field(default=None, description="The record's clinical date (ISO date)")
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        value = f": {self.value}" if self.value else ""
        kind = _WORDS.get(self.resource_type, self.resource_type)
        return f"{self.date or 'undated'} {kind}: {self.name}{value} {cite(self.source)}"


class SearchResults(Answer):
    query: str
    hits: list[SearchHit] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many records matched before the limit")
    truncated: bool

    def describe(self) -> str:
        if not self.hits:
            return f"Search for {self.query!r}: no record's name matches."
        head = f"Search for {self.query!r}: {count(self.total, 'record')} match, newest first."
        if self.truncated:
            head = (
                f"Search for {self.query!r}: {self.total} records match; the newest "
                f"{len(self.hits)}. For the rest, call search_records again with "
                f"limit={min(self.total, 100)}, or use the tool for that kind of record "
                "(list_labs with test=..., get_meds with status='all', list_conditions with "
                "status='all')."
            )
        cite = Cites((h.source for h in self.hits), (h.patient for h in self.hits))
        lines = [head, *(f"- {h.line(cite)}{cite.whose(h.patient)}" for h in self.hits)]
        return "\n".join([*lines, cite.legend()])


_WORDS = {
    "Condition": "condition",
    "MedicationRequest": "prescription",
    "MedicationStatement": "medication",
    "Observation": "observation",
    "DiagnosticReport": "report",
    "Procedure": "procedure",
    "Immunization": "immunization",
    "AllergyIntolerance": "allergy",
    "Encounter": "visit",
}


def _value(stored: StoredResource) -> str | None:
    """An observation's value in words: ``95 mg/dL``, ``Negative``, ``120/80 mm[Hg]``."""
    if stored.resource_type != "Observation":
        return None
    value = read_value(stored.resource)
    if value.value is not None:
        return f"{value.comparator or ''}{fmt_lab(value.value)} {value.unit or ''}".rstrip()
    if value.text:
        return value.text
    parts = [read_value(c) for c in stored.resource.get("component") or () if isinstance(c, dict)]
    numbers = [p for p in parts if p.value is not None]
    if numbers:
        unit = numbers[0].unit or ""
        return ("/".join(fmt_lab(p.value) for p in numbers) + f" {unit}").rstrip()
    return None


def _concepts(resource: dict[str, Any], fields: tuple[str, ...], resolve: Resolver) -> list[Any]:
    out: list[Any] = []
    for name in fields:
        value = resource.get(name)
        out.extend(value if isinstance(value, list) else [value])
    medication = resource.get("medicationReference")
    if medication is not None:
        target = resolve.get(medication, "Medication")
        out.append(target.get("code") if target else {"text": medication.get("display")})
    return [c for c in out if isinstance(c, dict)]


def _matching_name(concepts: list[Any], needle: str) -> str | None:
    for concept in concepts:
        texts = [concept.get("text")]
        for coding in concept.get("coding") or ():
            if isinstance(coding, dict):
                if str(coding.get("code") or "").casefold() == needle:
                    return concept_name(concept) or clean(coding["code"])
                texts.append(coding.get("display"))
        if any(isinstance(t, str) and needle in t.casefold() for t in texts):
            return concept_name(concept)
    return None


def _found(
    stored: StoredResource, *, fields: tuple[str, ...], resolve: Resolver, needle: str
) -> str | None:
    """The name by which *stored* matches *needle*, or None."""
    return _matching_name(_concepts(stored.resource, fields, resolve), needle)


@scoped
def search_records(reader: Scope, *, query: str, limit: int = 20) -> SearchResults:
    """Records whose name (or code) contains *query*, case-insensitively, newest first.

    Looks through conditions, medications, observations and lab results, reports, procedures,
    immunizations, allergies and visits (type and reason).
    """
    needle = " ".join(str(query).split()).casefold()
    if not needle or len(needle) > 100:
        raise ArgumentError("query must be 1 to 100 characters, e.g. 'cholesterol'")
    check_count(limit, "limit", 1, 200)
    resolve = Resolver(reader)
    hits = []
    for rtype, fields in _SEARCHED.items():
        name_of = functools.partial(_found, fields=fields, resolve=resolve, needle=needle)
        for stored in reader.resources(rtype, where=name_of):
            name = name_of(stored)
            if name:
                hits.append(
                    SearchHit(
                        resource_type=rtype,
                        name=name,
                        value=_value(stored),
                        date=day(stored.date),
                        patient=patient_of(stored.resource),
                        source=source_of(stored),
                    )
                )
    hits.sort(key=lambda h: h.date or "", reverse=True)
    return SearchResults(
        query=query, hits=hits[:limit], total=len(hits), truncated=len(hits) > limit
    )
