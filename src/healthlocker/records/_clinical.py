"""Conditions, immunizations and visits: plain views for the tools beyond the four core ones.

Several people: a vault may hold the records of more than one person (the bundled samples hold
six Synthea patients and one Blue Button beneficiary). Every item carries ``patient``
(``Patient/id``, from the resource's subject or patient reference) so an assistant can tell
them apart; a ``Scope`` with a patient keeps one person's.
"""

from __future__ import annotations

import functools
from datetime import date

from pydantic import Field

from healthlocker.people import patient_of
from healthlocker.records._common import (
    SNOMED,
    SourceRef,
    as_dict,
    bullets,
    check_choice,
    check_count,
    check_span,
    clean,
    concept_code,
    concept_name,
    condition_is_active,
    day,
    first_day,
    names_of,
    source_of,
    status_code,
)
from healthlocker.records._scope import Resolver, Scope, scoped
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

CVX = "http://hl7.org/fhir/sid/cvx"
_ENCOUNTER_CLASS = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient (non-acute)",
    "OBSENC": "observation",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
    "HH": "home health",
    "FLD": "field",
}


# --- conditions -----------------------------------------------------------------------------


class ConditionItem(View):
    name: str | None = Field(description="The condition, as recorded")
    snomed: str | None = Field(description="SNOMED CT code, where recorded")
    clinical_status: str | None = Field(
        description="active, recurrence, relapse, inactive, remission or resolved"
    )
    verification_status: str | None = Field(description="confirmed, provisional, …")
    onset: str | None = Field(description="When it began (ISO date), where recorded")
    abated: str | None = Field(description="When it ended or resolved (ISO date), where recorded")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class ConditionList(Answer):
    status: str = Field(description="Which conditions are listed: active or all")
    conditions: list[ConditionItem] = Field(description="Newest onset first")
    total: int

    def describe(self) -> str:
        items = [
            f"{c.name or '(unnamed)'} ({c.clinical_status or 'status unknown'}"
            f"{', since ' + c.onset if c.onset else ''})"
            for c in self.conditions[:10]
        ]
        return bullets(f"{self.total} {self.status} condition(s)", items, self.total - 10)


def _condition(stored: StoredResource) -> ConditionItem:
    r = stored.resource
    return ConditionItem(
        name=concept_name(r.get("code")),
        snomed=concept_code(r.get("code"), SNOMED),
        clinical_status=status_code(r.get("clinicalStatus")),
        verification_status=status_code(r.get("verificationStatus")),
        onset=first_day(r.get("onsetDateTime"), r.get("onsetPeriod"), r.get("recordedDate")),
        abated=first_day(r.get("abatementDateTime"), r.get("abatementPeriod")),
        patient=patient_of(r),
        source=source_of(stored),
    )


def _keeps_condition(stored: StoredResource, status: str) -> bool:
    r = stored.resource
    if status_code(r.get("verificationStatus")) == "entered-in-error":
        return False
    return status == "all" or condition_is_active(r)


@scoped
def list_conditions(reader: Scope, *, status: str = "active") -> ConditionList:
    """Conditions (problems, diagnoses) as recorded, newest onset first.

    ``active`` lists conditions whose clinical status is active, recurrence or relapse (or not
    recorded, with no end date), leaving out refuted ones; ``all`` lists every one. Conditions
    entered in error are never listed.
    """
    check_choice(status, "status", ("active", "all"))
    keep = functools.partial(_keeps_condition, status=status)
    items = [_condition(s) for s in reader.resources("Condition", where=keep) if keep(s)]
    items.sort(key=lambda c: c.onset or "", reverse=True)
    return ConditionList(status=status, conditions=items, total=len(items))


# --- immunizations --------------------------------------------------------------------------


class ImmunizationItem(View):
    vaccine: str | None = Field(description="The vaccine, as recorded")
    cvx: str | None = Field(description="CVX vaccine code, where recorded")
    date: str | None = Field(description="When it was given (ISO date)")
    status: str | None = Field(description="completed, entered-in-error or not-done")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class ImmunizationList(Answer):
    immunizations: list[ImmunizationItem] = Field(description="Newest first")
    total: int

    def describe(self) -> str:
        items = [f"{i.date or '?'} {i.vaccine or '(unnamed)'}" for i in self.immunizations[:10]]
        return bullets(f"{self.total} immunization(s)", items, self.total - 10)


