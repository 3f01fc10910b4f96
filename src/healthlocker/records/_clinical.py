"""Conditions, immunizations, visits, search across records and a health summary.

Cheap, plain views for the tools beyond the four core ones, and the summary an MCP resource
and the visit-preparation prompt start from.

Several people: a vault may hold the records of more than one person (the bundled samples hold
six Synthea patients and one Blue Button beneficiary). Every item carries ``patient``
(``Patient/id``, from the resource's subject or patient reference) so an assistant can tell
them apart, and every function takes an optional ``patient`` filter: a Patient id, with or
without the ``Patient/`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from healthlocker.records._common import (
    SNOMED,
    Reader,
    SourceRef,
    clean,
    concept_code,
    concept_name,
    day,
    later_of,
    source_of,
)
from healthlocker.records._meds import (
    AllergyItem,
    MedicationItem,
    Resolver,
    as_dict,
    check_date,
    check_patient,
    first_day,
    for_patient,
    get_meds,
    names_of,
    patient_of,
    pick_patient,
    status_code,
)
from healthlocker.records._trends import VitalSign, latest_vitals
from healthlocker.store import StoredResource

CVX = "http://hl7.org/fhir/sid/cvx"
_ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
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


def _lines(header: str, items: Iterable[str], more: int) -> str:
    out = [header, *(f"- {i}" for i in items)]
    if more > 0:
        out.append(f"… and {more} more")
    return "\n".join(out)


# --- conditions -----------------------------------------------------------------------------


class ConditionItem(BaseModel):
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


class ConditionList(BaseModel):
    status: str = Field(description="Which conditions are listed: active or all")
    conditions: list[ConditionItem] = Field(description="Newest onset first")
    total: int

    def render(self) -> str:
        items = [
            f"{c.name or '(unnamed)'} ({c.clinical_status or 'status unknown'}"
            f"{', since ' + c.onset if c.onset else ''})"
            for c in self.conditions[:10]
        ]
        return _lines(f"{self.total} {self.status} condition(s)", items, self.total - 10)


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


def list_conditions(
    reader: Reader,
    *,
    status: str = "active",
    patient: str | None = None,
    window_start: str | None = None,
) -> ConditionList:
    """Conditions (problems, diagnoses) as recorded, newest onset first.

    ``active`` lists conditions whose clinical status is active, recurrence or relapse (or not
    recorded, with no end date), leaving out refuted ones; ``all`` lists every one. Conditions
    entered in error are never listed.
    """
    if status not in ("active", "all"):
        raise ValueError("status must be 'active' or 'all'")
    window_start = check_date(window_start, "window_start")
    items = []
    for stored in for_patient(
        reader.resources("Condition", since=window_start), check_patient(patient)
    ):
        item = _condition(stored)
        if item.verification_status == "entered-in-error":
            continue
        if status == "active" and not _is_active_condition(item, stored.resource):
            continue
        items.append(item)
    items.sort(key=lambda c: c.onset or "", reverse=True)
    return ConditionList(status=status, conditions=items, total=len(items))


def _is_active_condition(item: ConditionItem, resource: dict[str, Any]) -> bool:
    if item.verification_status == "refuted":
        return False
    if item.clinical_status is None:
        return not any(k.startswith("abatement") for k in resource)
    return item.clinical_status in _ACTIVE_CONDITION


# --- immunizations --------------------------------------------------------------------------


class ImmunizationItem(BaseModel):
    vaccine: str | None = Field(description="The vaccine, as recorded")
    cvx: str | None = Field(description="CVX vaccine code, where recorded")
    date: str | None = Field(description="When it was given (ISO date)")
    status: str | None = Field(description="completed, entered-in-error or not-done")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class ImmunizationList(BaseModel):
    immunizations: list[ImmunizationItem] = Field(description="Newest first")
    total: int

    def render(self) -> str:
        items = [f"{i.date or '?'} {i.vaccine or '(unnamed)'}" for i in self.immunizations[:10]]
        return _lines(f"{self.total} immunization(s)", items, self.total - 10)


def list_immunizations(
    reader: Reader,
    *,
    since: str | None = None,
    patient: str | None = None,
    window_start: str | None = None,
) -> ImmunizationList:
    """Vaccines given (or recorded as not done), newest first."""
    since = later_of(check_date(since, "since"), check_date(window_start, "window_start"))
    items = []
    for stored in for_patient(
        reader.resources("Immunization", since=since), check_patient(patient)
    ):
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


class EncounterItem(BaseModel):
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


class EncounterList(BaseModel):
    encounters: list[EncounterItem] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many matched before the limit")
    truncated: bool = Field(description="True when more matched than are listed")

    def render(self) -> str:
        items = [
            f"{e.date or '?'} {e.type or 'visit'}"
            + (f" ({e.reason})" if e.reason else "")
            + (f" at {e.organization}" if e.organization else "")
            for e in self.encounters[:10]
        ]
        return _lines(f"{self.total} visit(s)", items, len(self.encounters) - 10)


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


def list_encounters(
    reader: Reader,
    *,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
    patient: str | None = None,
    window_start: str | None = None,
) -> EncounterList:
    """Visits (encounters), newest first, with type, reason, setting, clinicians and place."""
    since, until = check_date(since, "since"), check_date(until, "until")
    if since and until and since > until:
        raise ValueError("since must be on or before until")
    if not isinstance(limit, int) or not 1 <= limit <= 200:
        raise ValueError("limit must be a whole number from 1 to 200")
    since = later_of(since, check_date(window_start, "window_start"))
    stored = for_patient(
        reader.resources("Encounter", since=since, until=until), check_patient(patient)
    )
    stored = sorted(stored, key=lambda s: s.date or "", reverse=True)
    resolve = Resolver(reader, window_start)
    items = [_encounter(s, resolve) for s in stored[:limit]]
    return EncounterList(encounters=items, total=len(stored), truncated=len(stored) > limit)


# --- search ---------------------------------------------------------------------------------

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


class SearchHit(BaseModel):
    resource_type: str = Field(description="Condition, MedicationRequest, Observation, …")
    name: str = Field(description="The name that matched, as recorded")
    date: str | None = Field(description="The record's clinical date (ISO date)")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHit] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="How many records matched before the limit")
    truncated: bool

    def render(self) -> str:
        items = [f"{h.date or '?'} {h.resource_type}: {h.name}" for h in self.hits[:10]]
        return _lines(f"{self.total} record(s) match {self.query!r}", items, len(self.hits) - 10)


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


def search_records(
    reader: Reader,
    *,
    query: str,
    limit: int = 20,
    patient: str | None = None,
    window_start: str | None = None,
) -> SearchResults:
    """Records whose name (or code) contains *query*, case-insensitively, newest first.

    Looks through conditions, medications, observations and lab results, reports, procedures,
    immunizations, allergies and visits (type and reason).
    """
    needle = " ".join(str(query).split()).casefold()
    if not needle or len(needle) > 100:
        raise ValueError("query must be 1 to 100 characters, e.g. 'cholesterol'")
    if not isinstance(limit, int) or not 1 <= limit <= 200:
        raise ValueError("limit must be a whole number from 1 to 200")
    window_start = check_date(window_start, "window_start")
    who = check_patient(patient)
    resolve = Resolver(reader, window_start)
    hits = []
    for rtype, fields in _SEARCHED.items():
        for stored in for_patient(reader.resources(rtype, since=window_start), who):
            name = _matching_name(_concepts(stored.resource, fields, resolve), needle)
            if name:
                hits.append(
                    SearchHit(
                        resource_type=rtype,
                        name=name,
                        date=day(stored.date),
                        patient=patient_of(stored.resource),
                        source=source_of(stored),
                    )
                )
    hits.sort(key=lambda h: h.date or "", reverse=True)
    return SearchResults(
        query=query, hits=hits[:limit], total=len(hits), truncated=len(hits) > limit
    )


# --- health summary -------------------------------------------------------------------------

# Where "the most recent data" is looked for when choosing whose summary to give.
_CLINICAL_TYPES = (
    "Condition",
    "Observation",
    "Encounter",
    "MedicationRequest",
    "MedicationStatement",
    "Immunization",
    "Procedure",
    "AllergyIntolerance",
    "DiagnosticReport",
)


class LabDay(BaseModel):
    date: str = Field(description="A day lab results were taken (ISO date)")
    tests: int = Field(description="How many results that day")
    names: list[str] = Field(description="The tests, as recorded (up to 12)")
    sources: list[SourceRef] = Field(description="The results of that day (up to 12)")


class HealthSummary(BaseModel):
    """One person at a glance: no name, address or identifiers, only what care needs."""

    patient: str | None = Field(description="Whose summary this is (Patient/id)")
    people_in_vault: int = Field(description="How many people the vault holds records about")
    age_band: str | None = Field(description="Age in a ten-year band, e.g. '40-49'")
    sex: str | None = Field(description="Administrative gender as recorded")
    deceased: bool = Field(description="True when the record says the person has died")
    demographics_source: SourceRef | None = Field(description="The Patient resource")
    counts: dict[str, int] = Field(description="How many records of each type (in the window)")
    active_conditions: list[ConditionItem]
    active_medications: list[MedicationItem] = Field(description="As get_meds lists them")
    allergies: list[AllergyItem] = Field(description="Active allergies, as get_meds lists them")
    latest_vitals: list[VitalSign] = Field(description="Latest weight, blood pressure, BMI, …")
    recent_lab_dates: list[LabDay] = Field(description="The 5 most recent days with lab results")
    notes: list[str] = Field(description="How the summary was put together")

    def render(self) -> str:
        who = ", ".join(x for x in (self.age_band and f"age {self.age_band}", self.sex) if x)
        lines = [f"Health summary ({who or 'age and sex not recorded'})"]
        if self.active_conditions:
            names = [c.name or "?" for c in self.active_conditions[:8]]
            lines.append("Conditions: " + ", ".join(names))
        if self.active_medications:
            names = [m.name or "?" for m in self.active_medications[:8]]
            lines.append("Medications: " + ", ".join(names))
        if self.allergies:
            lines.append("Allergies: " + ", ".join(a.substance or "?" for a in self.allergies[:8]))
        for vital in self.latest_vitals:
            lines.append(vital.render())
        if self.recent_lab_dates:
            lines.append("Recent labs: " + ", ".join(d.date for d in self.recent_lab_dates))
        return "\n".join(lines)


def age_band(birth: Any, until: date) -> str | None:
    """A ten-year age band ('40-49', 'under 1', '90 or older'), or None."""
    try:
        born = date.fromisoformat(str(birth)[:10])
    except ValueError:
        return None
    years = until.year - born.year - ((until.month, until.day) < (born.month, born.day))
    if years < 1:
        return "under 1"
    if years >= 90:
        return "90 or older"
    low = years // 10 * 10
    return f"{max(low, 1)}-{low + 9}"


def _demographics(reader: Reader, who: str | None) -> dict[str, Any]:
    for stored in reader.resources("Patient"):
        if who and stored.ref == who:
            r = stored.resource
            died = r.get("deceasedDateTime")
            end = (
                date.fromisoformat(died[:10])
                if isinstance(died, str) and died[:1].isdigit()
                else None
            )
            return {
                "age_band": age_band(r.get("birthDate"), end or date.today()),
                "sex": clean(r["gender"]) if r.get("gender") else None,
                "deceased": bool(died) or r.get("deceasedBoolean") is True,
                "demographics_source": source_of(stored),
            }
    return {"age_band": None, "sex": None, "deceased": False, "demographics_source": None}


def _lab_days(stored: list[StoredResource]) -> list[LabDay]:
    by_day: dict[str, list[StoredResource]] = {}
    for s in stored:
        if s.date:
            by_day.setdefault(s.date[:10], []).append(s)
    out = []
    for d in sorted(by_day, reverse=True)[:5]:
        results = by_day[d]
        names = [n for s in results if (n := concept_name(s.resource.get("code")))]
        out.append(
            LabDay(
                date=d,
                tests=len(results),
                names=list(dict.fromkeys(names))[:12],
                sources=[source_of(s) for s in results[:12]],
            )
        )
    return out


def health_summary(
    reader: Reader, *, patient: str | None = None, window_start: str | None = None
) -> HealthSummary:
    """One person's summary: age band and sex (never name, address or identifiers), counts,
    active conditions and medications, allergies, latest vitals and recent lab days.

    With several people in the vault and no ``patient``, the one with the most recent clinical
    data is summarised and the notes say so.
    """
    window_start = check_date(window_start, "window_start")
    who = check_patient(patient)
    by_type = {t: reader.resources(t, since=window_start) for t in _CLINICAL_TYPES}
    latest: dict[str | None, str] = {}
    for stored in (s for group in by_type.values() for s in group):
        key, when = patient_of(stored.resource), stored.date or ""
        latest[key] = max(latest.get(key, ""), when)
    people = {s.ref for s in reader.resources("Patient")} | {k for k in latest if k}
    notes = []
    if who is None:
        who, note = pick_patient(
            {k: v for k, v in latest.items() if k} or dict.fromkeys(people, "")
        )
        notes += [note] if note else []
    meds = get_meds(reader, patient=who, window_start=window_start)
    labs = reader.resources("Observation", terms=["cat||laboratory"], since=window_start)
    return HealthSummary(
        patient=who,
        people_in_vault=len(people),
        **_demographics(reader, who),
        counts={t: n for t, group in by_type.items() if (n := len(for_patient(group, who)))},
        active_conditions=list_conditions(
            reader, patient=who, window_start=window_start
        ).conditions,
        active_medications=meds.medications,
        allergies=meds.allergies,
        latest_vitals=latest_vitals(reader, patient=who, window_start=window_start),
        recent_lab_dates=_lab_days([s for s in labs if patient_of(s.resource) == who]),
        notes=notes,
    )
