"""A health summary: one person at a glance, for an MCP resource and the visit prompt.

Age band and sex (never name, address or identifiers), record counts, active conditions and
medications, allergies, latest vital signs and recent lab results with their values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import Field

from healthlocker.people import patient_of
from healthlocker.records._catalog import Flag
from healthlocker.records._clinical import list_conditions
from healthlocker.records._common import (
    SourceRef,
    clean,
    pick_patient,
    source_of,
)
from healthlocker.records._labresult import FLAG_WORDS as _FLAG_WORDS
from healthlocker.records._labresult import LabResult
from healthlocker.records._labs import list_labs
from healthlocker.records._meds import get_meds
from healthlocker.records._scope import KINDS, Scope, scoped
from healthlocker.records._text import Cites
from healthlocker.records._trends import latest_vitals
from healthlocker.records._trendview import VitalSign
from healthlocker.records._view import Answer, View

CAP = 10  # items per list: a summary, not the whole record (the other tools have the rest)
_CALM = ("normal", "unknown")
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


class SummaryCondition(View):
    name: str | None = Field(default=None, description="The condition, as recorded")
    onset: str | None = Field(default=None, description="When it began (ISO date), if recorded")
    source: SourceRef


class SummaryMedication(View):
    name: str | None = Field(default=None, description="The medication, as recorded")
    dosage: str | None = Field(default=None, description="As prescribed, in words")
    reason: str | None = Field(default=None, description="What it is for, as recorded")
    source: SourceRef


class SummaryAllergy(View):
    substance: str | None = Field(default=None, description="What the person reacts to")
    reaction: list[str] = Field(description="Recorded manifestations")
    criticality: str | None = Field(default=None, description="low, high or unable-to-assess")
    source: SourceRef


class SummaryLab(View):
    test: str = Field(description="The test's plain name (its name as recorded if not known)")
    value: str = Field(description="The value with its unit, as recorded (e.g. '110 mg/dL')")
    flag: Flag = Field(description="low, high, normal, abnormal, critical or unknown")
    range: str | None = Field(
        default=None, description="The range it was compared with, saying whose (lab or typical)"
    )
    notice: str | None = Field(default=None, description="Set for critical results")
    date: str | None = Field(default=None, description="Date of the result (YYYY-MM-DD)")
    source: SourceRef

    @classmethod
    def of(cls, r: LabResult) -> SummaryLab:
        return cls(
            test=r.label,
            value=r.shown(),
            flag=r.flag,
            range=r.range_words() or None,
            notice=r.notice,
            date=r.date,
            source=r.source,
        )

    def line(self, cite: Cites) -> str:
        said = _FLAG_WORDS[self.flag] + (f" ({self.range})" if self.range else "")
        return f"{self.test} {self.value}, {said} {cite(self.source)}"


class HealthSummary(Answer):
    """One person at a glance: no name, address or identifiers, only what care needs."""

    patient: str | None = Field(default=None, description="Whose summary this is (Patient/id)")
    people_in_vault: int = Field(description="How many people the vault holds records about")
    age_band: str | None = Field(default=None, description="Age in a ten-year band, e.g. '40-49'")
    sex: str | None = Field(default=None, description="Administrative gender as recorded")
    deceased: bool = Field(description="True when the record says the person has died")
    demographics_source: SourceRef | None = Field(default=None, description="The Patient resource")
    counts: dict[str, int] = Field(description="How many records of each type (in the window)")
    active_conditions: list[SummaryCondition] = Field(
        description=f"Conditions still going on, newest onset first (at most {CAP})"
    )
    active_medications: list[SummaryMedication] = Field(
        description=f"Current medications, newest first (at most {CAP}; get_meds has details)"
    )
    allergies: list[SummaryAllergy] = Field(description="Active allergies")
    latest_vitals: list[VitalSign] = Field(description="Latest weight, blood pressure, BMI, …")
    recent_labs: list[SummaryLab] = Field(
        description="The latest lab day's results (flagged ones first, at most 8) and the "
        "results flagged out of range in the year before it (the newest per test, at most 6)"
    )
    more: dict[str, int] = Field(
        default_factory=dict,
        description="How many more active conditions, current medications or lab results of "
        "the latest day there are than listed",
    )
    notes: list[str] = Field(description="How the summary was put together")

    def describe(self) -> str:
        facts = self.facts()
        notes = [f"Note: {n}" for n in self.notes]
        return "\n".join([*facts[:-1], *notes, facts[-1]])

    def facts(self) -> list[str]:
        """The summary's lines without the notes on how it was put together (which speak of the
        tool's own arguments); the last line is the legend of the source references."""
        who = ", ".join(x for x in (self.age_band and f"age {self.age_band}", self.sex) if x)
        cite = Cites(_cited(self))
        lines = [
            f"Health summary: {who or 'age and sex not recorded'}"
            + (f" {cite(self.demographics_source)}." if self.demographics_source else ".")
        ]
        if self.deceased:
            lines.append("The record says this person has died.")
        lines.append(_section("Active conditions", self.active_conditions, self.more, cite))
        lines.append(_section("Current medications", self.active_medications, self.more, cite))
        lines.append(_section("Allergies", self.allergies, self.more, cite))
        vitals = "; ".join(v.line(cite) for v in self.latest_vitals)
        lines.append(f"Latest vital signs: {vitals or 'none recorded'}.")
        lines.append(_labs_line(self.recent_labs, self.more, cite))
        counts = ", ".join(f"{n:,} {KINDS.get(t, t)}" for t, n in self.counts.items())
        lines.append(f"Records: {counts or 'none'}.")
        lines.append(cite.legend() or "No records are cited.")
        return lines


