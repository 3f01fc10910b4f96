"""Apple Health → FHIR R4: which HealthKit type becomes which Observation, in which unit.

One table (``QUANTITIES``) says, per HealthKit quantity type, the LOINC code where one exists
(else only the HealthKit identifier, in Apple's documentation code system), the UCUM unit the
value is stored in, the factors from the units Apple writes, and how a day's samples become one
value: ``sum`` (steps, distance, energy: a daily total, sources deduplicated) or ``mean`` (heart
rate, weight, …: the daily mean, with the minimum, maximum and count as components). The codes
and units are the ones ``records._metrics`` looks for, so trends work on what comes in here.
docs/apple-health.md has the table in words.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HK = "http://developer.apple.com/documentation/healthkit"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Codes for the statistics of a daily aggregate (its components), ours.
STAT = "https://healthlocker.dev/fhir/CodeSystem/daily-statistic"
QTYPE = "HKQuantityTypeIdentifier"

# Affine factor: value_in_target = value * scale + offset.
Factor = tuple[float, float]
_LB, _MI = 0.45359237, 1.609344
_ENERGY: dict[str, Factor] = {
    "kcal": (1, 0),
    "Cal": (1, 0),
    "cal": (0.001, 0),
    "kJ": (1 / 4.184, 0),
    "J": (1 / 4184, 0),
}
_KM: dict[str, Factor] = {
    "km": (1, 0),
    "m": (0.001, 0),
    "cm": (0.00001, 0),
    "mi": (_MI, 0),
    "yd": (0.0009144, 0),
    "ft": (0.0003048, 0),
}
_PER_MIN: dict[str, Factor] = {"count/min": (1, 0), "count/s": (60, 0), "count/hr": (1 / 60, 0)}
_MINUTES: dict[str, Factor] = {"min": (1, 0), "s": (1 / 60, 0), "hr": (60, 0), "ms": (1 / 60000, 0)}
_KG: dict[str, Factor] = {"kg": (1, 0), "lb": (_LB, 0), "g": (0.001, 0), "st": (6.35029318, 0)}
_FRACTION: dict[str, Factor] = {"%": (100, 0)}  # Apple writes percentages as fractions (0.97)


@dataclass(frozen=True)
class Spec:
    """How one HealthKit quantity type is stored."""

    key: str  # short name: ids, notes, docs
    text: str  # what the value is, in words
    unit: str  # UCUM code of the stored value
    unit_text: str
    kind: Literal["sum", "mean"]
    units: dict[str, Factor]  # unit as Apple writes it → factor to ``unit``
    loinc: tuple[tuple[str, str], ...] = ()  # (code, display)
    category: str | None = "activity"
    hk: str = ""  # the HealthKit identifier (set from the table's key)


def _s(key: str, text: str, unit: str, units: dict[str, Factor], *loinc: tuple[str, str],
       unit_text: str | None = None) -> Spec:  # fmt: skip
    return Spec(key, text, unit, unit_text or unit, "sum", units, tuple(loinc))


def _m(key: str, text: str, unit: str, units: dict[str, Factor], *loinc: tuple[str, str],
       unit_text: str | None = None, category: str | None = "vital-signs") -> Spec:  # fmt: skip
    return Spec(key, text, unit, unit_text or unit, "mean", units, tuple(loinc), category)


_TABLE: dict[str, Spec] = {
    # additive: daily totals, one source per 15-minute slot (see _agg)
    "StepCount": _s(
        "steps", "Steps (daily total)", "{steps}", {"count": (1, 0)},
        ("41950-7", "Number of steps in 24 hour Measured"), unit_text="steps",
    ),
    "DistanceWalkingRunning": _s("distance_walking_running", "Walking and running distance",
                                 "km", _KM),
    "DistanceCycling": _s("distance_cycling", "Cycling distance", "km", _KM),
    "DistanceSwimming": _s("distance_swimming", "Swimming distance", "km", _KM),
    "DistanceWheelchair": _s("distance_wheelchair", "Wheelchair distance", "km", _KM),
    "DistanceDownhillSnowSports": _s("distance_snow_sports", "Downhill snow sports distance",
                                     "km", _KM),
    "ActiveEnergyBurned": _s(
        "active_energy", "Active energy burned (daily total)", "kcal", _ENERGY,
        ("41981-2", "Calories burned"),
    ),
    "BasalEnergyBurned": _s("basal_energy", "Resting (basal) energy burned", "kcal", _ENERGY),
    "DietaryEnergyConsumed": _s(
        "calories_in", "Calories eaten (daily total)", "kcal", _ENERGY,
        ("9052-2", "Calorie intake total"),
    ),
    "FlightsClimbed": _s("flights_climbed", "Flights of stairs climbed", "{flights}",
                         {"count": (1, 0)}, unit_text="flights"),
    "AppleExerciseTime": _s("exercise_minutes", "Exercise minutes", "min", _MINUTES),
    "AppleStandTime": _s("stand_minutes", "Standing minutes", "min", _MINUTES),
    "AppleMoveTime": _s("move_minutes", "Move minutes", "min", _MINUTES),
    "PushCount": _s("wheelchair_pushes", "Wheelchair pushes", "{pushes}", {"count": (1, 0)},
                    unit_text="pushes"),
    # levels and rates: daily mean, with minimum, maximum and count as components
    "HeartRate": _m("heart_rate", "Heart rate (daily mean)", "/min", _PER_MIN,
                    ("8867-4", "Heart rate"), unit_text="beats/minute"),
    "RestingHeartRate": _m("resting_heart_rate", "Resting heart rate", "/min", _PER_MIN,
                           ("40443-4", "Heart rate --resting"), unit_text="beats/minute"),
    "WalkingHeartRateAverage": _m("walking_heart_rate", "Walking heart rate average", "/min",
                                  _PER_MIN, unit_text="beats/minute"),
    "HeartRateVariabilitySDNN": _m(
        "heart_rate_variability", "Heart rate variability (SDNN)", "ms", {"ms": (1, 0)},
        ("80404-7", "R-R interval.standard deviation (Heart rate variability)"),
    ),
    "OxygenSaturation": _m(
        "oxygen_saturation", "Oxygen saturation (SpO2)", "%", _FRACTION,
        ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ("2708-6", "Oxygen saturation in Arterial blood"),
    ),
    "RespiratoryRate": _m("respiratory_rate", "Respiratory rate", "/min", _PER_MIN,
                          ("9279-1", "Respiratory rate"), unit_text="breaths/minute"),
    "BodyMass": _m("body_weight", "Body weight", "kg", _KG, ("29463-7", "Body weight")),
    "BodyMassIndex": _m("bmi", "Body mass index", "kg/m2", {"count": (1, 0)},
                        ("39156-5", "Body mass index (BMI) [Ratio]")),
    "Height": _m("body_height", "Body height", "cm",
                 {"cm": (1, 0), "m": (100, 0), "mm": (0.1, 0), "in": (2.54, 0),
                  "ft": (30.48, 0)},
                 ("8302-2", "Body height")),
    "BodyFatPercentage": _m("body_fat", "Body fat percentage", "%", _FRACTION,
                            ("41982-0", "Percentage of body fat Measured")),
    "LeanBodyMass": _m("lean_body_mass", "Lean body mass", "kg", _KG,
                       ("91557-9", "Lean body weight")),
    "BloodGlucose": _m(
        "blood_glucose", "Blood glucose", "mg/dL",
        {"mg/dL": (1, 0), "mmol<180.15588000005408>/L": (18.015588, 0),
         "mmol<180.1558800000541>/L": (18.015588, 0), "mmol/L": (18.015588, 0)},
        ("41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer"),
        category=None,  # self-tested: not a lab result, not a vital sign
    ),
    "BodyTemperature": _m("body_temperature", "Body temperature", "Cel",
                          {"degC": (1, 0), "degF": (5 / 9, -160 / 9)},
                          ("8310-5", "Body temperature")),
    "VO2Max": _m("vo2_max", "VO2 max", "mL/min/kg",
                 {"mL/min·kg": (1, 0), "mL/(kg·min)": (1, 0), "ml/(kg·min)": (1, 0)},
                 ("94122-9", "Maximal oxygen uptake [Volume/Time/Mass] by Estimated"),
                 category="activity"),
}  # fmt: skip
QUANTITIES: dict[str, Spec] = {
    QTYPE + name: Spec(**{**spec.__dict__, "hk": QTYPE + name}) for name, spec in _TABLE.items()
}
SYSTOLIC = QTYPE + "BloodPressureSystolic"
DIASTOLIC = QTYPE + "BloodPressureDiastolic"

# Apple's cumulative quantity types we have no row for: still daily totals, coded by their
# HealthKit identifier, the unit as Apple wrote it. Any other quantity type: a daily mean.
CUMULATIVE_PREFIXES = ("Dietary", "Distance", "NikeFuel", "SwimmingStrokeCount",
                       "NumberOf", "InhalerUsage", "InsulinDelivery", "UVExposure",
                       "TimeInDaylight")  # fmt: skip
# Apple unit → UCUM, for the types with no row (unknown units are kept as text only).
UCUM_OF = {
    "g": "g", "mg": "mg", "mcg": "ug", "mL": "mL", "L": "L", "kcal": "kcal", "Cal": "kcal",
    "kJ": "kJ", "min": "min", "s": "s", "ms": "ms", "hr": "h", "m": "m", "km": "km",
    "cm": "cm", "mi": "[mi_i]", "ft": "[ft_i]", "in": "[in_i]", "lb": "[lb_av]", "kg": "kg",
    "count/min": "/min", "degC": "Cel", "degF": "[degF]", "mmHg": "mm[Hg]", "m/s": "m/s",
    "km/hr": "km/h", "mi/hr": "[mi_i]/h", "W": "W", "IU": "[IU]", "S": "S", "%": "%",
    "dBASPL": "dB", "dBHL": "dB", "count": "1",
}  # fmt: skip


def generic_spec(hk_type: str, unit: str) -> Spec:
    """A type with no row: its HealthKit identifier as its code, its unit as Apple wrote it."""
    name = hk_type.removeprefix(QTYPE)
    kind: Literal["sum", "mean"] = "sum" if name.startswith(CUMULATIVE_PREFIXES) else "mean"
    scale = 100.0 if unit == "%" else 1.0  # fractions, as for the types with a row
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip().capitalize()
    return Spec(
        key=name, text=words, unit=UCUM_OF.get(unit, ""), unit_text=unit, kind=kind,
        units={unit: (scale, 0)}, hk=hk_type,
    )  # fmt: skip


def source_class(name: str, device: str | None) -> int:
    """Apple's default source order: Apple Watch first, then iPhone, then any other app.

    By name, else by the ``device`` attribute (people rename their watch; its model stays).
    """
    if "Watch" in name or (device is not None and "model:Watch" in device):
        return 0
    if "iPhone" in name or (device is not None and "model:iPhone" in device):
        return 1
    return 2


# --- resources ------------------------------------------------------------------------------


def rid(patient: str, *parts: str) -> str:
    """A deterministic id: the same person, kind and day always give the same id."""
    text = "|".join((patient, *parts))
    return "ah-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def quantity(value: float, unit: str, unit_text: str) -> dict[str, Any]:
    q: dict[str, Any] = {"value": round(value, 4), "unit": unit_text}
    if unit:
        q.update(system=UCUM, code=unit)
    return q


def concept(code: str, text: str, system: str = HK) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": text}]}


# A workout, and its statistics as components, as every connector writes them.
EXERCISE = {
    "coding": [{"system": LOINC, "code": "73985-4", "display": "Exercise activity"}],
    "text": "Workout",
}
DURATION = concept("55411-3", "Exercise duration", LOINC)
ENERGY = concept("41981-2", "Calories burned", LOINC)
HEART_RATE = concept("8867-4", "Average heart rate", LOINC)


def _category(code: str) -> list[dict[str, Any]]:
    words = {"vital-signs": "Vital Signs", "activity": "Activity", "laboratory": "Laboratory"}
    return [{"coding": [{"system": CATEGORY, "code": code, "display": words[code]}]}]


@dataclass
class Obs:
    """An Observation being built; ``resource()`` gives the FHIR dict."""

    id: str
    patient: str
    code: dict[str, Any]
    category: str | None
    effective: dict[str, Any]  # {"effectivePeriod": …} or {"effectiveDateTime": …}
    value: dict[str, Any] | None = None  # {"valueQuantity": …} or similar
    components: list[dict[str, Any]] = field(default_factory=list)

    def add(self, code: dict[str, Any], value: dict[str, Any]) -> None:
        self.components.append({"code": code, **value})

    def resource(self) -> dict[str, Any]:
        r: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.id,
            "status": "final",
            **({"category": _category(self.category)} if self.category else {}),
            "code": self.code,
            "subject": {"reference": f"Patient/{self.patient}"},
            **self.effective,
        }
        if self.value:
            r.update(self.value)
        if self.components:
            r["component"] = self.components
        return r


def spec_code(spec: Spec) -> dict[str, Any]:
    """LOINC where there is a code (the HealthKit identifier adds nothing then), else HK."""
    codings = [{"system": LOINC, "code": c, "display": d} for c, d in spec.loinc] or [
        {"system": HK, "code": spec.hk, "display": spec.text}
    ]
    return {"coding": codings, "text": spec.text}


def on_day(day: str) -> dict[str, Any]:
    """A daily aggregate's time: the date itself (FHIR dateTime at day precision: that day).

    Not a Period: the trends read ``effectiveDateTime`` directly, the cheapest path.
    """
    return {"effectiveDateTime": day}


def iso(stamp: str) -> str | None:
    """Apple's ``2020-01-31 07:05:09 -0800`` as FHIR's ``2020-01-31T07:05:09-08:00``, or None."""
    if len(stamp) != 25 or stamp[10] != " " or stamp[19] != " " or stamp[20] not in "+-":
        return None
    try:
        datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    return f"{stamp[:10]}T{stamp[11:19]}{stamp[20:23]}:{stamp[23:25]}"


@functools.lru_cache(maxsize=65536)
def valid_day(day: str) -> bool:
    """Whether *day* (a start date's first ten characters) is a real ISO date."""
    if len(day) != 10 or day[4] != "-" or day[7] != "-":
        return False
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


_SEX = {"HKBiologicalSexMale": "male", "HKBiologicalSexFemale": "female",
        "HKBiologicalSexOther": "other"}  # fmt: skip
BLOOD_TYPES = {
    f"HKBloodType{k}{s}": f"{k}{'+' if s == 'Positive' else '-'}"
    for k in ("A", "B", "AB", "O")
    for s in ("Positive", "Negative")
}


def patient_id(me: dict[str, str]) -> str:
    """The Patient's id: from the birth date and sex, so every export of a person gives it."""
    birth = me.get("HKCharacteristicTypeIdentifierDateOfBirth", "")
    sex = me.get("HKCharacteristicTypeIdentifierBiologicalSex", "")
    return "ah-" + hashlib.sha256(f"apple-health-me|{birth}|{sex}".encode()).hexdigest()[:40]


def patient(pid: str, me: dict[str, str]) -> dict[str, Any]:
    r: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    gender = _SEX.get(me.get("HKCharacteristicTypeIdentifierBiologicalSex", ""))
    if gender:
        r["gender"] = gender
    birth = me.get("HKCharacteristicTypeIdentifierDateOfBirth", "")
    if (
        len(birth) == 10
        and birth[4] == "-"
        and birth[7] == "-"
        and birth.replace("-", "").isdigit()
    ):
        r["birthDate"] = birth
    return r


def blood_type(pid: str, text: str, when: str | None) -> dict[str, Any]:
    return Obs(
        rid(pid, "blood-type"),
        pid,
        {"coding": [{"system": LOINC, "code": "882-1",
                     "display": "ABO and Rh group [Type] in Blood"}], "text": "Blood type"},
        None,  # as the person entered it in the Health app: not a lab result
        {"effectiveDateTime": when} if when else {},
        {"valueCodeableConcept": {"text": text}},
    ).resource()  # fmt: skip
