"""What a person's FHIR files say, read here on their own: the scorecard's expected answers.

Deliberately independent of ``healthlocker.records``: plain dictionary walks over the resources
as the files hold them, so a wrong view cannot agree with itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Facts:
    """One person's records, read plainly."""

    resources: list[dict[str, Any]]
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

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
