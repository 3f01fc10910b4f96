"""A synthetic person: ten years of FHIR R4 records, for the tool-call and start-up benchmarks.

One Patient (a woman born in 1971) and, over the ten years up to ``END``:

- lab work (category ``laboratory``, LOINC codes with UCUM units): a CMP and a CBC at every
  draw, lipids and HbA1c at every other draw, TSH, vitamin D, ferritin and a urinalysis
  dipstick now and then; most results carry the lab's own reference range, some an
  interpretation, a few none at all; each panel also has its DiagnosticReport;
- visits (Encounter) with vital signs (blood pressure panel, weight, height, BMI, heart rate);
- conditions (chronic and resolved), allergies, immunizations, a few procedures;
- prescriptions (MedicationRequest, RxNorm, ``dosageInstruction`` with timing): chronic
  medications renewed yearly (older ones completed, the newest active) and short courses;
- insurance: two Coverage periods and an ExplanationOfBenefit per visit and per pharmacy fill,
  shaped like Synthea's (``type`` claim-type, ``billablePeriod``, ``total[]`` submitted,
  ``payment.amount``, item adjudications, ``insurance`` → contained Coverage);
- five years of DAILY wearable data: steps (55423-8, activity), body weight (29463-7,
  vital-signs), resting heart rate (40443-4, vital-signs) and sleep duration (93832-4,
  activity), as NDJSON the way a bulk export writes it.

Written as four FHIR ``collection`` Bundles plus one NDJSON file (and for the profiles with
``documents``, a fifth Bundle of notes and imaging reports: ``bench/synth_documents.py``).
Every reference is a relative ``Type/id``, so it resolves across files. Seeded and
deterministic: the same ``seed`` and ``end`` give byte-identical files.

    from bench.synth import write_person
    info = write_person(tmp_path / "person")      # {"files": [...], "counts": {...}, ...}

Also a command: ``python bench/synth.py OUT_DIR [--seed S] [--check]`` (``--check`` imports the
files into a throwaway in-memory vault and fails on any error).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: ``python bench/synth.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.synth_documents import documents
from bench.synth_profiles import DEFAULT, PROFILES, Profile

END = date(2026, 9, 30)  # fixed, so the output does not depend on the day it is made

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
COND_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLIN = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
BB_SRVC = "https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd"
SERVICE_PLACE = "http://terminology.hl7.org/CodeSystem/ex-serviceplace"

# (LOINC, name, UCUM unit, mean, sd, low, high, decimals); low/high None: open-ended range.
CMP = [
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 96, 11, 70, 99, 0),
    ("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 14, 3.5, 7, 20, 0),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.85, 0.12, 0.5, 1.1, 2),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 140, 2, 136, 145, 0),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 4.2, 0.3, 3.5, 5.1, 1),
    ("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 102, 2, 98, 107, 0),
    (
        "2028-9",
        "Carbon dioxide, total [Moles/volume] in Serum or Plasma",
        "mmol/L",
        25,
        2,
        22,
        29,
        0,
    ),
    ("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 9.5, 0.3, 8.6, 10.3, 1),
    ("2885-2", "Protein [Mass/volume] in Serum or Plasma", "g/dL", 7.0, 0.35, 6.0, 8.3, 1),
    ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 4.2, 0.25, 3.5, 5.0, 1),
    ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.7, 0.2, 0.1, 1.2, 1),
    (
        "6768-6",
        "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        78,
        15,
        44,
        147,
        0,
    ),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        24,
        8,
        7,
        56,
        0,
    ),
    (
        "1920-8",
        "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        23,
        6,
        10,
        40,
        0,
    ),
    (
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
        "Plasma or Blood by Creatinine-based formula (MDRD)",
        "mL/min/{1.73_m2}",
        92,
        9,
        60,
        None,
        0,
    ),
]
CBC = [
    (
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        6.4,
        1.2,
        4.5,
        11.0,
        1,
    ),
    (
        "789-8",
        "Erythrocytes [#/volume] in Blood by Automated count",
        "10*6/uL",
        4.5,
        0.25,
        4.2,
        5.4,
        2,
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 13.4, 0.7, 12.0, 16.0, 1),
    ("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 40, 2.2, 36, 46, 1),
    ("787-2", "MCV [Entitic volume] by Automated count", "fL", 89, 3, 80, 100, 1),
    ("785-6", "MCH [Entitic mass] by Automated count", "pg", 30, 1.2, 27, 33, 1),
    ("786-4", "MCHC [Mass/volume] by Automated count", "g/dL", 33.5, 0.9, 32, 36, 1),
    (
        "788-0",
        "Erythrocyte distribution width [Ratio] by Automated count",
        "%",
        13,
        0.7,
        11.5,
        14.5,
        1,
    ),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 255, 40, 150, 400, 0),
]
LIPIDS = [
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 205, 18, None, 199, 0),
    ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", 140, 30, None, 149, 0),
    ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 54, 7, 40, None, 0),
    (
        "18262-6",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
        "mg/dL",
        125,
        16,
        None,
        99,
        0,
    ),
]
A1C = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 5.6, 0.15, 4.0, 5.6, 1)
OCCASIONAL = [
    ("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 2.4, 0.9, 0.4, 4.0, 2),
    (
        "1989-3",
        "25-Hydroxyvitamin D3+25-Hydroxyvitamin D2 [Mass/volume] in Serum or Plasma",
        "ng/mL",
        29,
        7,
        30,
        100,
        0,
    ),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 60, 25, 15, 150, 0),
]
URINE = [  # (LOINC, name, unit or None, value or text)
    ("5811-5", "Specific gravity of Urine by Test strip", "{SG}", 1.015),
    ("5803-2", "pH of Urine by Test strip", "[pH]", 6.0),
    ("5792-7", "Glucose [Mass/volume] in Urine by Test strip", None, "Negative"),
    ("20454-5", "Protein [Presence] in Urine by Test strip", None, "Negative"),
    ("5799-2", "Leukocyte esterase [Presence] in Urine by Test strip", None, "Negative"),
]
PANELS = {
    "cmp": ("24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma"),
    "cbc": ("58410-2", "CBC panel - Blood by Automated count"),
    "lipid": ("57698-3", "Lipid panel with direct LDL - Serum or Plasma"),
    "ua": ("24357-6", "Urinalysis macro (dipstick) panel - Urine"),
}


class Person:
    """Builds every resource of the synthetic person; ``resources`` groups them by file."""

    def __init__(self, seed: int = 0, end: date = END, profile: Profile = DEFAULT) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.end = end
        self.profile = profile
        self.start = end - timedelta(days=round(365.25 * profile.years))
        self.ns = uuid.uuid5(uuid.NAMESPACE_URL, f"healthlocker-bench-synth/{seed}")
        self.files: dict[str, list[dict[str, Any]]] = {
            "clinical": [],
            "labs": [],
            "claims": [],
            "medications": [],
            "wearables": [],
            "documents": [],
        }
        self.patient = self._id("Patient", "p")
        self.pcp = self._id("Practitioner", "pcp")
        self.specialist = self._id("Practitioner", "spec")
        self.clinic = self._id("Organization", "clinic")
        self.hospital = self._id("Organization", "hospital")
        self.pharmacy = self._id("Organization", "pharmacy")
        self.payers = [self._id("Organization", "payer-a"), self._id("Organization", "payer-b")]
        self.coverages = [self._id("Coverage", "cov-a"), self._id("Coverage", "cov-b")]
        self.device = self._id("Device", "watch")
        self.condition_ids: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _id(self, rtype: str, key: str) -> str:
        return str(uuid.uuid5(self.ns, f"{rtype}/{key}"))

    def _ago(self, years: float) -> date:
        return self.end - timedelta(days=round(years * 365.25))

    def _at(self, day: date, hour: int, minute: int = 0) -> str:
        tz = "-05:00" if day.month in (1, 2, 3, 11, 12) else "-04:00"
        return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00{tz}"

    def _ref(self, rtype: str, rid: str, display: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"reference": f"{rtype}/{rid}"}
        if display:
            out["display"] = display
        return out

    @staticmethod
    def _cc(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
        return {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": text or display,
        }

    @staticmethod
    def _category(code: str, display: str) -> list[dict[str, Any]]:
        return [{"coding": [{"system": OBS_CAT, "code": code, "display": display}]}]

    @staticmethod
    def _qty(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
        return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}

    def _add(self, file: str, resource: dict[str, Any]) -> dict[str, Any]:
        self.files[file].append(resource)
        return resource

    # -- the person --------------------------------------------------------------------------

    def build(self) -> Person:
        self._people()
        visits = self._visits()
        self._conditions()
        self._allergies()
        self._immunizations(visits)
        self._procedures()
        fills = self._medications(visits)
        self._labs(visits)
        self._vitals(visits)
        if self.profile.claims:
            self._coverage()
            self._claims(visits, fills)
        self._wearables()
        self._criticals()
        if self.profile.documents:
            self.files["documents"] = documents(
                self.profile.name,
                self.ns,
                end=self.end,
                patient=self.patient,
                author=self.pcp,
                keeper=self.clinic,
            )
        return self

    def _people(self) -> None:
        self._add(
            "clinical",
            {
                "resourceType": "Patient",
                "id": self.patient,
                "identifier": [{"system": "https://example.org/mrn", "value": "MRN-204117"}],
                "name": [
                    {
                        "use": "official",
                        "family": self.profile.family,
                        "given": list(self.profile.given),
                    }
                ],
                "gender": self.profile.gender,
                "birthDate": self.profile.birth,
                "address": [
                    {"city": "Springfield", "state": "MA", "postalCode": "01105", "country": "US"}
                ],
                "communication": [{"language": self._cc("urn:ietf:bcp:47", "en-US", "English")}],
            },
        )
        for pid, family, given, spec in (
            (self.pcp, "Okafor", "Adaeze", "Family medicine"),
            (self.specialist, "Brandt", "Tomas", "Endocrinology"),
        ):
            self._add(
                "clinical",
                {
                    "resourceType": "Practitioner",
                    "id": pid,
                    "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
                    "qualification": [{"code": {"text": spec}}],
                },
            )
        for oid, name, kind in (
            (self.clinic, "Springfield Family Practice", "prov"),
            (self.hospital, "Mercy General Hospital", "prov"),
            (self.pharmacy, "Main Street Pharmacy", "prov"),
            (self.payers[0], "Acme Health PPO", "pay"),
            (self.payers[1], "Bluewater Health HDHP", "pay"),
        ):
            self._add(
                "clinical",
                {
                    "resourceType": "Organization",
                    "id": oid,
                    "active": True,
                    "type": [
                        self._cc(
                            "http://terminology.hl7.org/CodeSystem/organization-type",
                            kind,
                            {"prov": "Healthcare Provider", "pay": "Payer"}[kind],
                        )
                    ],
                    "name": name,
                },
            )

    def _visits(self) -> list[dict[str, Any]]:
        """About 13 visits a year: check-ups, lab draws, sick visits, specialist, ER."""
        rng = self.rng
        visits: list[dict[str, Any]] = []
        day = self.start + timedelta(days=10)
        n = 0
        while day < self.end:
            n += 1
            roll = rng.random()
            if n % 13 == 1:
                kind = ("AMB", "185349003", "Encounter for check up", self.pcp, 30, "primary")
            elif roll < 0.45:
                kind = ("AMB", "185347001", "Encounter for problem", self.pcp, 20, "primary")
            elif roll < 0.75:
                kind = ("AMB", "390906007", "Follow-up encounter", self.pcp, 20, "primary")
            elif roll < 0.93:
                kind = (
                    "AMB",
                    "185345009",
                    "Encounter for symptom",
                    self.specialist,
                    40,
                    "specialist",
                )
            elif roll < 0.98:
                kind = ("EMER", "50849002", "Emergency room admission", self.pcp, 180, "emergency")
            else:
                kind = (
                    "IMP",
                    "32485007",
                    "Hospital admission",
                    self.specialist,
                    60 * 30,
                    "inpatient",
                )
            act, code, name, who, minutes, setting = kind
            start = datetime.fromisoformat(
                self._at(day, 8 + rng.randrange(9), rng.choice((0, 15, 30, 45)))
            )
            end = start + timedelta(minutes=minutes)
            eid = self._id("Encounter", str(n))
            org = self.hospital if act in ("EMER", "IMP") else self.clinic
            enc = self._add(
                "clinical",
                {
                    "resourceType": "Encounter",
                    "id": eid,
                    "status": "finished",
                    "class": {"system": ACT, "code": act},
                    "type": [self._cc(SNOMED, code, name)],
                    "subject": self._ref("Patient", self.patient),
                    "participant": [{"individual": self._ref("Practitioner", who)}],
                    "period": {"start": start.isoformat(), "end": end.isoformat()},
                    "serviceProvider": self._ref("Organization", org),
                },
            )
            visits.append(
                {
                    "id": eid,
                    "day": day,
                    "start": start,
                    "end": end,
                    "n": n,
                    "who": who,
                    "setting": setting,
                    "act": act,
                    "name": name,
                    "resource": enc,
                }
            )
            day += timedelta(days=rng.randint(14, 42))
        return visits

    def _conditions(self) -> None:
        for code, name, years, resolved in self.profile.conditions:
            onset = self._ago(years)
            cid = self._id("Condition", code)
            self.condition_ids[code] = cid
            res: dict[str, Any] = {
                "resourceType": "Condition",
                "id": cid,
                "clinicalStatus": {
                    "coding": [{"system": COND_CLIN, "code": "resolved" if resolved else "active"}]
                },
                "verificationStatus": {"coding": [{"system": COND_VER, "code": "confirmed"}]},
                "category": [
                    self._cc(
                        "http://terminology.hl7.org/CodeSystem/condition-category",
                        "problem-list-item",
                        "Problem List Item",
                    )
                ],
                "code": self._cc(SNOMED, code, name),
                "subject": self._ref("Patient", self.patient),
                "onsetDateTime": self._at(onset, 10),
                "recordedDate": self._at(onset, 11),
                "recorder": self._ref("Practitioner", self.pcp),
            }
            if resolved:
                res["abatementDateTime"] = self._at(onset + timedelta(days=resolved), 9)
            self._add("clinical", res)

    def _allergies(self) -> None:
        for key, code, name, reaction, crit, years in self.profile.allergies:
            self._add(
                "clinical",
                {
                    "resourceType": "AllergyIntolerance",
                    "id": self._id("AllergyIntolerance", key),
                    "clinicalStatus": {"coding": [{"system": ALLERGY_CLIN, "code": "active"}]},
                    "verificationStatus": {
                        "coding": [{"system": ALLERGY_VER, "code": "confirmed"}]
                    },
                    "type": "allergy",
                    "category": [
                        "medication"
                        if key == "pcn"
                        else "food"
                        if key == "peanut"
                        else "environment"
                    ],
                    "criticality": crit,
                    "code": self._cc(SNOMED, code, name),
                    "patient": self._ref("Patient", self.patient),
                    "recordedDate": self._at(self._ago(years), 10),
                    "reaction": [
                        {
                            "manifestation": [self._cc(SNOMED, *reaction)],
                            "severity": "severe" if crit == "high" else "mild",
                        }
                    ],
                },
            )

    def _immunizations(self, visits: list[dict[str, Any]]) -> None:
        def nearest(day: date) -> dict[str, Any]:
            return min(visits, key=lambda v: abs((v["day"] - day).days))

        doses: list[tuple[str, str, date]] = []
        for cvx, name, when in self.profile.vaccines:
            if when is None:  # every October
                for year in range(self.start.year, self.end.year + 1):
                    day = date(year, 10, 1 + self.rng.randrange(25))
                    if self.start <= day <= self.end:
                        doses.append((cvx, name, day))
            else:
                doses += [(cvx, name, self._ago(y)) for y in when]
        for i, (cvx, name, day) in enumerate(doses):
            self._add(
                "clinical",
                {
                    "resourceType": "Immunization",
                    "id": self._id("Immunization", f"{cvx}/{i}"),
                    "status": "completed",
                    "vaccineCode": self._cc(CVX, cvx, name),
                    "patient": self._ref("Patient", self.patient),
                    "encounter": self._ref("Encounter", nearest(day)["id"]),
                    "occurrenceDateTime": self._at(day, 11),
                    "primarySource": True,
                    "lotNumber": f"L{self.rng.randrange(10**5, 10**6)}",
                },
            )

    def _procedures(self) -> None:
        for i, (code, name, years) in enumerate(self.profile.procedures):
            day = self._ago(years)
            start = datetime.fromisoformat(self._at(day, 9))
            self._add(
                "clinical",
                {
                    "resourceType": "Procedure",
                    "id": self._id("Procedure", str(i)),
                    "status": "completed",
                    "code": self._cc(SNOMED, code, name),
                    "subject": self._ref("Patient", self.patient),
                    "performedPeriod": {
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=45)).isoformat(),
                    },
                    "performer": [{"actor": self._ref("Practitioner", self.specialist)}],
                },
            )

    def _dosage(self, per_day: int, text_unit: str, route: str) -> list[dict[str, Any]]:
        times = {1: "once", 2: "twice", 3: "three times"}[per_day]
        return [
            {
                "sequence": 1,
                "text": f"Take 1 {text_unit} by mouth {times} daily"
                if route == "oral"
                else f"1 spray in each nostril {times} daily",
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                "asNeededBoolean": False,
                "route": self._cc(SNOMED, "26643006", "Oral route")
                if route == "oral"
                else self._cc(SNOMED, "46713006", "Nasal route"),
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": text_unit}}],
            }
        ]

    def _medications(self, visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Prescriptions; returns the pharmacy fills (one claim each)."""
        fills: list[dict[str, Any]] = []
        rng = self.rng

        def request(
            key: str,
            rx: str,
            name: str,
            day: date,
            status: str,
            per_day: int,
            days: int,
            reason: str | None,
            refills: int,
        ) -> dict[str, Any]:
            nasal = "Nasal" in name
            unit = "spray" if nasal else "capsule" if "Capsule" in name else "tablet"
            res = {
                "resourceType": "MedicationRequest",
                "id": self._id("MedicationRequest", key),
                "status": status,
                "intent": "order",
                "medicationCodeableConcept": self._cc(RXNORM, rx, name),
                "subject": self._ref("Patient", self.patient),
                "authoredOn": self._at(day, 10, 30),
                "requester": self._ref("Practitioner", self.pcp, "Dr. Adaeze Okafor"),
                "dosageInstruction": self._dosage(per_day, unit, "nasal" if nasal else "oral"),
                "dispenseRequest": {
                    "numberOfRepeatsAllowed": refills,
                    "quantity": {"value": per_day * days, "unit": unit},
                    "expectedSupplyDuration": {
                        "value": days,
                        "unit": "days",
                        "system": UCUM,
                        "code": "d",
                    },
                },
            }
            if reason and reason in self.condition_ids:
                res["reasonReference"] = [self._ref("Condition", self.condition_ids[reason])]
            return self._add("medications", res)

        for rx, name, per_day, years, reason in self.profile.chronic:
            first = self._ago(years)
            renewals = []
            day = first
            while day < self.end:
                renewals.append(day)
                day += timedelta(days=365 + rng.randrange(-20, 20))
            # about a third of the renewals are recorded; always the first and the last
            kept = [
                d
                for i, d in enumerate(renewals)
                if i in (0, len(renewals) - 1) or rng.random() < 0.35
            ]
            for i, day in enumerate(kept):
                last = i == len(kept) - 1
                request(
                    f"{rx}/{i}",
                    rx,
                    name,
                    day,
                    "active" if last else "completed",
                    per_day,
                    90,
                    reason,
                    3,
                )
                # quarterly fills while this prescription runs
                until = self.end if last else kept[i + 1]
                fill = day
                while fill < until:
                    fills.append({"day": fill, "rx": rx, "name": name, "days": 90})
                    fill += timedelta(days=90)
        conditions = self.profile.conditions
        for i, (rx, name, days, per_day, reason) in enumerate(self.profile.acute):
            onset = next((self._ago(y) for c, _n, y, _r in conditions if c == reason), self._ago(5))
            # later flares get a course too
            for j, day in enumerate((onset, onset + timedelta(days=400 + 90 * i))):
                if day >= self.end:
                    continue
                request(f"acute/{i}/{j}", rx, name, day, "completed", per_day, days, reason, 0)
                fills.append({"day": day, "rx": rx, "name": name, "days": days})
        if not self.profile.stopped:
            return fills
        # one stopped prescription (side effects)
        request(
            "stopped",
            "197361",
            "amlodipine 5 MG Oral Tablet",
            self._ago(8.3),
            "stopped",
            1,
            30,
            "38341003",
            1,
        )
        return fills

    def _lab_value(self, spec: tuple[Any, ...], day: date) -> float:
        code, _name, _unit, mean, sd, _low, _high, decimals = spec
        if code in self.profile.lab_means:  # this person's level, spread alike
            sd, mean = sd * self.profile.lab_means[code] / mean, self.profile.lab_means[code]
        years_in = (day - self.start).days / 365.25
        drift = {
            "4548-4": 0.085,
            "2345-7": 1.4,
            "2093-3": -2.5,
            "18262-6": -3.0,
            "1989-3": 0.8,
        }.get(code, 0.0)
        value = self.rng.gauss(mean + drift * (years_in - self.profile.years / 2), sd)
        value = max(value, mean * 0.2)
        return round(value, decimals) if decimals else float(round(value))

    def _lab_obs(
        self, spec: tuple[Any, ...], key: str, day: date, visit: dict[str, Any], issued: str
    ) -> dict[str, Any]:
        code, name, unit, _mean, _sd, low, high, _dec = spec
        value = self._lab_value(spec, day)
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._id("Observation", key),
            "status": "final",
            "category": self._category("laboratory", "Laboratory"),
            "code": self._cc(LOINC, code, name),
            "subject": self._ref("Patient", self.patient),
            "encounter": self._ref("Encounter", visit["id"]),
            "effectiveDateTime": visit["start"].isoformat(),
            "issued": issued,
            "valueQuantity": self._qty(value if value % 1 else int(value), unit),
        }
        roll = self.rng.random()
        if roll < 0.85:  # the lab's own range
            rr: dict[str, Any] = {}
            if low is not None:
                rr["low"] = self._qty(low, unit)
            if high is not None:
                rr["high"] = self._qty(high, unit)
            res["referenceRange"] = [rr]
            if roll < 0.5:
                flag = (
                    "L"
                    if low is not None and value < low
                    else "H"
                    if high is not None and value > high
                    else "N"
                )
                res["interpretation"] = [
                    self._cc(INTERP, flag, {"L": "Low", "H": "High", "N": "Normal"}[flag])
                ]
        if self.rng.random() < 0.02:
            res["note"] = [{"text": "Specimen slightly hemolyzed; repeat if clinically indicated."}]
        return self._add("labs", res)

    def _labs(self, visits: list[dict[str, Any]]) -> None:
        """A draw at about eight visits a year: CMP + CBC; lipids and HbA1c every other."""
        draws = [
            v
            for v in visits
            if v["act"] == "AMB"
            and (v["n"] % 13 in (1, 3, 5, 7, 9, 11) or v["setting"] == "specialist")
        ]
        for d, visit in enumerate(draws):
            day = visit["day"]
            issued = (visit["start"] + timedelta(hours=26)).isoformat()
            panels: list[tuple[str, list[tuple[Any, ...]]]] = [("cmp", CMP), ("cbc", CBC)]
            if d % 2 == 0:
                panels.append(("lipid", LIPIDS))
            for panel, specs in panels:
                ids = [self._lab_obs(s, f"{d}/{s[0]}", day, visit, issued)["id"] for s in specs]
                self._report(panel, d, visit, issued, ids)
            if d % 2 == 0:
                self._lab_obs(A1C, f"{d}/{A1C[0]}", day, visit, issued)
            if d % 6 == 0:
                for spec in OCCASIONAL:
                    self._lab_obs(spec, f"{d}/{spec[0]}", day, visit, issued)
            if d % 4 == 1:
                ids = []
                for code, name, unit, value in URINE:
                    res: dict[str, Any] = {
                        "resourceType": "Observation",
                        "id": self._id("Observation", f"{d}/{code}"),
                        "status": "final",
                        "category": self._category("laboratory", "Laboratory"),
                        "code": self._cc(LOINC, code, name),
                        "subject": self._ref("Patient", self.patient),
                        "encounter": self._ref("Encounter", visit["id"]),
                        "effectiveDateTime": visit["start"].isoformat(),
                        "issued": issued,
                    }
                    if unit is None:
                        res["valueCodeableConcept"] = {"text": value}
                    else:
                        jitter = self.rng.choice((-1, 0, 1))
                        step = 0.005 if unit == "{SG}" else 0.5
                        res["valueQuantity"] = self._qty(round(value + jitter * step, 3), unit)
                    ids.append(self._add("labs", res)["id"])
                self._report("ua", d, visit, issued, ids)

    def _report(
        self, panel: str, d: int, visit: dict[str, Any], issued: str, ids: list[str]
    ) -> None:
        code, name = PANELS[panel]
        self._add(
            "labs",
            {
                "resourceType": "DiagnosticReport",
                "id": self._id("DiagnosticReport", f"{d}/{panel}"),
                "status": "final",
                "category": [
                    self._cc("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")
                ],
                "code": self._cc(LOINC, code, name),
                "subject": self._ref("Patient", self.patient),
                "encounter": self._ref("Encounter", visit["id"]),
                "effectiveDateTime": visit["start"].isoformat(),
                "issued": issued,
                "performer": [self._ref("Organization", self.clinic)],
                "result": [self._ref("Observation", i) for i in ids],
            },
        )

    def _vital(
        self,
        key: str,
        visit: dict[str, Any],
        code: str,
        name: str,
        value: float | None,
        unit: str,
        ucum: str,
    ) -> dict[str, Any]:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._id("Observation", key),
            "status": "final",
            "category": self._category("vital-signs", "Vital signs"),
            "code": self._cc(LOINC, code, name),
            "subject": self._ref("Patient", self.patient),
            "encounter": self._ref("Encounter", visit["id"]),
            "effectiveDateTime": visit["start"].isoformat(),
        }
        if value is not None:
            res["valueQuantity"] = self._qty(value, unit, ucum)
        return self._add("clinical", res)

    def _weight_on(self, day: date) -> float:
        # slow gain, then a loss after the prediabetes diagnosis, with a yearly wobble
        t = (day - self.start).days / 365.25
        trend = 78 + 0.9 * t if t < 6.8 else 78 + 0.9 * 6.8 - 1.6 * (t - 6.8)
        return trend + 0.8 * math.sin(2 * math.pi * (day.timetuple().tm_yday / 365.25))

    def _vitals(self, visits: list[dict[str, Any]]) -> None:
        rng = self.rng
        for v in visits:
            n = v["n"]
            weight = round(self._weight_on(v["day"]) + rng.gauss(0, 0.6), 1)
            bp = self._vital(
                f"bp/{n}",
                v,
                "85354-9",
                "Blood pressure panel with all children optional",
                None,
                "",
                "",
            )
            systolic = round(rng.gauss(134 if v["day"] < self._ago(8.4) else 126, 7))
            diastolic = round(rng.gauss(86 if v["day"] < self._ago(8.4) else 80, 5))
            bp["component"] = [
                {
                    "code": self._cc(LOINC, "8480-6", "Systolic blood pressure"),
                    "valueQuantity": self._qty(systolic, "mmHg", "mm[Hg]"),
                },
                {
                    "code": self._cc(LOINC, "8462-4", "Diastolic blood pressure"),
                    "valueQuantity": self._qty(diastolic, "mmHg", "mm[Hg]"),
                },
            ]
            self._vital(f"wt/{n}", v, "29463-7", "Body weight", weight, "kg", "kg")
            self._vital(f"ht/{n}", v, "8302-2", "Body height", 165.1, "cm", "cm")
            self._vital(
                f"bmi/{n}",
                v,
                "39156-5",
                "Body mass index (BMI) [Ratio]",
                round(weight / 1.651**2, 1),
                "kg/m2",
                "kg/m2",
            )
            self._vital(
                f"hr/{n}", v, "8867-4", "Heart rate", round(rng.gauss(72, 6)), "/min", "/min"
            )

    def _coverage(self) -> None:
        switch = self._ago(5.75)
        periods = [(self.start, switch - timedelta(days=1)), (switch, None)]
        for i, (cid, payer, (start, end)) in enumerate(
            zip(self.coverages, self.payers, periods, strict=True)
        ):
            period: dict[str, str] = {"start": start.isoformat()}
            if end:
                period["end"] = end.isoformat()
            self._add(
                "claims",
                {
                    "resourceType": "Coverage",
                    "id": cid,
                    "status": "active" if end is None else "cancelled",
                    "type": self._cc(
                        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "PPO" if i == 0 else "HIP",
                        "preferred provider organization policy"
                        if i == 0
                        else "health insurance plan policy",
                    ),
                    "subscriberId": f"XK{7710450 + i * 1111:08d}",
                    "beneficiary": self._ref("Patient", self.patient),
                    "relationship": self._cc(
                        "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                        "self",
                        "Self",
                    ),
                    "period": period,
                    "payor": [
                        self._ref(
                            "Organization", payer, ["Acme Health PPO", "Bluewater Health HDHP"][i]
                        )
                    ],
                    "class": [
                        {
                            "type": self._cc(
                                "http://terminology.hl7.org/CodeSystem/coverage-class",
                                "plan",
                                "Plan",
                            ),
                            "value": ["PPO-500", "HDHP-3000"][i],
                            "name": ["Acme Gold PPO", "Bluewater Bronze HDHP"][i],
                        }
                    ],
                },
            )

    def _plan_on(self, day: date) -> int:
        return 0 if day < self._ago(5.75) else 1

    def _adjudicate(
        self, billed: float, plan: int, setting: str, deductible_left: list[float]
    ) -> dict[str, float]:
        allowed = round(billed * self.rng.uniform(0.55, 0.8), 2)
        copay = {
            0: {"primary": 25.0, "specialist": 50.0, "emergency": 250.0, "pharmacy": 10.0},
            1: {"pharmacy": 15.0},
        }[plan].get(setting, 0.0)
        copay = min(copay, allowed)
        rest = allowed - copay
        deductible = round(min(rest, deductible_left[plan]), 2)
        deductible_left[plan] -= deductible
        coinsurance = round((rest - deductible) * (0.2 if plan == 0 else 0.3), 2)
        paid = round(allowed - copay - deductible - coinsurance, 2)
        return {
            "billed": billed,
            "allowed": allowed,
            "copay": copay,
            "deductible": deductible,
            "coinsurance": coinsurance,
            "paid": paid,
        }

    def _money(self, value: float) -> dict[str, Any]:
        return {"value": round(value, 2), "currency": "USD"}

    def _adj(self, code: str, display: str, amount: float) -> dict[str, Any]:
        return {
            "category": {
                "coding": [{"system": ADJ, "code": code, "display": display}],
                "text": display,
            },
            "amount": self._money(amount),
        }

    def _eob(
        self,
        key: str,
        ctype: str,
        day: date,
        start: str,
        end: str,
        setting: str,
        provider: tuple[str, str],
        lines: list[tuple[str, str, float]],
        deductible_left: list[float],
        encounter: str | None,
    ) -> None:
        plan = self._plan_on(day)
        items = []
        totals = Counter[str]()
        for seq, (code, name, billed) in enumerate(lines, start=1):
            a = self._adjudicate(billed, plan, setting, deductible_left)
            totals.update(a)
            item: dict[str, Any] = {
                "sequence": seq,
                "category": {
                    "coding": [{"system": BB_SRVC, "code": "1", "display": "Medical care"}]
                },
                "productOrService": self._cc(RXNORM if ctype == "pharmacy" else SNOMED, code, name),
                "servicedPeriod": {"start": start, "end": end},
                "adjudication": [
                    self._adj("submitted", "Submitted Amount", a["billed"]),
                    self._adj("eligible", "Eligible Amount", a["allowed"]),
                    self._adj("copay", "CoPay", a["copay"]),
                    self._adj("deductible", "Deductible", a["deductible"]),
                    self._adj("coinsurance", "Coinsurance", a["coinsurance"]),
                    self._adj("benefit", "Benefit Amount", a["paid"]),
                ],
            }
            if ctype != "pharmacy":
                place = {
                    "emergency": ("23", "Emergency Room - Hospital"),
                    "inpatient": ("21", "Inpatient Hospital"),
                }.get(setting, ("11", "Office"))
                item["locationCodeableConcept"] = self._cc(SERVICE_PLACE, *place)
            if encounter:
                item["encounter"] = [self._ref("Encounter", encounter)]
            items.append(item)
        payer = ["Acme Health PPO", "Bluewater Health HDHP"][plan]
        res: dict[str, Any] = {
            "resourceType": "ExplanationOfBenefit",
            "id": self._id("ExplanationOfBenefit", key),
            "contained": [
                {
                    "resourceType": "Coverage",
                    "id": "coverage",
                    "status": "active",
                    "type": {"text": payer},
                    "beneficiary": self._ref("Patient", self.patient),
                    "payor": [{"display": payer}],
                }
            ],
            "identifier": [{"system": "https://example.org/claim-id", "value": key}],
            "status": "active",
            "type": {"coding": [{"system": CLAIM_TYPE, "code": ctype}]},
            "use": "claim",
            "patient": self._ref("Patient", self.patient),
            "billablePeriod": {"start": start, "end": end},
            "created": end,
            "insurer": {"display": payer},
            "provider": self._ref(*provider),
            "outcome": "complete",
            "careTeam": [{"sequence": 1, "provider": self._ref(*provider)}],
            "insurance": [
                {"focal": True, "coverage": {"reference": "#coverage", "display": payer}}
            ],
            "item": items,
            "total": [
                {
                    "category": {
                        "coding": [
                            {"system": ADJ, "code": "submitted", "display": "Submitted Amount"}
                        ],
                        "text": "Submitted Amount",
                    },
                    "amount": self._money(totals["billed"]),
                },
            ],
            "payment": {"amount": self._money(totals["paid"])},
        }
        self._add("claims", res)

    def _claims(self, visits: list[dict[str, Any]], fills: list[dict[str, Any]]) -> None:
        """One EOB per visit (professional, or institutional for ER and stays), one per fill."""
        deductible_left = [500.0, 3000.0]
        year = None
        drawn = {
            r["encounter"]["reference"].split("/")[1]
            for r in self.files["labs"]
            if r["resourceType"] == "DiagnosticReport"
        }
        events = sorted(
            [("visit", v["day"], i) for i, v in enumerate(visits)]
            + [("fill", f["day"], i) for i, f in enumerate(fills)],
            key=lambda e: (e[1], e[0], e[2]),
        )
        for what, day, i in events:
            if day.year != year:
                year, deductible_left = day.year, [500.0, 3000.0]
            if what == "visit":
                v = visits[i]
                base = {
                    "primary": 180.0,
                    "specialist": 320.0,
                    "emergency": 2400.0,
                    "inpatient": 14500.0,
                }[v["setting"]]
                code = v["resource"]["type"][0]["coding"][0]["code"]
                lines = [(code, v["name"], round(base * self.rng.uniform(0.8, 1.3), 2))]
                if v["setting"] in ("emergency", "inpatient"):
                    lines.append(
                        (
                            "36228007",
                            "Ophthalmic examination and evaluation",
                            round(self.rng.uniform(90, 400), 2),
                        )
                    )
                if v["id"] in drawn:
                    lines.append(("396550006", "Blood test", round(self.rng.uniform(60, 240), 2)))
                ctype = "institutional" if v["act"] in ("EMER", "IMP") else "professional"
                self._eob(
                    f"v{i}",
                    ctype,
                    day,
                    v["start"].isoformat(),
                    v["end"].isoformat(),
                    v["setting"],
                    ("Practitioner", v["who"]),
                    lines,
                    deductible_left,
                    v["id"],
                )
            else:
                f = fills[i]
                start = self._at(day, 15)
                lines = [
                    (f["rx"], f["name"], round(self.rng.uniform(12, 160) * f["days"] / 90 + 8, 2))
                ]
                self._eob(
                    f"f{i}",
                    "pharmacy",
                    day,
                    start,
                    start,
                    "pharmacy",
                    ("Organization", self.pharmacy),
                    lines,
                    deductible_left,
                    None,
                )

    def _wearables(self) -> None:
        """Five years of daily steps, weight, resting heart rate and sleep from a watch/scale."""
        rng = self.rng
        if not self.profile.wearable_years:
            return
        first = self.end - timedelta(days=round(365.25 * self.profile.wearable_years))
        device = {
            "resourceType": "Device",
            "id": self.device,
            "status": "active",
            "manufacturer": "Pulse Devices",
            "deviceName": [{"name": "Pulse Watch 3", "type": "user-friendly-name"}],
            "patient": self._ref("Patient", self.patient),
        }
        self._add("wearables", device)
        day = first
        fitness = 0.0
        while day <= self.end:
            k = day.isoformat()
            weekend = day.weekday() >= 5
            fitness = 0.995 * fitness + 0.005 * (1.0 if day > self._ago(3.2) else 0.0)
            steps = max(
                300, round(rng.gauss(6500 + 2500 * fitness + (1200 if weekend else 0), 2200))
            )
            weight = round(self._weight_on(day) + rng.gauss(0, 0.45), 1)
            rhr = round(rng.gauss(66 - 5 * fitness, 2.5))
            sleep = max(180, round(rng.gauss(420 + (35 if weekend else 0), 45)))
            when = self._at(day, 23, 59)
            for key, code, name, cat, qty in (
                (
                    "steps",
                    "55423-8",
                    "Number of steps in unspecified time Pedometer",
                    ("activity", "Activity"),
                    self._qty(steps, "steps", "{steps}"),
                ),
                (
                    "weight",
                    "29463-7",
                    "Body weight",
                    ("vital-signs", "Vital signs"),
                    self._qty(weight, "kg"),
                ),
                (
                    "rhr",
                    "40443-4",
                    "Heart rate --resting",
                    ("vital-signs", "Vital signs"),
                    self._qty(rhr, "beats/minute", "/min"),
                ),
                (
                    "sleep",
                    "93832-4",
                    "Sleep duration",
                    ("activity", "Activity"),
                    self._qty(sleep, "min"),
                ),
            ):
                res: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": self._id("Observation", f"w/{key}/{k}"),
                    "status": "final",
                    "category": self._category(*cat),
                    "code": self._cc(LOINC, code, name),
                    "subject": self._ref("Patient", self.patient),
                    "effectiveDateTime": when,
                    "valueQuantity": qty,
                    "device": self._ref("Device", self.device),
                }
                if key == "sleep":  # dated when the night ends, as watches report it
                    bed = datetime.fromisoformat(self._at(day - timedelta(days=1), 23))
                    res["effectiveDateTime"] = (bed + timedelta(minutes=sleep)).isoformat()
                self._add("wearables", res)
            day += timedelta(days=1)

    def _criticals(self) -> None:
        """Set the profile's critical values: each on the result of its test nearest the day,
        flagged by the lab as critically high or low."""
        for code, value, years in self.profile.critical:
            day = self._ago(years).isoformat()
            results = [
                r
                for r in self.files["labs"]
                if r["resourceType"] == "Observation"
                and r["code"]["coding"][0]["code"] == code
                and "valueQuantity" in r
            ]
            if not results:
                continue
            hit = min(results, key=lambda r: abs(_days(r["effectiveDateTime"][:10], day)))
            hit["valueQuantity"]["value"] = value
            low = (hit.get("referenceRange") or [{}])[0].get("low", {}).get("value")
            flag = "LL" if low is not None and value < low else "HH"
            words = {"LL": "Critical low", "HH": "Critical high"}[flag]
            hit["interpretation"] = [self._cc(INTERP, flag, words)]


