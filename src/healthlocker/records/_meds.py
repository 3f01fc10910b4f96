"""Medications (prescriptions, statements, dispenses) with dosage in words, and allergies.

Several people: a vault may hold the records of more than one person. Every item carries
``patient`` (``Patient/id``, from its subject or patient reference) and ``get_meds`` takes an
optional ``patient`` filter (a Patient id, with or without the ``Patient/`` prefix).

The first block holds what the other views (trends, clinical) share about people, dates and
references; it sits here because every view imports this module.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from healthlocker.records._common import (
    RXNORM,
    Reader,
    SourceRef,
    clean,
    concept_code,
    concept_name,
    day,
    source_of,
)
from healthlocker.store import StoredResource

# --- shared helpers: people, dates, references ---------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Reference data with no clinical date: looked up whatever the consent window.
_UNDATED = frozenset({"Practitioner", "PractitionerRole", "Organization", "Location", "Medication"})


def check_date(value: str | None, name: str) -> str | None:
    """*value* if it is an ISO date (YYYY-MM-DD); ValueError saying so otherwise."""
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise ValueError(f"{name} must be an ISO date like 2024-01-31, not {str(value)[:40]!r}")


def check_patient(patient: str | None) -> str | None:
    """``Patient/<id>`` for a Patient id given with or without the prefix."""
    if patient is None:
        return None
    pid = str(patient).removeprefix("Patient/")
    if not _FHIR_ID.match(pid):
        raise ValueError("patient must be a Patient id like 'Patient/abc-123' or 'abc-123'")
    return f"Patient/{pid}"


def ref_id(reference: Any, rtype: str) -> str | None:
    """The id a reference points to when it is to *rtype* (relative, absolute or versioned)."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str):
        return None
    parts = reference.split("?")[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == rtype and parts[-1]:
        return parts[-1]
    return None


def patient_of(resource: dict[str, Any]) -> str | None:
    """``Patient/<id>`` of the person a resource is about, or None."""
    for key in ("subject", "patient", "beneficiary"):
        pid = ref_id(resource.get(key), "Patient")
        if pid:
            return f"Patient/{pid}"
    return None


def for_patient(stored: list[StoredResource], patient: str | None) -> list[StoredResource]:
    """The resources about *patient* (``Patient/id``), or all of them when it is None."""
    return stored if patient is None else [s for s in stored if patient_of(s.resource) == patient]


def pick_patient(latest: dict[str | None, str]) -> tuple[str | None, str | None]:
    """Of *latest* (person → date of their newest data), the most recent one, and a note."""
    if not latest:
        return None, None
    chosen = max(latest, key=lambda k: (latest[k], k or ""))
    if len(latest) == 1:
        return chosen, None
    others = sorted(k or "(no patient reference)" for k in latest if k != chosen)
    shown = chosen or "the records with no patient reference"
    return chosen, (
        f"The vault holds data about {len(latest)} people; showing {shown} (the most recent "
        "data). Pass patient= to see another: " + ", ".join(others[:10])
    )


def as_dict(value: Any) -> dict[str, Any]:
    """*value* when it is a JSON object, else an empty one (records are untrusted shapes)."""
    return value if isinstance(value, dict) else {}


def names_of(concepts: Any) -> list[str]:
    """The names of a list of CodeableConcepts."""
    out = [concept_name(c) for c in concepts or () if isinstance(c, dict)]
    return [n for n in out if n]


def status_code(concept: Any) -> str | None:
    """The first code of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings or ():
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return None


def first_day(*values: Any) -> str | None:
    """The date part of the first dateTime (or Period start/end) among *values*."""
    for value in values:
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        if isinstance(value, str) and value[:1].isdigit():
            return day(value)
    return None


def human_name(resource: dict[str, Any]) -> str | None:
    """A clinician's or organization's display name (never used for the patient)."""
    if isinstance(resource.get("name"), str):
        return clean(resource["name"])
    for name in resource.get("name") or ():
        if isinstance(name, dict):
            parts = [*(name.get("prefix") or ()), *(name.get("given") or ()), name.get("family")]
            text = name.get("text") or " ".join(str(p) for p in parts if p)
            if text:
                return clean(text)
    return None


class Resolver:
    """Looks referenced resources up (each type loaded once; dated types within the window)."""

    def __init__(self, reader: Reader, window_start: str | None) -> None:
        self._reader = reader
        self._window_start = window_start
        self._by_id: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, reference: Any, rtype: str) -> dict[str, Any] | None:
        rid = ref_id(reference, rtype)
        if rid is None:
            return None
        if rtype not in self._by_id:
            since = None if rtype in _UNDATED else self._window_start
            stored = self._reader.resources(rtype, since=since)
            self._by_id[rtype] = {s.id: s.resource for s in stored}
        return self._by_id[rtype].get(rid)

    def name(self, reference: Any, *types: str) -> str | None:
        """The display of a reference, else the name of the resource it points to."""
        if not isinstance(reference, dict):
            return None
        if reference.get("display"):
            return clean(reference["display"])
        for rtype in types:
            target = self.get(reference, rtype)
            if target is not None:
                return human_name(target) or concept_name(target.get("code"))
        return None


# --- dosage in words ------------------------------------------------------------------------

_UNITS = {
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}
_WHEN = {
    "MORN": "in the morning",
    "AFT": "in the afternoon",
    "EVE": "in the evening",
    "NIGHT": "at night",
    "HS": "at bedtime",
    "WAKE": "on waking",
    "C": "with meals",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}
_DAYS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
# Checked in order: "subcutaneous" before "cutaneous".
_ROUTES = (
    ("oral", "by mouth"),
    ("sublingual", "under the tongue"),
    ("subcutaneous", "under the skin"),
    ("intravenous", "into a vein"),
    ("intramuscular", "into a muscle"),
    ("inhal", "inhaled"),
    ("respiratory", "inhaled"),
    ("nasal", "in the nose"),
    ("ophthalmic", "in the eye"),
    ("otic", "in the ear"),
    ("transdermal", "on the skin (patch)"),
    ("topical", "on the skin"),
    ("cutaneous", "on the skin"),
    ("rectal", "rectally"),
    ("vaginal", "vaginally"),
)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | float) and value == int(value) else str(value)


def _quantity(q: Any, noun: str = "dose") -> str | None:
    if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
        return None
    unit = q.get("unit") or q.get("code")
    if unit:
        return f"{_num(q['value'])} {clean(unit, 40)}"
    return f"{_num(q['value'])} {noun}{'' if q['value'] == 1 else 's'}"


def _dose(dosage: dict[str, Any]) -> str | None:
    for dr in dosage.get("doseAndRate") or ():
        if not isinstance(dr, dict):
            continue
        if (dose := _quantity(dr.get("doseQuantity"))) is not None:
            return dose
        low, high = (dr.get("doseRange") or {}).get("low"), (dr.get("doseRange") or {}).get("high")
        if (lo := _quantity(low)) and (hi := _quantity(high)):
            return f"{lo.split(' ')[0]}–{hi}"
    return None


def _frequency(rep: dict[str, Any]) -> str | None:
    unit, period = rep.get("periodUnit"), rep.get("period")
    if unit not in _UNITS or not isinstance(period, int | float) or period <= 0:
        return None
    one, many = _UNITS[unit]
    freq, fmax, pmax = rep.get("frequency") or 1, rep.get("frequencyMax"), rep.get("periodMax")
    if freq == 1 and not fmax and (period != 1 or pmax):
        return f"every {_num(period)}{'–' + _num(pmax) if pmax else ''} {many}"
    times = {1: "once", 2: "twice"}.get(freq, f"{_num(freq)} times")
    if fmax:
        times = f"{_num(freq)}–{_num(fmax)} times"
    per = (
        f"{'an' if one == 'hour' else 'a'} {one}" if period == 1 else f"every {_num(period)} {many}"
    )
    return f"{times} {per}"


def _timing(timing: Any) -> list[str]:
    if not isinstance(timing, dict):
        return []
    rep = as_dict(timing.get("repeat"))
    parts = [p for p in [_frequency(rep)] if p]
    parts += [_WHEN[w] for w in rep.get("when") or () if w in _WHEN]
    if rep.get("timeOfDay"):
        parts.append("at " + ", ".join(str(t)[:5] for t in rep["timeOfDay"]))
    if rep.get("dayOfWeek"):
        parts.append("on " + ", ".join(_DAYS.get(d, str(d)) for d in rep["dayOfWeek"]))
    bounds = rep.get("boundsDuration")
    if isinstance(bounds, dict) and bounds.get("value") and bounds.get("code") in _UNITS:
        one, many = _UNITS[bounds["code"]]
        parts.append(f"for {_num(bounds['value'])} {one if bounds['value'] == 1 else many}")
    if not parts and (name := concept_name(timing.get("code"))):
        parts.append(name)
    return parts


def _route(route: Any) -> str | None:
    name = concept_name(route) or concept_code(route, "http://snomed.info/sct")
    if not name:
        return None
    low = name.casefold()
    return next((words for key, words in _ROUTES if key in low), f"route: {name}")


def dosage_words(dosage: dict[str, Any]) -> str | None:
    """One dosage instruction in plain words ("1 tablet, twice a day, by mouth"), or None."""
    parts = [p for p in [_dose(dosage)] if p] + _timing(dosage.get("timing"))
    if route := _route(dosage.get("route")):
        parts.append(route)
    if dosage.get("asNeededBoolean") is True:
        parts.append("as needed")
    elif isinstance(dosage.get("asNeededCodeableConcept"), dict):
        why = concept_name(dosage["asNeededCodeableConcept"])
        parts.append(f"as needed for {why}" if why else "as needed")
    return ", ".join(parts) or None


# --- medications and allergies --------------------------------------------------------------

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


class MedicationItem(BaseModel):
    kind: Kind = Field(description="prescription (MedicationRequest), statement or dispense")
    name: str | None = Field(description="The medication, as recorded")
    rxnorm: str | None = Field(description="RxNorm code, where recorded")
    status: str | None = Field(description="active, on-hold, completed, stopped, …")
    dosage: str | None = Field(
        description="As prescribed, in words: the record's own instruction where it has one, "
        "else built from the structured dose, timing and route"
    )
    dosage_structured: str | None = Field(
        description="The structured dose, timing and route in words (e.g. '1 tablet, twice a "
        "day, by mouth'), where recorded"
    )
    started: str | None = Field(description="Prescribed or started on (ISO date)")
    ended: str | None = Field(description="Ends or ended on (ISO date), where recorded")
    prescriber: str | None = Field(description="Who prescribed or reported it")
    reason: str | None = Field(description="What it is for, as recorded")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class AllergyItem(BaseModel):
    substance: str | None = Field(description="What the person reacts to, as recorded")
    reaction: list[str] = Field(description="Recorded manifestations (hives, anaphylaxis, …)")
    criticality: str | None = Field(description="low, high or unable-to-assess")
    status: str | None = Field(description="Clinical status: active, inactive or resolved")
    category: list[str] = Field(description="food, medication, environment or biologic")
    recorded: str | None = Field(description="When it was recorded (ISO date)")
    patient: str | None = Field(description="Who it is about (Patient/id)")
    source: SourceRef


class MedicationsView(BaseModel):
    status: str = Field(description="Which medications are listed: active or all")
    medications: list[MedicationItem] = Field(description="Newest first")
    allergies: list[AllergyItem] = Field(description="Allergies and intolerances")

    def render(self) -> str:
        lines = [f"{len(self.medications)} {self.status} medication(s)"]
        for m in self.medications[:10]:
            how = f" — {m.dosage}" if m.dosage else ""
            lines.append(f"- {m.name or '(unnamed)'}{how} ({m.status or '?'}, {m.started or '?'})")
        if len(self.medications) > 10:
            lines.append(f"… and {len(self.medications) - 10} more")
        if self.allergies:
            names = [f"{a.substance or '?'} ({a.criticality or '?'})" for a in self.allergies]
            lines.append("Allergies: " + ", ".join(names[:10]))
        return "\n".join(lines)


def _medication(r: dict[str, Any], resolve: Resolver) -> tuple[str | None, str | None]:
    concept = r.get("medicationCodeableConcept")
    ref = r.get("medicationReference")
    if concept is None and isinstance(ref, dict):
        local = str(ref.get("reference", ""))
        if local.startswith("#"):
            found = (c for c in r.get("contained") or () if f"#{c.get('id')}" == local)
            target = next(found, None)
        else:
            target = resolve.get(ref, "Medication")
        if target is None:
            return (clean(ref["display"]) if ref.get("display") else None), None
        concept = target.get("code")
    return concept_name(concept), concept_code(concept, RXNORM)


def _dates(r: dict[str, Any]) -> tuple[str | None, str | None]:
    validity = as_dict(as_dict(r.get("dispenseRequest")).get("validityPeriod"))
    effective = as_dict(r.get("effectivePeriod"))
    bounds: dict[str, Any] = {}
    for dosage in r.get("dosageInstruction") or r.get("dosage") or ():
        repeat = as_dict(as_dict(as_dict(dosage).get("timing")).get("repeat"))
        bounds = as_dict(repeat.get("boundsPeriod")) or bounds
    started = first_day(
        r.get("authoredOn"),
        effective.get("start"),
        r.get("effectiveDateTime"),
        r.get("whenHandedOver"),
        validity.get("start"),
        bounds.get("start"),
    )
    return started, first_day(effective.get("end"), validity.get("end"), bounds.get("end"))


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
    started, ended = _dates(r)
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


def _allergies(
    reader: Reader, status: str, who: str | None, since: str | None
) -> list[AllergyItem]:
    out = []
    for stored in for_patient(reader.resources("AllergyIntolerance", since=since), who):
        verification = status_code(stored.resource.get("verificationStatus"))
        if verification == "entered-in-error":
            continue
        item = _allergy(stored)
        if status == "active" and (
            verification == "refuted" or item.status not in (None, "active")
        ):
            continue
        out.append(item)
    return sorted(out, key=lambda a: a.recorded or "", reverse=True)


def get_meds(
    reader: Reader,
    *,
    status: str = "active",
    patient: str | None = None,
    window_start: str | None = None,
) -> MedicationsView:
    """Medications, newest first, and allergies.

    ``active`` (the default) lists prescriptions (MedicationRequest) that are active or on
    hold and medication statements that are active, intended or on hold, plus allergies whose
    clinical status is active (or not recorded) and not refuted. ``all`` lists every status and
    adds dispenses (MedicationDispense). Records entered in error are never listed. Medications
    given by reference are resolved (contained ``#id`` or a stored Medication); prescribers
    and reasons are resolved to names.
    """
    if status not in ("active", "all"):
        raise ValueError("status must be 'active' or 'all'")
    window_start = check_date(window_start, "window_start")
    who = check_patient(patient)
    resolve = Resolver(reader, window_start)
    meds = []
    for rtype, active in _ACTIVE.items():
        for stored in for_patient(reader.resources(rtype, since=window_start), who):
            state = stored.resource.get("status")
            if state == "entered-in-error" or (status == "active" and state not in active):
                continue
            meds.append(_med_item(stored, resolve))
    meds.sort(key=lambda m: m.started or "", reverse=True)
    allergies = _allergies(reader, status, who, window_start)
    return MedicationsView(status=status, medications=meds, allergies=allergies)
