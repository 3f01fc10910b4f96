"""Conditions, immunizations and visits: plain views for the tools beyond the four core ones.

Several people: a vault may hold the records of more than one person (the bundled samples hold
six Synthea patients and one Blue Button beneficiary). Every item carries ``patient``
(``Patient/id``, from the resource's subject or patient reference) so an assistant can tell
them apart; a ``Scope`` with a patient keeps one person's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Protocol

from pydantic import Field

from healthlocker.people import patient_of
from healthlocker.records._common import (
    SNOMED,
    SourceRef,
    as_dict,
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
from healthlocker.records._text import Cites
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


class _Item(Protocol):
    source: SourceRef
    patient: str | None

    def line(self, cite: Cites) -> str: ...


class _Dated(Protocol):
    date: str | None


def _listed(head: str, items: Sequence[_Item]) -> str:
    """*head*, one line per item with its short source reference, and the legend."""
    cite = Cites((i.source for i in items), (i.patient for i in items))
    lines = [head, *(f"- {i.line(cite)}{cite.whose(i.patient)}" for i in items)]
    return "\n".join([*lines, cite.legend()] if items else lines)


def _page(title: str, items: Sequence[_Dated], total: int, truncated: bool) -> str:
    """``Visits: 133; the newest 20 (back to 2025-05-02).``, or all of them, or none."""
    if not items:
        return f"{title}: none recorded."
    if not truncated:
        return f"{title}: {total}, newest first."
    return f"{title}: {total}; the newest {len(items)} (back to {items[-1].date or 'undated'})."


def _up_to(total: int) -> int:
    return min(total, 200)


# --- conditions -----------------------------------------------------------------------------


class ConditionItem(View):
    name: str | None = Field(default=None, description="The condition, as recorded")
    snomed: str | None = Field(default=None, description="SNOMED CT code, where recorded")
    clinical_status: str | None = Field(
        default=None, description="active, recurrence, relapse, inactive, remission or resolved"
    )
    verification_status: str | None = Field(default=None, description="confirmed, provisional, …")
    onset: str | None = Field(default=None, description="When it began (ISO date), if recorded")
    abated: str | None = Field(
        default=None, description="When it ended or resolved (ISO date), where recorded"
    )
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        """``Hypertension (SNOMED 38341003): active, confirmed; since 2018-03-31 [bf09d093]``"""
        code = f" (SNOMED {self.snomed})" if self.snomed else ""
        state = ", ".join(x for x in (self.clinical_status, self.verification_status) if x)
        facts = [
            state or "status not recorded",
            f"since {self.onset}" if self.onset else "",
            f"ended {self.abated}" if self.abated else "",
        ]
        said = "; ".join(f for f in facts if f)
        return f"{self.name or '(unnamed)'}{code}: {said} {cite(self.source)}"


class ConditionList(Answer):
    status: str = Field(description="Which conditions are listed: active or all")
    conditions: list[ConditionItem] = Field(description="Newest onset first")
    total: int

    def describe(self) -> str:
        which = "active (still going on)" if self.status == "active" else "active and past"
        head = f"Conditions: {self.total} {which}, newest onset first."
        if not self.conditions:
            head = f"Conditions: none {which} recorded."
        return _listed(head, self.conditions)


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
    vaccine: str | None = Field(default=None, description="The vaccine, as recorded")
    cvx: str | None = Field(default=None, description="CVX vaccine code, where recorded")
    date: str | None = Field(default=None, description="When it was given (ISO date)")
    status: str | None = Field(default=None, description="completed, entered-in-error or not-done")
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        """``2025-10-10 Influenza, seasonal (CVX 140) [ab12cd34]``, its status when not done."""
        code = f" (CVX {self.cvx})" if self.cvx else ""
        state = f", {self.status}" if self.status not in (None, "completed") else ""
        what = f"{self.vaccine or '(unnamed)'}{code}{state}"
        return f"{self.date or 'undated'}: {what} {cite(self.source)}"


class ImmunizationList(Answer):
    immunizations: list[ImmunizationItem] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many were recorded before the limit")
    truncated: bool = Field(default=False, description="True when more are recorded than listed")

    def describe(self) -> str:
        items = self.immunizations
        head = _page("Immunizations", items, self.total, self.truncated)
        if self.truncated:
            head += f" For the older ones, call list_immunizations with limit={_up_to(self.total)}."
        return _listed(head, items)


@scoped
def list_immunizations(
    reader: Scope, *, since: str | date | None = None, limit: int = 30
) -> ImmunizationList:
    """Vaccines given (or recorded as not done), newest first, at most *limit*."""
    since = check_span(since, None)[0]
    check_count(limit, "limit", 1, 200)
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
    return ImmunizationList(
        immunizations=items[:limit], total=len(items), truncated=len(items) > limit
    )


# --- encounters -----------------------------------------------------------------------------


class EncounterItem(View):
    date: str | None = Field(default=None, description="When the visit began (ISO date)")
    end: str | None = Field(default=None, description="When it ended (ISO date), where recorded")
    type: str | None = Field(default=None, description="What kind of visit, as recorded")
    reason: str | None = Field(
        default=None, description="Why: reason codes and referenced conditions"
    )
    encounter_class: str | None = Field(
        default=None, description="Setting: ambulatory, emergency, inpatient, virtual, …"
    )
    practitioners: list[str] = Field(description="Clinicians who took part")
    organization: str | None = Field(default=None, description="The provider organization")
    locations: list[str] = Field(description="Where it took place")
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        """``2026-09-14 General examination (ambulatory; for Hypertension); with Dr. A at …``"""
        what = "; ".join(
            x for x in (self.encounter_class, f"for {self.reason}" if self.reason else "") if x
        )
        facts = [
            f"until {self.end}" if self.end and self.end != self.date else "",
            f"with {', '.join(self.practitioners)}" if self.practitioners else "",
            f"at {self.organization}" if self.organization else "",
            f"in {', '.join(self.locations)}" if self.locations else "",
        ]
        said = "; ".join(f for f in facts if f)
        kind = f"{self.type or 'visit'}" + (f" ({what})" if what else "")
        return (
            f"{self.date or 'undated'}: {kind}"
            + (f"; {said}" if said else "")
            + (f" {cite(self.source)}")
        )


class EncounterList(Answer):
    encounters: list[EncounterItem] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many matched before the limit")
    truncated: bool = Field(description="True when more matched than are listed")

    def describe(self) -> str:
        items = self.encounters
        head = _page("Visits", items, self.total, self.truncated)
        if self.truncated:
            oldest = items[-1].date or "undated"
            head += (
                f" For older ones, call list_visits again with until={oldest} (visits of that "
                f"day shown here come again), or with limit={_up_to(self.total)}."
            )
        return _listed(head, items)


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
