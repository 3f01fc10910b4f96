"""Who a synthetic person is: demographics, conditions, medications, allergies, lab tendencies,
how many years of records, wearables and claims.

``DEFAULT`` is the benchmarks' person (``bench/synth.py`` seed 0: its files stay byte for byte
what they were). The other profiles give the patient-question scorecard (``tests/quality``)
people of other ages and sexes, with chronic disease, long medication lists, a critical lab
value, no insurance, only a few years of records, clinical notes and imaging reports, or a
glucose sensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# (SNOMED, name, onset years before the end, resolved after days or None)
Condition = tuple[str, str, float, int | None]
# (RxNorm, name, per day, started years before the end, condition SNOMED)
Chronic = tuple[str, str, int, float, str]
# (RxNorm, name, days, per day, condition SNOMED or None)
Acute = tuple[str, str, int, int, str | None]
# (key, SNOMED, name, (reaction SNOMED, reaction), criticality, recorded years before the end)
Allergy = tuple[str, str, str, tuple[str, str], str, float]
# (CVX, name, years before the end of each dose; None: every October)
Vaccine = tuple[str, str, list[float] | None]
# (LOINC, value, years before the end): one result set to a value past a critical limit
Critical = tuple[str, float, float]

CONDITIONS: list[Condition] = [
    ("38341003", "Hypertension", 8.5, None),
    ("55822004", "Hyperlipidemia", 9.0, None),
    ("15777000", "Prediabetes", 3.2, None),
    ("40930008", "Hypothyroidism", 6.0, None),
    ("235595009", "Gastroesophageal reflux disease", 7.5, None),
    ("367498001", "Seasonal allergic rhinitis", 9.8, None),
    ("34713006", "Vitamin D deficiency", 5.0, None),
    ("162864005", "Body mass index 30+ - obesity", 4.0, None),
    ("37796009", "Migraine", 9.5, None),
    ("10509002", "Acute bronchitis", 8.0, 21),
    ("36971009", "Sinusitis", 6.7, 14),
    ("44465007", "Sprain of ankle", 5.5, 42),
    ("195662009", "Acute viral pharyngitis", 3.9, 10),
    ("840539006", "COVID-19", 3.6, 14),
    ("68566005", "Urinary tract infection", 2.1, 7),
    ("444814009", "Viral sinusitis", 1.2, 12),
]
CHRONIC: list[Chronic] = [
    ("314076", "lisinopril 10 MG Oral Tablet", 1, 8.4, "38341003"),
    ("617310", "atorvastatin 20 MG Oral Tablet", 1, 8.9, "55822004"),
    ("966222", "levothyroxine sodium 0.05 MG Oral Tablet", 1, 5.9, "40930008"),
    ("198053", "omeprazole 20 MG Delayed Release Oral Capsule", 1, 7.4, "235595009"),
    ("860975", "metformin hydrochloride 500 MG Extended Release Oral Tablet", 1, 3.0, "15777000"),
    ("636671", "cholecalciferol 1000 UNT Oral Tablet", 1, 4.9, "34713006"),
]
ACUTE: list[Acute] = [
    ("308182", "amoxicillin 500 MG Oral Capsule", 10, 3, "36971009"),
    ("308460", "azithromycin 250 MG Oral Tablet", 5, 1, "10509002"),
    ("197806", "ibuprofen 600 MG Oral Tablet", 10, 3, "44465007"),
    ("312617", "predniSONE 20 MG Oral Tablet", 5, 1, "444814009"),
    ("310965", "ibuprofen 200 MG Oral Tablet", 7, 2, "195662009"),
    ("1049221", "acetaminophen 325 MG Oral Tablet", 7, 3, "840539006"),
    ("311989", "nitrofurantoin 100 MG Oral Capsule", 5, 2, "68566005"),
    ("896188", "fluticasone propionate 0.05 MG/ACTUAT Nasal Spray", 30, 1, "367498001"),
    ("849574", "naproxen sodium 220 MG Oral Tablet", 5, 2, "37796009"),
]
ALLERGIES: list[Allergy] = [
    ("pcn", "764146007", "Penicillin", ("247472004", "Hives"), "high", 9.9),
    ("peanut", "256349002", "Peanut", ("39579001", "Anaphylaxis"), "high", 9.9),
    ("latex", "111088007", "Latex", ("40275004", "Contact dermatitis"), "low", 6.3),
]
VACCINES: list[Vaccine] = [
    ("140", "Influenza, seasonal, injectable, preservative free", None),
    ("115", "Tdap", [7.1]),
    (
        "208",
        "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, "
        "30 mcg/0.3mL dose",
        [5.6, 5.5, 4.9, 3.9],
    ),
    ("187", "zoster vaccine recombinant", [1.8, 1.6]),
    ("133", "Pneumococcal conjugate PCV 13", [1.1]),
]
PROCEDURES: list[tuple[str, str, float]] = [
    ("73761001", "Colonoscopy", 5.2),
    ("71651007", "Mammography", 8.0),
    ("71651007", "Mammography", 6.0),
    ("71651007", "Mammography", 4.0),
    ("71651007", "Mammography", 2.0),
    ("268556000", "Cervical cancer screening", 7.0),
    ("268556000", "Cervical cancer screening", 2.0),
    ("418891003", "Bone density scan", 1.5),
]


@dataclass(frozen=True)
class Profile:
    name: str
    family: str = "Lindqvist"
    given: tuple[str, ...] = ("Maren", "Jo")
    gender: str = "female"
    birth: str = "1971-04-17"
    years: int = 10
    wearable_years: int = 5
    claims: bool = True
    stopped: bool = True  # one prescription stopped for side effects (amlodipine)
    conditions: list[Condition] = field(default_factory=lambda: CONDITIONS)
    chronic: list[Chronic] = field(default_factory=lambda: CHRONIC)
    acute: list[Acute] = field(default_factory=lambda: ACUTE)
    allergies: list[Allergy] = field(default_factory=lambda: ALLERGIES)
    vaccines: list[Vaccine] = field(default_factory=lambda: VACCINES)
    procedures: list[tuple[str, str, float]] = field(default_factory=lambda: PROCEDURES)
    lab_means: dict[str, float] = field(default_factory=dict)  # LOINC → mean
    critical: list[Critical] = field(default_factory=list)
    documents: bool = False  # notes and imaging reports (bench/synth_documents.py)
    cgm_days: int = 0  # days of a Dexcom Clarity export up to the end (bench/gen_cgm.py)


DEFAULT = Profile("default")

_DIABETES = ("44054006", "Diabetes mellitus type 2", 9.0, None)
_CKD = ("433144002", "Chronic kidney disease stage 3", 4.5, None)
_HF = ("84114007", "Heart failure", 5.0, None)
_AF = ("49436004", "Atrial fibrillation", 6.0, None)
_COPD = ("13645005", "Chronic obstructive lung disease", 8.0, None)
_ASTHMA = ("195967001", "Asthma", 9.0, None)
_DEPRESSION = ("35489007", "Depressive disorder", 4.0, None)
_OSTEO = ("64859006", "Osteoporosis", 3.0, None)
_ANEMIA = ("271737000", "Anemia", 2.5, None)
_CAD = ("53741008", "Coronary arteriosclerosis", 7.0, None)
_HTN, _HLD, _HYPO, _GERD, _RHIN = (c for c in CONDITIONS[:6] if c[0] != "15777000")
_BRONCHITIS, _SINUS = CONDITIONS[9], CONDITIONS[10]

PROFILES: dict[str, Profile] = {
    "default": DEFAULT,
    # Type 2 diabetes on insulin with kidney disease: high A1c and glucose, a critical potassium,
    # two weeks of a glucose sensor, a follow-up note and a kidney ultrasound report.
    "diabetic": Profile(
        "diabetic",
        family="Osei",
        given=("Kwame",),
        gender="male",
        birth="1958-09-02",
        years=8,
        wearable_years=0,
        conditions=[_DIABETES, _CKD, _HTN, _HLD, _BRONCHITIS],
        chronic=[
            (
                "860975",
                "metformin hydrochloride 500 MG Extended Release Oral Tablet",
                2,
                7.5,
                "44054006",
            ),
            ("311041", "insulin glargine 100 UNT/ML Injectable Solution", 1, 3.5, "44054006"),
            ("314076", "lisinopril 10 MG Oral Tablet", 1, 7.0, "38341003"),
            ("617310", "atorvastatin 20 MG Oral Tablet", 1, 8.0, "55822004"),
        ],
        acute=[ACUTE[1]],
        allergies=[ALLERGIES[0]],
        lab_means={"4548-4": 8.4, "2345-7": 168, "2160-0": 1.6, "33914-3": 44},
        critical=[("2823-3", 6.8, 1.4)],
        documents=True,
        cgm_days=14,
    ),
    # In her eighties, twelve medications for heart, lungs, bones and mood; a critical sodium.
    "polypharmacy": Profile(
        "polypharmacy",
        family="Abernathy",
        given=("Ruth", "Ellen"),
        birth="1941-02-11",
        years=10,
        wearable_years=0,
        conditions=[_HF, _AF, _COPD, _OSTEO, _DEPRESSION, _HTN, _HLD, _HYPO, _GERD],
        chronic=[
            ("197361", "amlodipine 5 MG Oral Tablet", 1, 9.0, "38341003"),
            ("200031", "carvedilol 6.25 MG Oral Tablet", 2, 4.8, "84114007"),
            ("310429", "furosemide 20 MG Oral Tablet", 1, 4.8, "84114007"),
            ("1364435", "apixaban 5 MG Oral Tablet", 2, 5.8, "49436004"),
            ("617310", "atorvastatin 20 MG Oral Tablet", 1, 8.9, "55822004"),
            ("966222", "levothyroxine sodium 0.05 MG Oral Tablet", 1, 7.0, "40930008"),
            ("198053", "omeprazole 20 MG Delayed Release Oral Capsule", 1, 7.4, "235595009"),
            ("904420", "alendronate sodium 70 MG Oral Tablet", 1, 2.9, "64859006"),
            ("312938", "sertraline 50 MG Oral Tablet", 1, 3.9, "35489007"),
            ("896209", "tiotropium 18 MCG Inhalation Capsule", 1, 7.5, "13645005"),
            ("636671", "cholecalciferol 1000 UNT Oral Tablet", 1, 2.9, "64859006"),
            (
                "314231",
                "potassium chloride 10 MEQ Extended Release Oral Tablet",
                1,
                4.0,
                "84114007",
            ),
        ],
        acute=[ACUTE[1], ACUTE[3]],
        stopped=False,
        allergies=[ALLERGIES[0], ALLERGIES[2]],
        lab_means={"2951-2": 136, "2160-0": 1.2, "718-7": 11.6},
        critical=[("2951-2", 118, 0.6)],
    ),
    # Twenties, asthma and hay fever, a watch for steps and sleep, a few years of records.
    "young": Profile(
        "young",
        family="Nakamura",
        given=("Ren",),
        gender="male",
        birth="1999-06-21",
        years=3,
        wearable_years=1,
        claims=False,
        conditions=[_ASTHMA, _RHIN, _SINUS],
        chronic=[
            ("745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", 1, 2.8, "195967001"),
        ],
        acute=[ACUTE[0], ACUTE[7]],
        stopped=False,
        allergies=[],
        vaccines=[VACCINES[0], ("115", "Tdap", [2.5])],
        procedures=[],
    ),
    # Healthy, no chronic disease, no insurance on file.
    "healthy": Profile(
        "healthy",
        family="Duarte",
        given=("Ines",),
        birth="1986-12-03",
        years=4,
        wearable_years=1,
        claims=False,
        conditions=[_SINUS, CONDITIONS[13]],
        chronic=[],
        acute=[ACUTE[0], ACUTE[5]],
        stopped=False,
        allergies=[ALLERGIES[1]],
        vaccines=VACCINES[:3],
        procedures=[PROCEDURES[5]],
    ),
    # Kidney disease and anemia: low hemoglobin, high creatinine.
    "kidney": Profile(
        "kidney",
        family="Ferreira",
        given=("Luisa",),
        birth="1962-05-30",
        years=6,
        wearable_years=0,
        conditions=[_CKD, _ANEMIA, _HYPO, _HTN],
        chronic=[
            ("966222", "levothyroxine sodium 0.05 MG Oral Tablet", 1, 5.5, "40930008"),
            ("314076", "lisinopril 10 MG Oral Tablet", 1, 5.8, "38341003"),
            ("310325", "ferrous sulfate 325 MG Oral Tablet", 1, 2.3, "271737000"),
        ],
        acute=[ACUTE[6]],
        stopped=False,
        allergies=[ALLERGIES[2]],
        lab_means={"718-7": 9.9, "2160-0": 1.9, "33914-3": 36, "3094-0": 32},
    ),
    # Heart disease on a statin: cholesterol comes down over the years; a cardiology note, a
    # lumbar spine MRI and a chest X-ray report.
    "heart": Profile(
        "heart",
        family="Kowalski",
        given=("Jan",),
        gender="male",
        birth="1950-01-19",
        years=10,
        wearable_years=0,
        conditions=[_CAD, _HLD, _HTN, _BRONCHITIS],
        chronic=[
            ("617310", "atorvastatin 20 MG Oral Tablet", 1, 9.0, "55822004"),
            ("243670", "aspirin 81 MG Oral Tablet", 1, 7.0, "53741008"),
            ("866924", "metoprolol tartrate 25 MG Oral Tablet", 2, 7.0, "53741008"),
            ("314076", "lisinopril 10 MG Oral Tablet", 1, 8.0, "38341003"),
        ],
        acute=[ACUTE[1]],
        allergies=[ALLERGIES[0]],
        lab_means={"2093-3": 235, "18262-6": 150},
        documents=True,
    ),
}


def profile(name: str, **changes: object) -> Profile:
    """The named profile, with *changes* (e.g. ``wearable_years=0``)."""
    return replace(PROFILES[name], **changes)  # type: ignore[arg-type]
