"""The condition-to-measures map: which long-term conditions the overview knows, how a recorded
condition is recognised (SNOMED CT, ICD-10, words), the measures that follow each, the typical
targets published guidelines give (with their source), and the drugs usually given for it.

Written by the project and documented in docs/conditions.md (a test keeps the two in step).
A typical target describes what a guideline says for many adults; it is never advice for one
person, and the overview says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    loinc: tuple[str, ...]
    target: str | None = None  # the typical target, in words
    source: str | None = None  # the guideline it comes from
    sits: Callable[[float], str] | None = None  # how a value sits against it, in words


@dataclass(frozen=True)
class ConditionGroup:
    key: str
    names: tuple[str, ...]  # what a person may call it (the `condition` argument matches these)
    snomed: frozenset[str]
    icd10: tuple[str, ...]  # code prefixes
    words: re.Pattern[str]
    measures: tuple[Measure, ...]
    drugs: tuple[str, ...]  # drug names (first words of a medication's name), lower case
    exclude: re.Pattern[str] | None = None


def _below(limit: float) -> Callable[[float], str]:
    return lambda v: "within the typical target" if v < limit else "above the typical target"


def _between(low: float, high: float) -> Callable[[float], str]:
    def sits(v: float) -> str:
        if v < low:
            return "below the typical range"
        return "above the typical range" if v > high else "within the typical range"

    return sits


def _bands(*bands: tuple[float, str]) -> Callable[[float], str]:
    """The label of the first band whose lower bound *v* reaches (bands from highest)."""
    return lambda v: next((label for low, label in bands if v >= low), bands[-1][1])


ADA = "ADA Standards of Care in Diabetes (2024)"
ACC_AHA_BP = "ACC/AHA 2017 High Blood Pressure Guideline"
NCEP = "NCEP ATP III cholesterol categories"
KDIGO = "KDIGO 2012 CKD Guideline"

HBA1C = Measure("HbA1c", ("4548-4", "17856-6", "4549-2"), "below 7%", ADA, _below(7))
GLUCOSE = Measure(
    "Fasting glucose", ("1558-6", "2339-0", "2345-7"), "80–130 mg/dL before meals", ADA
)
SYSTOLIC = Measure(
    "Systolic blood pressure", ("8480-6",), "below 130 mmHg", ACC_AHA_BP, _below(130)
)
DIASTOLIC = Measure(
    "Diastolic blood pressure", ("8462-4",), "below 80 mmHg", ACC_AHA_BP, _below(80)
)
LDL = Measure(
    "LDL cholesterol",
    ("18262-6", "13457-7", "2089-1"),
    "below 100 mg/dL (optimal)",
    NCEP,
    _below(100),
)
TOTAL_CHOLESTEROL = Measure(
    "Total cholesterol", ("2093-3",), "below 200 mg/dL (desirable)", NCEP, _below(200)
)
EGFR = Measure(
    "eGFR",
    ("33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "69405-9", "77147-7"),
    "GFR categories G1 ≥90, G2 60–89, G3a 45–59, G3b 30–44, G4 15–29, G5 <15 mL/min/1.73m²",
    KDIGO,
    _bands(
        (90, "category G1"),
        (60, "category G2"),
        (45, "category G3a"),
        (30, "category G3b"),
        (15, "category G4"),
        (0, "category G5"),
    ),
)
CREATININE = Measure("Creatinine", ("2160-0", "38483-4"))
ALBUMIN = Measure(
    "Urine albumin/creatinine ratio",
    ("9318-7", "14959-1", "32294-1", "14958-3"),
    "albuminuria categories A1 <30, A2 30–300, A3 >300 mg/g",
    KDIGO,
    _bands((300.01, "category A3"), (30, "category A2"), (0, "category A1")),
)
WEIGHT = Measure("Body weight", ("29463-7", "3141-9"))
BNP = Measure("BNP / NT-proBNP", ("30934-4", "33762-6", "83107-3"))
SPO2 = Measure(
    "Oxygen saturation",
    ("59408-5", "2708-6", "2710-2"),
    "94–98% for most adults; 88–92% for some people with COPD",
    "BTS guideline for oxygen use in adults (2017)",
)
TSH = Measure(
    "TSH",
    ("3016-3", "11580-8"),
    "about 0.4–4.0 mIU/L (usual reference interval)",
    "ATA/AACE hypothyroidism guideline (2012)",
    _between(0.4, 4.0),
)
BMI = Measure(
    "BMI",
    ("39156-5",),
    "18.5–24.9 kg/m² (the WHO 'normal' range)",
    "WHO BMI classification",
    _between(18.5, 24.9),
)
HEART_RATE = Measure(
    "Heart rate",
    ("8867-4",),
    "below 110 beats a minute at rest (lenient rate control)",
    "ESC 2020 atrial fibrillation guideline",
    _below(110),
)

_BP_DRUGS: tuple[str, ...] = (
    *("lisinopril", "enalapril", "ramipril", "benazepril", "losartan", "valsartan"),
    *("olmesartan", "irbesartan", "amlodipine", "nifedipine", "hydrochlorothiazide"),
    *("chlorthalidone", "metoprolol", "atenolol", "carvedilol", "spironolactone"),
)

GROUPS: tuple[ConditionGroup, ...] = (
    ConditionGroup(
        "diabetes",
        ("diabetes", "diabetes mellitus", "type 2 diabetes", "type 1 diabetes", "blood sugar"),
        frozenset({"44054006", "46635009", "73211009", "190330002", "368581000119106"}),
        ("E10", "E11", "E13"),
        re.compile(r"diabet", re.I),
        (HBA1C, GLUCOSE),
        (
            "metformin",
            "insulin",
            "glipizide",
            "glyburide",
            "glimepiride",
            "sitagliptin",
            "linagliptin",
            "empagliflozin",
            "dapagliflozin",
            "canagliflozin",
            "liraglutide",
            "semaglutide",
            "dulaglutide",
            "pioglitazone",
            "tirzepatide",
        ),
        re.compile(r"prediabet|gestational|insipidus", re.I),
    ),
    ConditionGroup(
        "high blood pressure",
        ("high blood pressure", "hypertension", "blood pressure", "htn"),
        frozenset({"38341003", "59621000", "1201005", "10725009"}),
        ("I10", "I11", "I12", "I13", "I15", "I16"),
        re.compile(r"hypertens|high blood pressure", re.I),
        (SYSTOLIC, DIASTOLIC),
        _BP_DRUGS,
        re.compile(r"pulmonary|ocular|intracranial|gestational|pregnan", re.I),
    ),
    ConditionGroup(
        "high cholesterol",
        ("high cholesterol", "cholesterol", "hyperlipidemia", "hypercholesterolemia"),
        frozenset({"55822004", "13644009", "267432004", "398036000"}),
        ("E78.0", "E78.1", "E78.2", "E78.4", "E78.5"),
        re.compile(r"hyperlipid|hypercholesterol|dyslipid|high cholesterol", re.I),
        (LDL, TOTAL_CHOLESTEROL),
        (
            "atorvastatin",
            "simvastatin",
            "rosuvastatin",
            "pravastatin",
            "lovastatin",
            "ezetimibe",
            "evolocumab",
            "alirocumab",
        ),
    ),
    ConditionGroup(
        "chronic kidney disease",
        ("chronic kidney disease", "ckd", "kidney disease", "kidneys"),
        frozenset(
            {
                "709044004",
                "431855005",
                "431856006",
                "433144002",
                "431857002",
                "433146000",
                "46177005",
            }
        ),
        ("N18",),
        re.compile(r"chronic kidney disease|\bckd\b|chronic renal", re.I),
        (EGFR, CREATININE, ALBUMIN),
        ("lisinopril", "losartan", "valsartan", "dapagliflozin", "empagliflozin", "finerenone"),
    ),
    ConditionGroup(
        "heart failure",
        ("heart failure", "chf", "congestive heart failure"),
        frozenset({"84114007", "88805009", "42343007", "85232009"}),
        ("I50",),
        re.compile(r"heart failure", re.I),
        (WEIGHT, BNP),
        (
            "furosemide",
            "bumetanide",
            "torsemide",
            "carvedilol",
            "metoprolol",
            "sacubitril",
            "spironolactone",
            "eplerenone",
            "digoxin",
            "dapagliflozin",
            "empagliflozin",
        ),
    ),
    ConditionGroup(
        "asthma or COPD",
        ("asthma", "copd", "chronic obstructive pulmonary disease", "emphysema", "lungs"),
        frozenset({"195967001", "233678006", "13645005", "185086009", "87433001"}),
        ("J43", "J44", "J45"),
        re.compile(r"asthma|\bcopd\b|chronic obstructive|emphysema", re.I),
        (SPO2,),
        (
            "albuterol",
            "salbutamol",
            "fluticasone",
            "budesonide",
            "tiotropium",
            "salmeterol",
            "formoterol",
            "montelukast",
            "ipratropium",
            "umeclidinium",
            "mometasone",
        ),
    ),
    ConditionGroup(
        "hypothyroidism",
        ("hypothyroidism", "underactive thyroid", "thyroid"),
        frozenset({"40930008", "83664006"}),
        ("E03",),
        re.compile(r"hypothyroid", re.I),
        (TSH,),
        ("levothyroxine", "liothyronine"),
    ),
    ConditionGroup(
        "obesity",
        ("obesity", "weight"),
        frozenset({"414916001", "162864005", "408512008", "238136002"}),
        ("E66",),
        re.compile(r"obes|body mass index 30|body mass index 40", re.I),
        (BMI, WEIGHT),
        ("semaglutide", "tirzepatide", "liraglutide", "orlistat", "phentermine"),
    ),
    ConditionGroup(
        "atrial fibrillation",
        ("atrial fibrillation", "afib", "a-fib", "af"),
        frozenset({"49436004", "282825002", "5370000"}),
        ("I48",),
        re.compile(r"atrial fibrillation|atrial flutter", re.I),
        (HEART_RATE,),
        (
            "apixaban",
            "rivaroxaban",
            "dabigatran",
            "edoxaban",
            "warfarin",
            "diltiazem",
            "metoprolol",
            "amiodarone",
            "digoxin",
            "flecainide",
            "sotalol",
        ),
    ),
)