Listed = SummaryCondition | SummaryMedication | SummaryAllergy


def _cited(view: HealthSummary) -> list[SourceRef]:
    items: list[Listed | VitalSign | SummaryLab] = [
        *view.active_conditions,
        *view.active_medications,
        *view.allergies,
        *view.latest_vitals,
        *view.recent_labs,
    ]
    first = [view.demographics_source] if view.demographics_source else []
    return first + [i.source for i in items]


def _item(item: Listed, cite: Cites) -> str:
    if isinstance(item, SummaryCondition):
        return (
            f"{item.name or '?'}"
            + (f" since {item.onset}" if item.onset else "")
            + (f" {cite(item.source)}")
        )
    if isinstance(item, SummaryMedication):
        facts = [item.dosage or "", f"for {item.reason}" if item.reason else ""]
        said = ", ".join(f for f in facts if f)
        return f"{item.name or '?'}" + (f" ({said})" if said else "") + f" {cite(item.source)}"
    facts = [
        ", ".join(item.reaction),
        f"criticality {item.criticality}" if item.criticality else "",
    ]
    said = "; ".join(f for f in facts if f)
    return f"{item.substance or '?'}" + (f" ({said})" if said else "") + f" {cite(item.source)}"


_MORE_KEYS = {
    "Active conditions": "active_conditions",
    "Current medications": "active_medications",
    "Allergies": "allergies",
}


def _section(title: str, items: Sequence[Listed], more: dict[str, int], cite: Cites) -> str:
    extra = more.get(_MORE_KEYS[title], 0)
    if not items:
        return f"{title}: none recorded."
    tail = f"; and {extra} more" if extra else ""
    return (
        f"{title} ({len(items) + extra}): " + "; ".join(_item(i, cite) for i in items) + tail + "."
    )


def _labs_line(labs: list[SummaryLab], more: dict[str, int], cite: Cites) -> str:
    if not labs:
        return "Recent lab results: none recorded."
    latest = labs[0].date
    same = [r for r in labs if r.date == latest]
    earlier = [r for r in labs if r.date != latest]
    extra = more.get("recent_labs", 0)
    text = f"Lab results of {latest}: " + "; ".join(r.line(cite) for r in same)
    if extra:
        text += f"; and {extra} more that day, none flagged"
    if earlier:
        text += ". Flagged in the year before: " + "; ".join(
            f"{r.date} {r.line(cite)}" for r in earlier
        )
    return text + "."


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


