"""The overview of recorded long-term conditions: for each, the measures that follow it (latest
value, trend, how it sits against a guideline's typical target), the medications recorded for
it, and the gaps, stated as facts.

It describes recorded conditions only: it never infers a condition from a measure, and a
typical target is what a named guideline says for many adults, never advice for this person.
The map of conditions, measures, targets and drugs is ``_condition_map``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.people import patient_of
from healthlocker.records._common import (
    LOINC,
    SNOMED,
    SourceRef,
    as_dict,
    clean,
    codes_of,
    concept_name,
    condition_is_active,
    day,
    first_day,
    fmt_number,
    pick_patient,
    source_of,
)
from healthlocker.records._condition_map import GROUPS, ConditionGroup, Measure
from healthlocker.records._scope import Scope, scoped
from healthlocker.records._text import Cites, with_unit
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
TREND_READINGS = 5  # the trend is over the last readings, at most this many
STEADY = 0.05  # a change under 5% of the first value is "about the same"
GAP_DAYS = 365
_BP_PANELS = ("85354-9", "55284-4", "35094-2")
NOTE = (
    "About recorded conditions only: this describes what the records hold and never makes a "
    "diagnosis. Typical targets are what the named guideline says for many adults, not advice "
    "for you: your clinician may set different ones."
)


class Reading(View):
    date: str | None
    value: float
    unit: str | None = Field(
        default=None, description="Its unit (in `recent`, only where it differs from the latest's)"
    )


class MeasureView(View):
    name: str = Field(description="The measure, e.g. HbA1c")
    latest: Reading | None = Field(description="The latest reading, if any")
    recent: list[Reading] = Field(
        description=f"The last readings (up to {TREND_READINGS}), oldest first"
    )
    trend: str | None = Field(description="rising, falling or about the same over `recent`")
    change: float | None = Field(description="The last minus the first of `recent`")
    typical_target: str | None = Field(description="What the guideline gives for many adults")
    target_source: str | None = Field(description="The guideline it comes from")
    sits: str | None = Field(description="How the latest value sits against the typical target")
    source: SourceRef | None = Field(description="The latest reading's record")


class MedicationUse(View):
    name: str
    matched_by: str = Field(description="'reason' (recorded for it) or 'drug class' (the map)")
    status: str | None
    source: SourceRef


class ConditionOverviewItem(View):
    condition: str = Field(description="The group: diabetes, high blood pressure, …")
    recorded_as: list[str] = Field(description="The condition(s) as recorded")
    since: str | None = Field(description="The earliest onset recorded (ISO date)")
    sources: list[SourceRef]
    measures: list[MeasureView]
    medications: list[MedicationUse]
    gaps: list[str] = Field(description="Measures with no reading lately, as facts")


class ConditionOverview(Answer):
    patient: str | None = Field(description="Whom the overview is about (Patient/id)")
    people_note: str | None = Field(description="Which person is shown, when the vault has several")
    conditions: list[ConditionOverviewItem] = Field(description="Each recorded long-term condition")
    note: str = Field(description="What this is and is not")

    def describe(self) -> str:
        if not self.conditions:
            return "No recorded long-term condition the overview follows.\n" + self.note
        cite = Cites(_cited(self.conditions))
        lines = [f"{len(self.conditions)} recorded long-term condition(s). {self.note}"]
        if self.people_note:
            lines.append(self.people_note)
        for c in self.conditions:
            recorded = " ".join(cite(s) for s in c.sources)
            lines.append(f"\n{c.condition} (recorded as {'; '.join(c.recorded_as)}) {recorded}")
            for m in c.measures:
                if m.latest is None:
                    continue
                text = f"- {m.name}: {with_unit(fmt_number(m.latest.value), m.latest.unit)}"
                text += f" on {m.latest.date or '?'}" + (f" {cite(m.source)}" if m.source else "")
                if m.trend:
                    text += f", {m.trend} over the last {len(m.recent)} readings"
                if m.sits:
                    text += f"; {m.sits} ({m.typical_target}, {m.target_source})"
                lines.append(text)
            if c.medications:
                used = (f"{m.name} {cite(m.source)}" for m in c.medications)
                lines.append("- medications: " + ", ".join(used))
            lines += [f"- {g}" for g in c.gaps]
        lines.append(cite.legend())
        return "\n".join(lines)


def _cited(conditions: list[ConditionOverviewItem]) -> list[SourceRef]:
    """Every record the overview cites: the conditions, each measure's latest reading, and the
    medications."""
    refs = [s for c in conditions for s in c.sources]
    refs += [m.source for c in conditions for m in c.measures if m.source is not None]
    return refs + [m.source for c in conditions for m in c.medications]


@dataclass
class _Found:
    group: ConditionGroup
    records: list[StoredResource]


def _group_of(r: dict[str, Any]) -> ConditionGroup | None:
    code = r.get("code")
    snomed = codes_of(code, SNOMED)
    icd = {c for system in ICD10 for c in codes_of(code, system)}
    name = concept_name(code) or ""
    for group in GROUPS:
        if group.exclude is not None and group.exclude.search(name):
            continue
        if snomed & group.snomed or any(c.startswith(group.icd10) for c in icd):
            return group
        if group.words.search(name):
            return group
    return None


def _chosen(condition: str | None) -> tuple[ConditionGroup, ...]:
    if condition is None:
        return GROUPS
    asked = " ".join(condition.lower().split())
    found = tuple(g for g in GROUPS if asked in g.names or asked == g.key.lower())
    if not found:
        found = tuple(g for g in GROUPS if g.words.search(asked))
    if not found:
        known = ", ".join(g.key for g in GROUPS)
        raise ArgumentError(
            f"condition must be one the overview follows ({known}), got {condition[:40]!r}"
        )
    return found


@scoped
def condition_overview(reader: Scope, *, condition: str | None = None) -> ConditionOverview:
    """Each recorded, active long-term condition with its measures, medications and gaps."""
    wanted = _chosen(condition)
    reader, people_note = _one_person(reader)
    found: dict[str, _Found] = {}

    def keep(stored: StoredResource) -> bool:
        r = stored.resource
        group = _group_of(r) if condition_is_active(r) else None
        return group is not None and group in wanted

    for stored in reader.resources("Condition", where=keep, kind="conditions"):
        if keep(stored):
            group = _group_of(stored.resource)
            assert group is not None
            found.setdefault(group.key, _Found(group, [])).records.append(stored)
    items = [_overview(reader, f) for g in wanted if (f := found.get(g.key)) is not None]
    return ConditionOverview(
        patient=reader.patient, people_note=people_note, conditions=items, note=NOTE
    )


def _one_person(reader: Scope) -> tuple[Scope, str | None]:
    """The scope of one person: the one asked for, else (several in the vault) the one with the
    most recent condition recorded, and a note saying so."""
    if reader.person is not None or len(reader.people()) < 2:
        return reader, None
    latest: dict[str | None, str] = {}
    for stored in reader.lookup("Condition"):
        who = reader.whose(patient_of(stored.resource))
        latest[who] = max(latest.get(who, ""), stored.date or "")
    who, note = pick_patient(latest)
    return (reader.narrow(who), note) if who is not None else (reader, None)


def _overview(reader: Scope, found: _Found) -> ConditionOverviewItem:
    group, records = found.group, found.records
    measures = [_measure(reader, m) for m in group.measures]
    cutoff = (date.today() - timedelta(days=GAP_DAYS)).isoformat()
    gaps = []
    for m in measures:
        if m.latest is None:
            gaps.append(f"no {m.name} recorded")
        elif (m.latest.date or "") < cutoff:
            gaps.append(
                f"no {m.name} recorded in the last 12 months (the latest is from {m.latest.date})"
            )
    onsets = [
        d
        for s in records
        if (
            d := first_day(
                s.resource.get("onsetDateTime"),
                s.resource.get("onsetPeriod"),
                s.resource.get("recordedDate"),
            )
        )
    ]
    return ConditionOverviewItem(
        condition=group.key,
        recorded_as=list(
            dict.fromkeys(concept_name(s.resource.get("code")) or "(unnamed)" for s in records)
        ),
        since=min(onsets) if onsets else None,
        sources=[source_of(s) for s in records],
        measures=measures,
        medications=_medications(reader, group, {s.id for s in records}),
        gaps=gaps,
    )


def readings(reader: Scope, measure: Measure) -> list[tuple[Reading, StoredResource]]:
    """Every reading of *measure* the scope lets the call read, oldest first (a component of a
    panel, such as blood pressure's, counts as a reading)."""
    terms = [f"code|{LOINC}|{c}" for c in (*measure.loinc, *_BP_PANELS)]
    wanted = set(measure.loinc)
    out = []
    for stored in reader.resources(
        "Observation",
        terms=terms,
        kind="measurements",
        where=lambda s: _value(s.resource, wanted) is not None,
    ):
        got = _value(stored.resource, wanted)
        if got is not None:
            out.append((Reading(date=day(stored.date), value=got[0], unit=got[1]), stored))
    out.sort(key=lambda pair: (pair[1].date or "", pair[1].ref))
    return out


def _value(r: dict[str, Any], wanted: set[str]) -> tuple[float, str | None] | None:
    if r.get("status") in ("entered-in-error", "cancelled"):
        return None
    for part in (r, *(as_dict(c) for c in r.get("component") or ())):
        if codes_of(part.get("code"), LOINC) & wanted:
            quantity = as_dict(part.get("valueQuantity"))
            value = quantity.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                unit = quantity.get("unit") or quantity.get("code")
                return float(value), clean(unit) if unit else None
    return None


def _measure(reader: Scope, measure: Measure) -> MeasureView:
    found = readings(reader, measure)
    latest = found[-1] if found else None
    unit = latest[0].unit if latest else None
    recent = [  # lean: the unit only where it is not the latest's
        r if r.unit != unit else Reading(date=r.date, value=r.value)
        for r, _ in found[-TREND_READINGS:]
    ]
    trend = change = None
    if len(recent) >= 2:
        change = round(recent[-1].value - recent[0].value, 6)
        steady = abs(change) < STEADY * abs(recent[0].value) if recent[0].value else change == 0
        trend = "about the same" if steady else ("rising" if change > 0 else "falling")
    sits = measure.sits(latest[0].value) if latest is not None and measure.sits else None
    return MeasureView(
        name=measure.name,
        latest=latest[0] if latest else None,
        recent=recent,
        trend=trend,
        change=change,
        typical_target=measure.target,
        target_source=measure.source,
        sits=sits,
        source=source_of(latest[1]) if latest else None,
    )


def _medications(reader: Scope, group: ConditionGroup, conditions: set[str]) -> list[MedicationUse]:
    out: dict[str, MedicationUse] = {}
    for rtype in ("MedicationRequest", "MedicationStatement"):
        for stored in reader.lookup(rtype):
            r = stored.resource
            if r.get("status") in ("entered-in-error", "cancelled", "stopped", "completed"):
                continue
            name = concept_name(r.get("medicationCodeableConcept")) or concept_name(
                {"text": as_dict(r.get("medicationReference")).get("display")}
            )
            if not name:
                continue
            reasons = {
                str(as_dict(ref).get("reference", "")).rsplit("/", 1)[-1]
                for ref in r.get("reasonReference") or ()
            }
            reason_groups = {_group_of({"code": c}) for c in r.get("reasonCode") or ()}
            if reasons & conditions or group in reason_groups:
                how = "reason"
            elif name.split()[0].lower().strip(",") in group.drugs:
                how = "drug class"
            else:
                continue
            key = name.lower()
            if key not in out or (how == "reason" and out[key].matched_by != "reason"):
                out[key] = MedicationUse(
                    name=name, matched_by=how, status=r.get("status"), source=source_of(stored)
                )
    return sorted(out.values(), key=lambda m: m.name.lower())
