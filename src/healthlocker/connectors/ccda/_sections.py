"""The catalogue of C-CDA sections: how each is recognised, named, and what its entries become.

One table (``CATALOGUE``): a section is recognised by its templateId (with or without "entries
required") or, failing that, its code (LOINC, or DICOM for imaging reports). A section with a
mapper has its entries mapped; one without keeps its text in the document's DocumentReference
(as every section does) and its entries are counted as not imported. docs/ccda.md lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from healthlocker.connectors.ccda._events import encounters, procedures
from healthlocker.connectors.ccda._map import Context, Mapper, allergies, conditions
from healthlocker.connectors.ccda._meds import immunizations, medications
from healthlocker.connectors.ccda._results import results, social_history, vital_signs
from healthlocker.connectors.ccda._types import local
from healthlocker.connectors.ccda._values import Resource

_T = "2.16.840.1.113883.10.20.22.2."  # C-CDA section templateIds
_IHE = "1.3.6.1.4.1.19376.1.5.3.1."  # IHE section templateIds that C-CDA reuses


@dataclass(frozen=True)
class Section:
    name: str  # for the import summary; never the document's own title (it may say anything)
    codes: tuple[str, ...]
    templates: tuple[str, ...] = ()
    mapper: Mapper | None = None  # None: entries not imported; the section's text is kept


def _administered(el: Any, ctx: Context) -> Iterator[Resource]:
    """Procedure anesthesia: the drugs given (done) and the anesthesia procedures."""
    if local(el) == "substanceAdministration":
        yield from medications(el, ctx, administered=True, category=_ANESTHESIA)
    else:
        yield from procedures(el, ctx)


_ANESTHESIA = ("59774-0", "Procedure anesthesia")
_DIAGNOSES = partial(conditions, category="encounter-diagnosis", status=None)

CATALOGUE: tuple[Section, ...] = (
    # -- entries mapped
    Section("problems", ("11450-4",), (_T + "5", _T + "5.1"), conditions),
    Section("medications", ("10160-0",), (_T + "1", _T + "1.1"), medications),
    Section("allergies", ("48765-2",), (_T + "6", _T + "6.1"), allergies),
    Section("results", ("30954-2",), (_T + "3", _T + "3.1"), results),
    Section("vital signs", ("8716-3",), (_T + "4", _T + "4.1"), vital_signs),
    Section("immunizations", ("11369-6",), (_T + "2", _T + "2.1"), immunizations),
    Section("encounters", ("46240-8",), (_T + "22", _T + "22.1"), encounters),
    Section("procedures", ("47519-4",), (_T + "7", _T + "7.1"), procedures),
    Section(
        "hospital discharge medications",
        ("10183-2", "75311-1"),
        (_T + "11", _T + "11.1"),
        partial(medications, request=True),
    ),
    Section(
        "admission medications",
        ("42346-7",),
        (_T + "44",),
        partial(medications, category=("42346-7", "Medications on admission")),
    ),
    Section(
        "medications administered",
        ("29549-3",),
        (_T + "38",),
        partial(medications, administered=True, category=("29549-3", "Medications administered")),
    ),
    Section("procedure anesthesia", ("59774-0",), (_T + "25",), _administered),
    Section(
        "past medical history",
        ("11348-0",),
        (_T + "20",),
        partial(conditions, status="inactive"),
    ),
    Section("hospital admission diagnosis", ("46241-6", "42347-5"), (_T + "43",), _DIAGNOSES),
    Section("hospital discharge diagnosis", ("11535-2", "78375-3"), (_T + "24",), _DIAGNOSES),
    Section("preoperative diagnosis", ("10219-4",), (_T + "34",), _DIAGNOSES),
    Section("postoperative diagnosis", ("10218-6",), (_T + "35",), _DIAGNOSES),
    Section("postprocedure diagnosis", ("59769-0",), (_T + "36",), _DIAGNOSES),
    Section("complications", ("55109-3",), (_T + "37",), _DIAGNOSES),
    Section("procedure findings", ("59776-5",), (_T + "28",), _DIAGNOSES),
    Section("social history", ("29762-2",), (_T + "17",), social_history),
    # -- entries not imported (planned, or no FHIR resource here yet); the text is kept
    Section("plan of care", ("18776-5",), (_T + "10",)),
    Section("functional status", ("47420-5",), (_T + "14",)),
    Section("mental status", ("10190-7",), (_T + "56",)),
    Section("nutrition", ("61144-2",), (_T + "57",)),
    Section("family history", ("10157-6",), (_T + "15",)),
    Section("advance directives", ("42348-3",), (_T + "21", _T + "21.1")),
    Section("payers", ("48768-6",), (_T + "18",)),
    Section("medical equipment", ("46264-8",), (_T + "23",)),
    Section("goals", ("61146-7",), (_T + "60",)),
    Section("health concerns", ("75310-3",), (_T + "58",)),
    Section("health status evaluations and outcomes", ("11383-7",), (_T + "61",)),
    Section("interventions", ("62387-6",)),
    Section("instructions", ("69730-0",), (_T + "45",)),
    Section("hospital discharge instructions", ("8653-8",), (_T + "41",)),
    Section("reason for referral", ("42349-1",), (_IHE + "3.1",)),
    Section("reason for visit", ("29299-5",), (_T + "12",)),
    Section("chief complaint", ("10154-3",), (_IHE + "1.13.2.1",)),
    Section("chief complaint and reason for visit", ("46239-0",), (_T + "13",)),
    Section("assessment", ("51848-0",), (_T + "8",)),
    Section("assessment and plan", ("51847-2",), (_T + "9",)),
    Section("history of present illness", ("10164-2",), (_IHE + "3.4",)),
    Section("review of systems", ("10187-3",), (_IHE + "3.18",)),
    Section("physical exam", ("29545-1",)),
    Section("general status", ("10210-3",)),
    Section("skin findings", ("8709-8",)),
    Section("hospital course", ("8648-8",)),
    Section("hospital consultations", ("18841-7",)),
    Section("hospital discharge physical findings", ("10184-0",)),
    Section("hospital discharge studies summary", ("11493-4",)),
    Section("discharge diet", ("42344-2",)),
    Section("medical history", ("11329-0",)),
    Section("procedure description", ("29554-3",)),
    Section("procedure indications", ("59768-2",)),
    Section("procedure implants", ("59771-6",)),
    Section("procedure specimens taken", ("59773-2",)),
    Section("procedure estimated blood loss", ("59770-8",)),
    Section("procedure disposition", ("59775-7",)),
    Section("planned procedure", ("59772-4",)),
    Section("surgical drains", ("11537-8",)),
    Section("operative fluids", ("10216-0",)),
    Section("operations performed", ("10223-6",)),
    Section("objective", ("61149-1",)),
    Section("subjective", ("61150-9",)),
    Section("summary purpose", ("48764-5",)),
    Section("DICOM object catalog", ("121181",)),
    Section("imaging indications", ("121109",)),
    Section("imaging findings", ("121070",)),
    Section("imaging impressions", ("121072",)),
)
BY_TEMPLATE = {t: s for s in CATALOGUE for t in s.templates}
BY_CODE = {c: s for s in CATALOGUE for c in s.codes}


def find(templates: list[str], code: str | None) -> Section | None:
    """The catalogue's section for these templateIds (first) or this code."""
    for root in templates:
        if root in BY_TEMPLATE:
            return BY_TEMPLATE[root]
    return BY_CODE.get(code or "")