@scoped
def list_immunizations(reader: Scope, *, since: str | date | None = None) -> ImmunizationList:
    """Vaccines given (or recorded as not done), newest first."""
    since = check_span(since, None)[0]
    items = []
    for stored in reader.resources("Immunization", since=since):
        r = stored.resource
        items.append(
            ImmunizationItem(
                vaccine=concept_name(r.get("vaccineCode")),
                cvx=concept_code(r.get("vaccineCode"), CVX),
                date=first_day(r.get("occurrenceDateTime"), r.get("recorded")),
                status=r.get("status"),
                patient=patient_of(r),
                source=source_of(stored),
            )
        )
    items.sort(key=lambda i: i.date or "", reverse=True)
    return ImmunizationList(immunizations=items, total=len(items))


# --- encounters -----------------------------------------------------------------------------


class EncounterItem(View):
    date: str | None = Field(description="When the visit began (ISO date)")
    end: str | None = Field(description="When it ended (ISO date), where recorded")
    type: str | None = Field(description="What kind of visit, as recorded")
    reason: str | None = Field(description="Why: reason codes and referenced conditions")
    encounter_class: str | None = Field(
        description="Setting: ambulatory, emergency, inpatient, virtual, …"
    )
    practitioners: list[str] = Field(description="Clinicians who took part")
    organization: str | None = Field(description="The provider organization")
    locations: list[str] = Field(description="Where it took place")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class EncounterList(Answer):
    encounters: list[EncounterItem] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many matched before the limit")
    truncated: bool = Field(description="True when more matched than are listed")

    def describe(self) -> str:
        items = [
            f"{e.date or '?'} {e.type or 'visit'}"
            + (f" ({e.reason})" if e.reason else "")
            + (f" at {e.organization}" if e.organization else "")
            for e in self.encounters[:10]
        ]
        return bullets(f"{self.total} visit(s)", items, len(self.encounters) - 10)


def _encounter(stored: StoredResource, resolve: Resolver) -> EncounterItem:
    r = stored.resource
    period, klass = as_dict(r.get("period")), as_dict(r.get("class"))
    reasons = names_of(r.get("reasonCode"))
    reasons += [
        n
        for ref in r.get("reasonReference") or ()
        if (n := resolve.name(ref, "Condition", "Observation", "Procedure"))
    ]
    people = [
        resolve.name(p.get("individual"), "Practitioner")
        for p in r.get("participant") or ()
        if isinstance(p, dict)
    ]
    places = [
        resolve.name(loc.get("location"), "Location")
        for loc in r.get("location") or ()
        if isinstance(loc, dict)
    ]
    code = str(klass.get("code") or "")
    return EncounterItem(
        date=day(period.get("start")),
        end=day(period.get("end")),
        type="; ".join(names_of(r.get("type"))) or None,
        reason="; ".join(dict.fromkeys(reasons)) or None,
        encounter_class=_ENCOUNTER_CLASS.get(code) or clean(klass.get("display") or code) or None,
        practitioners=[p for p in people if p],
        organization=resolve.name(r.get("serviceProvider"), "Organization"),
        locations=[p for p in places if p],
        patient=patient_of(r),
        source=source_of(stored),
    )


@scoped
def list_encounters(
    reader: Scope,
    *,
    since: str | date | None = None,
    until: str | date | None = None,
    limit: int = 20,
) -> EncounterList:
    """Visits (encounters), newest first, with type, reason, setting, clinicians and place."""
    since, until = check_span(since, until)
    check_count(limit, "limit", 1, 200)
    stored = reader.resources("Encounter", since=since, until=until)
    stored = sorted(stored, key=lambda s: s.date or "", reverse=True)
    resolve = Resolver(reader)
    items = [_encounter(s, resolve) for s in stored[:limit]]
    return EncounterList(encounters=items, total=len(stored), truncated=len(stored) > limit)
