"""Medications (prescriptions, statements, dispenses) with dosage in words, and allergies.

Several people: a vault may hold the records of more than one person. Every item carries
``patient`` (``Patient/id``, from its subject or patient reference); a ``Scope`` with a patient
keeps one person's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from healthlocker.people import patient_of
from healthlocker.records._common import (
    RXNORM,
    SourceRef,
    check_choice,
    clean,
    concept_code,
    concept_name,
    contained,
    first_day,
    medication_dates,
    names_of,
    source_of,
    status_code,
)
from healthlocker.records._dosage import dosage_words
from healthlocker.records._scope import Resolver, Scope, scoped
from healthlocker.records._text import Cites
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

Kind = Literal["prescription", "statement", "dispense"]
_KINDS: dict[str, Kind] = {
    "MedicationRequest": "prescription",
    "MedicationStatement": "statement",
    "MedicationDispense": "dispense",
}
# What "active" keeps, per resource type; dispenses are events, listed under "all" only.
_ACTIVE = {
    "MedicationRequest": frozenset({"active", "on-hold"}),
    "MedicationStatement": frozenset({"active", "intended", "on-hold"}),
    "MedicationDispense": frozenset(),
}


_BY: dict[str, str] = {
    "prescription": "prescribed by",
    "statement": "reported by",
    "dispense": "dispensed by",
}


class MedicationItem(View):
    kind: Kind = Field(description="prescription (MedicationRequest), statement or dispense")
    name: str | None = Field(default=None, description="The medication, as recorded")
    rxnorm: str | None = Field(default=None, description="RxNorm code, where recorded")
    status: str | None = Field(default=None, description="active, on-hold, completed, stopped, …")
    dosage: str | None = Field(
        default=None,
        description="As prescribed, in words: the record's own instruction where it has one, "
        "else built from the structured dose, timing and route",
    )
    dosage_structured: str | None = Field(
        default=None,
        description="The structured dose, timing and route in words (e.g. '1 tablet, twice a "
        "day, by mouth'), where recorded (left out when it is `dosage` itself)",
    )
    started: str | None = Field(default=None, description="Prescribed or started on (ISO date)")
    ended: str | None = Field(default=None, description="Ends or ended on (ISO date), if recorded")
    prescriber: str | None = Field(default=None, description="Who prescribed or reported it")
    reason: str | None = Field(default=None, description="What it is for, as recorded")
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    @model_serializer(mode="wrap")
    def _lean(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if isinstance(data, dict) and info.exclude_none and self.dosage_structured == self.dosage:
            data.pop("dosage_structured", None)
        return data

    def line(self, cite: Cites) -> str:
        """``metformin 500 MG Oral Tablet (RxNorm 860975; prescription, active): Take 1 …``"""
        what = ", ".join(x for x in (self.kind, self.status) if x)
        code = f"RxNorm {self.rxnorm}; " if self.rxnorm else ""
        facts = [self.dosage or "dosage not recorded"]
        if self.dosage_structured and self.dosage_structured != self.dosage:
            facts[0] += f" (coded: {self.dosage_structured})"
        facts += [
            f"started {self.started}" if self.started else "",
            f"ended {self.ended}" if self.ended else "",
            f"{_BY[self.kind]} {self.prescriber}" if self.prescriber else "",
            f"for {self.reason}" if self.reason else "",
        ]
        said = "; ".join(f for f in facts if f)
        return f"{self.name or '(unnamed)'} ({code}{what}): {said} {cite(self.source)}"


class AllergyItem(View):
    substance: str | None = Field(default=None, description="What the person reacts to")
    reaction: list[str] = Field(description="Recorded manifestations (hives, anaphylaxis, …)")
    criticality: str | None = Field(default=None, description="low, high or unable-to-assess")
    status: str | None = Field(
        default=None, description="Clinical status: active, inactive or resolved"
    )
    category: list[str] = Field(description="food, medication, environment or biologic")
    recorded: str | None = Field(default=None, description="When it was recorded (ISO date)")
    patient: str | None = Field(default=None, description="Who it is about (Patient/id)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        """``Peanut: Anaphylaxis; criticality high; active; food; recorded 2016-03-01 [ab12]``"""
        facts = [
            ", ".join(self.reaction) or "reaction not recorded",
            f"criticality {self.criticality}" if self.criticality else "",
            self.status or "",
            ", ".join(self.category),
            f"recorded {self.recorded}" if self.recorded else "",
        ]
        said = "; ".join(f for f in facts if f)
        return f"{self.substance or '(substance not recorded)'}: {said} {cite(self.source)}"


class MedicationsView(Answer):
    status: str = Field(description="Which medications are listed: active or all")
    medications: list[MedicationItem] = Field(description="Newest first")
    allergies: list[AllergyItem] = Field(description="Allergies and intolerances")

    def describe(self) -> str:
        n = len(self.medications)
        if self.status == "active":
            head = f"Medications: {n} current (active, on hold or intended), newest first."
        else:
            head = f"Medications: {n}, current and past (with pharmacy fills), newest first."
        cite = Cites(
            [*(m.source for m in self.medications), *(a.source for a in self.allergies)],
            [*(m.patient for m in self.medications), *(a.patient for a in self.allergies)],
        )
        lines = [head, *(f"- {m.line(cite)}{cite.whose(m.patient)}" for m in self.medications)]
        which = "Allergies" if self.status == "all" else "Allergies (active)"
        if self.allergies:
            lines.append(f"{which}: {len(self.allergies)}")
            lines.extend(f"- {a.line(cite)}{cite.whose(a.patient)}" for a in self.allergies)
        else:
            lines.append(f"{which}: none recorded.")
        lines.append(cite.legend())
        return "\n".join(line for line in lines if line)


def _medication(r: dict[str, Any], resolve: Resolver) -> tuple[str | None, str | None]:
    concept = r.get("medicationCodeableConcept")
    ref = r.get("medicationReference")
    if concept is None and isinstance(ref, dict):
        target = contained(r, ref.get("reference")) or resolve.get(ref, "Medication")
        if target is None:
            return (clean(ref["display"]) if ref.get("display") else None), None
        concept = target.get("code")
    return concept_name(concept), concept_code(concept, RXNORM)


def _med_item(stored: StoredResource, resolve: Resolver) -> MedicationItem:
    r = stored.resource
    dosages = [
        d for d in r.get("dosageInstruction") or r.get("dosage") or () if isinstance(d, dict)
    ]
    texts = [clean(d["text"]) for d in dosages if d.get("text")]
    words = [w for d in dosages if (w := dosage_words(d))]
    reasons = names_of(r.get("reasonCode"))
    reasons += [
        n for ref in r.get("reasonReference") or () if (n := resolve.name(ref, "Condition"))
    ]
    performer = next(
        (p.get("actor") for p in r.get("performer") or () if isinstance(p, dict)), None
    )
    who = r.get("requester") or r.get("informationSource") or performer
    name, rxnorm = _medication(r, resolve)
    started, ended = medication_dates(r)
    return MedicationItem(
        kind=_KINDS[stored.resource_type],
        name=name,
        rxnorm=rxnorm,
        status=r.get("status"),
        dosage="; ".join(texts or words) or None,
        dosage_structured="; ".join(words) or None,
        started=started,
        ended=ended,
        prescriber=resolve.name(who, "Practitioner", "Organization"),
        reason="; ".join(dict.fromkeys(reasons)) or None,
        patient=patient_of(r),
        source=source_of(stored),
    )


def _allergy(stored: StoredResource) -> AllergyItem:
    r = stored.resource
    reactions = [x for x in r.get("reaction") or () if isinstance(x, dict)]
    substance = concept_name(r.get("code")) or next(
        (n for x in reactions if (n := concept_name(x.get("substance")))), None
    )
    return AllergyItem(
        substance=substance,
        reaction=list(
            dict.fromkeys(n for x in reactions for n in names_of(x.get("manifestation")))
        ),
        criticality=r.get("criticality"),
        status=status_code(r.get("clinicalStatus")),
        category=[str(c) for c in r.get("category") or ()],
        recorded=first_day(r.get("recordedDate"), r.get("onsetDateTime"), r.get("onsetPeriod")),
        patient=patient_of(r),
        source=source_of(stored),
    )


def _keeps_allergy(stored: StoredResource, status: str) -> bool:
    r = stored.resource
    verification = status_code(r.get("verificationStatus"))
    if verification == "entered-in-error":
        return False
    return status == "all" or (
        verification != "refuted" and status_code(r.get("clinicalStatus")) in (None, "active")
    )


def _keeps_medication(stored: StoredResource, status: str) -> bool:
    state = stored.resource.get("status")
    return state != "entered-in-error" and (
        status == "all" or state in _ACTIVE[stored.resource_type]
    )


@scoped
def get_meds(reader: Scope, *, status: str = "active") -> MedicationsView:
    """Medications, newest first, and allergies.

    ``active`` (the default) lists prescriptions (MedicationRequest) that are active or on
    hold and medication statements that are active, intended or on hold, plus allergies whose
    clinical status is active (or not recorded) and not refuted. ``all`` lists every status and
    adds dispenses (MedicationDispense). Records entered in error are never listed. Medications
    given by reference are resolved (contained ``#id`` or a stored Medication); prescribers
    and reasons are resolved to names.
    """
    check_choice(status, "status", ("active", "all"))
    resolve = Resolver(reader)
    meds = [
        _med_item(stored, resolve)
        for rtype in _ACTIVE
        for stored in reader.resources(rtype, where=lambda s: _keeps_medication(s, status))
        if _keeps_medication(stored, status)
    ]
    meds.sort(key=lambda m: m.started or "", reverse=True)
    allergies = [
        _allergy(stored)
        for stored in reader.resources(
            "AllergyIntolerance", where=lambda s: _keeps_allergy(s, status)
        )
        if _keeps_allergy(stored, status)
    ]
    allergies.sort(key=lambda a: a.recorded or "", reverse=True)
    return MedicationsView(status=status, medications=meds, allergies=allergies)
