"""A health summary: one person at a glance, for an MCP resource and the visit prompt.

Age band and sex (never name, address or identifiers), record counts, active conditions and
medications, allergies, latest vital signs and the most recent days with lab results.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from healthlocker.people import patient_of
from healthlocker.records._clinical import ConditionItem, list_conditions
from healthlocker.records._common import (
    SourceRef,
    clean,
    concept_name,
    pick_patient,
    source_of,
)
from healthlocker.records._meds import AllergyItem, MedicationItem, get_meds
from healthlocker.records._scope import Scope, scoped
from healthlocker.records._trends import VitalSign, latest_vitals
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

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


class LabDay(View):
    date: str = Field(description="A day lab results were taken (ISO date)")
    tests: int = Field(description="How many results that day")
    names: list[str] = Field(description="The tests, as recorded (up to 12)")
    sources: list[SourceRef] = Field(description="The results of that day (up to 12)")


class HealthSummary(Answer):
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

    def describe(self) -> str:
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


def _demographics(reader: Scope, who: str | None) -> dict[str, Any]:
    for stored in reader.lookup("Patient"):
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


def _whom(reader: Scope) -> tuple[str | None, list[str]]:
    """The scope's person, else the one with the most recent clinical data (and a note)."""
    if reader.person is not None:
        return reader.patient, []
    latest: dict[str | None, str] = {}
    for rtype in _CLINICAL_TYPES:
        for stored in reader.lookup(rtype):
            key, when = reader.whose(patient_of(stored.resource)), stored.date or ""
            latest[key] = max(latest.get(key, ""), when)
    who, note = pick_patient(latest or dict.fromkeys(reader.people(), ""))
    return who, [note] if note else []


@scoped
def health_summary(reader: Scope) -> HealthSummary:
    """One person's summary: age band and sex (never name, address or identifiers), counts,
    active conditions and medications, allergies, latest vitals and recent lab days.

    With several people in the vault and no person in the scope, the one with the most recent
    clinical data is summarised, the notes say so, and the others' records count as withheld.
    """
    who, notes = _whom(reader)
    if reader.person is None and who is not None:
        reader = reader.narrow(who)
        who = reader.patient
    shown = {t: reader.resources(t) for t in _CLINICAL_TYPES}
    meds = get_meds(reader)
    labs = reader.resources("Observation", terms=["cat||laboratory"])
    return HealthSummary(
        patient=who,
        people_in_vault=len(reader.people()),
        **_demographics(reader, who),
        counts={t: n for t, group in shown.items() if (n := len(group))},
        active_conditions=list_conditions(reader).conditions,
        active_medications=meds.medications,
        allergies=meds.allergies,
        latest_vitals=latest_vitals(reader),
        recent_lab_dates=_lab_days(labs),
        notes=notes,
    )
