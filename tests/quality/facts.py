"""What a person's FHIR files say, read here on their own: the scorecard's expected answers.

Deliberately independent of ``healthlocker.records``: plain dictionary walks over the resources
as the files hold them, so a wrong view cannot agree with itself.
"""

from __future__ import annotations

import base64
import csv
import html
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LAB = "laboratory"
TETANUS_CVX = {"09", "113", "115", "138", "139"}  # Td, Tdap and tetanus toxoid
FLU_CVX = {"140", "141", "150", "155", "158", "161", "185", "186", "197", "205", "88", "135"}


def day(value: Any) -> str | None:
    return str(value)[:10] if isinstance(value, str) and value[:1].isdigit() else None


def codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {str(c["code"]) for c in concept.get("coding") or () if c.get("code")}


def name(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    if concept.get("text"):
        return str(concept["text"])
    for c in concept.get("coding") or ():
        if c.get("display"):
            return str(c["display"])
    return None


def status(concept: Any) -> str | None:
    for c in (concept or {}).get("coding") or ():
        if c.get("code"):
            return str(c["code"])
    return None


@dataclass(frozen=True)
class Lab:
    loinc: str
    value: float | None
    text: str | None
    unit: str | None
    day: str
    ref: str


@dataclass(frozen=True)
class Document:
    ref: str
    kind: str  # "imaging" or "note": by the LOINC type or report section the cohort's use
    day: str
    title: str
    words: list[str]  # its lines of words (paragraphs; an HTML page's blocks), as written


# The document types of the cohort's notes and reports (bench/synth_documents.py), by LOINC.
IMAGING_LOINC = {"18748-4", "36643-5"}  # diagnostic imaging study; XR chest 2 views
NOTE_LOINC = {"11506-3", "11488-4"}  # progress note; consult note


@dataclass
class Facts:
    """One person's records, read plainly (and their glucose sensor's readings, if any)."""

    resources: list[dict[str, Any]]
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cgm: list[tuple[datetime, float]] = field(default_factory=list)  # (local time, mg/dL)

    def __post_init__(self) -> None:
        groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for r in self.resources:
            groups[r["resourceType"]][r.get("id", str(id(r)))] = r  # one per type/id
        self.by_type = {t: list(g.values()) for t, g in groups.items()}

    def of(self, rtype: str) -> list[dict[str, Any]]:
        return self.by_type.get(rtype, [])

    # -- labs ---------------------------------------------------------------------------------

    def labs(self) -> list[Lab]:
        out = []
        for r in self.of("Observation"):
            cats = {c for cc in r.get("category") or () for c in codes(cc)}
            when = day(r.get("effectiveDateTime") or r.get("issued"))
            if LAB not in cats or when is None or r.get("status") == "entered-in-error":
                continue
            q = r.get("valueQuantity") or {}
            value = q.get("value") if isinstance(q.get("value"), int | float) else None
            text = r.get("valueString") or name(r.get("valueCodeableConcept"))
            for code in sorted(codes(r.get("code"))):
                out.append(Lab(code, value, text, q.get("unit"), when, f"Observation/{r['id']}"))
                break
        return sorted(out, key=lambda lab: lab.day)

    def latest_lab(self, *loincs: str) -> Lab | None:
        found = [lab for lab in self.labs() if lab.loinc in loincs and lab.value is not None]
        return found[-1] if found else None

    def labs_of(self, *loincs: str) -> list[Lab]:
        return [lab for lab in self.labs() if lab.loinc in loincs and lab.value is not None]

    # -- medications, conditions, allergies ------------------------------------------------------

    def active_meds(self) -> list[dict[str, Any]]:
        return [
            r
            for rtype in ("MedicationRequest", "MedicationStatement")
            for r in self.of(rtype)
            if r.get("status") in ("active", "on-hold", "intended")
        ]

    def all_meds(self) -> list[dict[str, Any]]:
        return [r for t in ("MedicationRequest", "MedicationStatement") for r in self.of(t)]

    def active_conditions(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.of("Condition")
            if status(r.get("clinicalStatus")) in ("active", "recurrence", "relapse")
            and status(r.get("verificationStatus")) not in ("refuted", "entered-in-error")
        ]

    def active_allergies(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.of("AllergyIntolerance")
            if status(r.get("clinicalStatus")) in (None, "active")
            and status(r.get("verificationStatus")) not in ("refuted", "entered-in-error")
        ]

    # -- immunizations, visits ---------------------------------------------------------------

    def immunizations(self) -> list[tuple[str, set[str], str, str]]:
        """(day, CVX codes, vaccine name, ref), oldest first."""
        out = []
        for r in self.of("Immunization"):
            when = day(r.get("occurrenceDateTime"))
            if when:
                out.append(
                    (
                        when,
                        codes(r.get("vaccineCode")),
                        name(r.get("vaccineCode")) or "",
                        f"Immunization/{r['id']}",
                    )
                )
        return sorted(out)

    def visits(self) -> list[tuple[str, str, str, str]]:
        """(day, type, class code, ref), oldest first."""
        out = []
        for r in self.of("Encounter"):
            when = day((r.get("period") or {}).get("start"))
            kind = "; ".join(n for t in r.get("type") or () if (n := name(t)))
            if when:
                out.append(
                    (when, kind, str((r.get("class") or {}).get("code")), f"Encounter/{r['id']}")
                )
        return sorted(out)

    # -- claims -----------------------------------------------------------------------------

    def claims(self) -> list[tuple[str, float | None, float | None, str]]:
        """(day, billed, plan paid, ref) of the explanations of benefit shaped like Synthea's
        (a `total` of submitted amounts and a `payment`), oldest first."""
        out = []
        for r in self.of("ExplanationOfBenefit"):
            when = day((r.get("billablePeriod") or {}).get("start"))
            if not when or r.get("status") in ("cancelled", "entered-in-error"):
                continue
            billed = [
                t["amount"]["value"]
                for t in r.get("total") or ()
                if "submitted" in codes(t.get("category"))
            ]
            paid = ((r.get("payment") or {}).get("amount") or {}).get("value")
            out.append(
                (when, sum(billed) if billed else None, paid, f"ExplanationOfBenefit/{r['id']}")
            )
        return sorted(out)

    # -- vital signs and wearables ------------------------------------------------------------

    def series(self, *loincs: str) -> list[tuple[str, float, str]]:
        """(day, value, ref) of the Observations with one of *loincs* and a quantity."""
        out = []
        for r in self.of("Observation"):
            when = day(r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start"))
            q = r.get("valueQuantity") or {}
            if (
                when
                and codes(r.get("code")) & set(loincs)
                and isinstance(q.get("value"), int | float)
            ):
                out.append((when, float(q["value"]), f"Observation/{r['id']}"))
        return sorted(out)

    def daily_totals(self, loinc: str) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for when, value, _ref in self.series(loinc):
            totals[when] += value
        return dict(totals)

    def blood_pressures(self) -> list[tuple[str, float, float, str]]:
        """(day, systolic, diastolic, ref) of blood pressure panels."""
        out = []
        for r in self.of("Observation"):
            parts = {
                c: (x.get("valueQuantity") or {}).get("value")
                for x in r.get("component") or ()
                for c in codes(x.get("code"))
            }
            when = day(r.get("effectiveDateTime"))
            if when and isinstance(parts.get("8480-6"), int | float):
                out.append((when, parts["8480-6"], parts.get("8462-4"), f"Observation/{r['id']}"))
        return sorted(out)

    # -- documents ----------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        """Notes and reports with words, newest first."""
        out = []
        for r in self.of("DocumentReference") + self.of("DiagnosticReport"):
            forms = (
                r.get("presentedForm") or []
                if r["resourceType"] == "DiagnosticReport"
                else [c.get("attachment") or {} for c in r.get("content") or ()]
            )
            words = [f"Conclusion: {r['conclusion']}"] if r.get("conclusion") else []
            for form in forms:
                words += _words(form)
            if not words:
                continue
            kinds = codes(r.get("type") or r.get("code"))
            sections = {c for cc in r.get("category") or () for c in codes(cc)}
            kind = "imaging" if kinds & IMAGING_LOINC or "RAD" in sections else "note"
            when = day(r.get("date") or r.get("effectiveDateTime") or r.get("issued")) or ""
            title = r.get("description") or name(r.get("code") or r.get("type")) or ""
            out.append(Document(f"{r['resourceType']}/{r['id']}", kind, when, title, words))
        return sorted(out, key=lambda d: (d.day, d.ref), reverse=True)


def _words(attachment: dict[str, Any]) -> list[str]:
    """The lines of words of an inline text/plain or text/html attachment."""
    kind = str(attachment.get("contentType") or "")
    if "data" not in attachment or kind not in ("text/plain", "text/html"):
        return []
    text = base64.b64decode(attachment["data"]).decode("utf-8")
    if kind == "text/html":
        text = html.unescape(re.sub(r"<[^>]*>", "\n", text))
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- a glucose sensor ----------------------------------------------------------------------------

CLARITY_TIME = "Timestamp (YYYY-MM-DDThh:mm:ss)"
CLARITY_VALUE = "Glucose Value (mg/dL)"
BEYOND = {"Low": 40.0, "High": 400.0}  # Dexcom's words for beyond the sensor's range


def clarity_readings(path: Path, zone: str) -> list[tuple[datetime, float]]:
    """(local time, mg/dL) of a Dexcom Clarity export's sensor readings (EGV rows), in order."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["Event Type"] == "EGV"]
    tz = ZoneInfo(zone)
    out = [
        (
            datetime.fromisoformat(row[CLARITY_TIME]).replace(tzinfo=tz),
            BEYOND.get(row[CLARITY_VALUE]) or float(row[CLARITY_VALUE]),
        )
        for row in rows
    ]
    return sorted(out)


def cgm_figures(readings: list[tuple[datetime, float]]) -> dict[str, Any]:
    """The time-in-range consensus's figures of *readings*, rounded as a report gives them."""
    values = [v for _t, v in readings]
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    n = len(values)

    def share(low: float, high: float) -> float:
        return round(100 * sum(low <= v <= high for v in values) / n, 2)

    days = sorted({t.date().isoformat() for t, _v in readings})
    return {
        "readings": n,
        "first_day": days[0],
        "last_day": days[-1],
        "days_with_data": len(days),
        "mean_mg_dl": round(mean, 2),
        "cv_percent": round(100 * sd / mean, 2),
        "gmi_percent": round(3.31 + 0.02392 * mean, 2),
        "in_range": share(70, 180),
        "below_70": share(0, 69),
        "very_low": share(0, 53),
        "above_180": share(181, 10_000),
        "very_high": share(251, 10_000),
    }