def _recent_labs(reader: Scope) -> tuple[list[SummaryLab], int]:
    """The latest lab day's results (flagged first, at most 3 unless more are flagged) and
    the year before's flagged results (the newest per test, at most 3); and how many results of
    the latest day are left out (none of them flagged)."""
    newest = list_labs(reader, limit=1).results
    if not newest or newest[0].date is None:
        return [], 0
    day = newest[0].date
    year_before = (date.fromisoformat(day[:10]) - timedelta(days=365)).isoformat()
    year = list_labs(reader, since=year_before, limit=200).results
    same = sorted((r for r in year if r.date == day), key=lambda r: r.flag in _CALM)
    keep = max(3, sum(r.flag not in _CALM for r in same))
    flagged: dict[str, LabResult] = {}
    for r in year:
        if r.date != day and r.flag not in _CALM and r.key not in {x.key for x in same}:
            flagged.setdefault(r.key, r)
    shown = same[:keep] + list(flagged.values())[:3]
    return [SummaryLab.of(r) for r in shown], max(len(same) - keep, 0)


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
    conditions = list_conditions(reader).conditions
    labs, more_labs = _recent_labs(reader)
    more = {
        "active_conditions": max(len(conditions) - CAP, 0),
        "active_medications": max(len(meds.medications) - CAP, 0),
        "recent_labs": more_labs,
    }
    summary = HealthSummary(
        patient=who,
        people_in_vault=len(reader.people()),
        **_demographics(reader, who),
        counts={t: n for t, group in shown.items() if (n := len(group))},
        active_conditions=[
            SummaryCondition(name=c.name, onset=c.onset, source=c.source) for c in conditions[:CAP]
        ],
        active_medications=[
            SummaryMedication(name=m.name, dosage=m.dosage, reason=m.reason, source=m.source)
            for m in meds.medications[:CAP]
        ],
        allergies=[
            SummaryAllergy(
                substance=a.substance,
                reaction=a.reaction,
                criticality=a.criticality,
                source=a.source,
            )
            for a in meds.allergies
        ],
        latest_vitals=latest_vitals(reader),
        recent_labs=labs,
        more={k: n for k, n in more.items() if n},
        notes=notes,
    )
    return _nameless(summary, _name_words(reader))


def _name_words(reader: Scope) -> set[str]:
    """The words of every name the vault's Patient records give (letters only, two or more)."""
    words: set[str] = set()
    for stored in reader.lookup("Patient"):
        for name in stored.resource.get("name") or []:
            if isinstance(name, dict):
                parts = [name.get("family"), *(name.get("given") or []), name.get("text")]
                words |= {w for p in parts if isinstance(p, str) for w in _words(p)}
    return words


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W\d_]{2,}", text)}


def _nameless(summary: HealthSummary, names: set[str]) -> HealthSummary:
    """*summary* with each source label that holds a person's name (a file named after them,
    as Synthea's and Dexcom Clarity's are) read as "import 1 (label withheld: …)": the overview
    promises no name, and a label is the person's own choice or a file name."""
    data = summary.model_dump(mode="json", exclude_none=True)
    holders = _labelled(data)
    labels = sorted({h["origin"] for h in holders if _words(h["origin"]) & names})
    if not labels:
        return summary
    plain = {
        label: f"import {n} (label withheld: it holds a name)" for n, label in enumerate(labels, 1)
    }
    for holder in holders:
        holder["origin"] = plain.get(holder["origin"], holder["origin"])
    return HealthSummary.model_validate(data)


def _labelled(value: Any) -> list[dict[str, Any]]:
    """Every object in *value* that names a source label (``origin``): each record's source and
    each other source holding the same fact."""
    if isinstance(value, list):
        return [h for item in value for h in _labelled(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if isinstance(value.get("origin"), str) else []
    return own + [h for item in value.values() for h in _labelled(item)]