def _days(a: str, b: str) -> int:
    return (date.fromisoformat(a) - date.fromisoformat(b)).days


def _bundle(resources: list[dict[str, Any]], bid: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": bid,
        "type": "collection",
        "timestamp": when,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def write_person(
    out_dir: Path, *, seed: int = 0, end: date = END, profile: Profile = DEFAULT
) -> dict[str, Any]:
    """Write the person into *out_dir*; return files, resource counts and key facts."""
    person = Person(seed, end, profile).build()
    out_dir.mkdir(parents=True, exist_ok=True)
    when = datetime(end.year, end.month, end.day, 12, tzinfo=UTC).isoformat()
    files = []
    for name, resources in person.files.items():
        if not resources:
            continue
        if name == "wearables":
            path = out_dir / "wearables.ndjson"
            with path.open("w", encoding="utf-8") as f:
                for r in resources:
                    f.write(json.dumps(r, separators=(",", ":")) + "\n")
        else:
            path = out_dir / f"{name}.json"
            bid = str(uuid.uuid5(person.ns, f"Bundle/{name}"))
            path.write_text(
                json.dumps(_bundle(resources, bid, when), separators=(",", ":")), encoding="utf-8"
            )
        files.append(path)
    counts: Counter[str] = Counter()
    labs = 0
    wearable = 0
    for name, resources in person.files.items():
        for r in resources:
            counts[r["resourceType"]] += 1
            cats = {
                c["code"]
                for cc in r.get("category") or ()
                if isinstance(cc, dict)
                for c in cc.get("coding") or ()
            }
            if r["resourceType"] == "Observation" and "laboratory" in cats:
                labs += 1
            if name == "wearables" and r["resourceType"] == "Observation":
                wearable += 1
    return {
        "files": files,
        "counts": dict(sorted(counts.items())),
        "total": sum(counts.values()),
        "lab_results": labs,
        "wearable_observations": wearable,
        "medication_requests": counts["MedicationRequest"],
        "claims": counts["ExplanationOfBenefit"],
        "patient": person.patient,
        "start": person.start.isoformat(),
        "end": end.isoformat(),
        "bytes": sum(p.stat().st_size for p in files),
    }


def check_import(out_dir: Path, expected: int) -> dict[str, Any]:
    """Import into a throwaway in-memory vault; raise on any error or a missing resource."""
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    vault = Vault.ephemeral()
    try:
        report = import_paths(vault, [out_dir])
        errors = [f"{f.path}: {f.error}" for f in report.files if f.error]
        if errors:
            raise SystemExit("synthetic data failed to import:\n" + "\n".join(errors))
        totals = report.totals()
        if totals["added"] != expected:
            raise SystemExit(f"imported {totals['added']} resources, expected {expected}")
        return totals
    finally:
        vault.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--check", action="store_true", help="import it into a memory vault")
    args = parser.parse_args(argv)
    info = write_person(args.out, seed=args.seed, profile=PROFILES[args.profile])
    shown = {k: (v if k != "files" else [str(p) for p in v]) for k, v in info.items()}
    print(json.dumps(shown, indent=2))
    if args.check:
        print(json.dumps(check_import(args.out, info["total"])))
    return 0


# --- clinical notes (bench/bench_documents.py) -------------------------------------------------

_NOTE_LINES = (
    "Patient seen for follow-up of HTN and T2DM. Denies chest pain, SOB or palpitations.",
    "BP 138/86, HR 72, afebrile. Lungs CTA bilaterally. RRR, no murmurs.",
    "HbA1c 7.2% last month; continue metformin 500 mg BID. Lisinopril 10 mg daily.",
    "Impression: mild degenerative changes of the lumbar spine, unremarkable otherwise.",
    "Plan: BMP in 3 months, follow up PRN. Discussed diet and exercise.",
)


def note_text(pages: int, chars_per_page: int = 3000) -> str:
    """A clinical note of about *pages* pages: headed sections of typical note sentences."""
    out, size, n = [], 0, 0
    while size < pages * chars_per_page:
        line = f"## Section {n}" if n % 12 == 0 else _NOTE_LINES[n % len(_NOTE_LINES)]
        out.append(line)
        size += len(line) + 1
        n += 1
    return "\n".join(out)


def write_notes(path: Path, *, count: int, pages: int = 2, seed: int = 7) -> Path:
    """A FHIR Bundle of *count* DocumentReferences for one person, in turn text/plain, HTML,
    RTF and PDF (fpdf2, installed with the test extras), each about *pages* pages."""
    import base64

    from fpdf import FPDF

    rng = random.Random(seed)
    entries: list[dict[str, Any]] = [{"resource": {"resourceType": "Patient", "id": "notes"}}]
    for i in range(count):
        text = note_text(pages)
        kind = ("text/plain", "text/html", "text/rtf", "application/pdf")[i % 4]
        if kind == "text/html":
            body = "".join(f"<p>{line}</p>" for line in text.splitlines()).encode()
        elif kind == "text/rtf":
            body = ("{\\rtf1\\ansi " + "\\par ".join(text.splitlines()) + "}").encode()
        elif kind == "application/pdf":
            doc = FPDF()
            doc.set_font("Helvetica", size=10)
            doc.add_page()
            doc.multi_cell(0, 5, text)
            body = bytes(doc.output())
        else:
            body = text.encode()
        day = f"20{10 + i % 14:02d}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
        entries.append(
            {
                "resource": {
                    "resourceType": "DocumentReference",
                    "id": f"note-{i}",
                    "status": "current",
                    "subject": {"reference": "Patient/notes"},
                    "date": f"{day}T09:00:00Z",
                    "content": [
                        {
                            "attachment": {
                                "contentType": kind,
                                "data": base64.b64encode(body).decode(),
                            }
                        }
                    ],
                }
            }
        )
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


if __name__ == "__main__":
    sys.exit(main())
