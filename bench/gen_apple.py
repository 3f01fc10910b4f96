"""A realistic Apple Health ``export.xml`` (or ``export.zip``) of about a given size.

    .venv/bin/python bench/gen_apple.py OUT.xml --mb 100 [--seed 1] [--start 2019-01-01]
    .venv/bin/python bench/gen_apple.py OUT.zip --mb 1000          # export.zip, deflated

What it writes follows real exports (HealthKit Export Version 11+): the internal DTD, ``Me``,
then every ``Record`` grouped by type (each type's records in date order, iPhone and Watch
sources interleaved), ``Correlation`` blood pressure with its two child records (which, as in
real exports, also appear at the top level), ``Workout`` with metadata, events, statistics and
a route reference, ``ActivitySummary``, a ``ClinicalRecord``. Per day, about 1,700 records: heart
rate every ~5 minutes (with a motion-context metadata entry), steps, distance, active and basal
energy from both the iPhone and the Watch (overlapping, as they do), flights, exercise and
stand minutes, HRV with its instantaneous-BPM lists, respiratory rate and SpO2 at night, sleep
stages (pre- and post-iOS 16 values), a weekly blood pressure, weight every few days. The
``device`` attribute, long in real exports, is there. About 650 KB per day, so 1 GB is about
four and a half years.

Deterministic: the same arguments give byte-identical output. Fast: about 100 MB/s to disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

TZ = "-0800"
WATCH = "Alex’s Apple Watch"
PHONE = "Alex’s iPhone"
WATCH_DEV = (
    "&lt;&lt;HKDevice: 0x283e2c1e0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:9.1&gt;"
)
PHONE_DEV = (
    "&lt;&lt;HKDevice: 0x283e2c4b0&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone13,2, software:16.1&gt;"
)
HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level
     records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  totalDistance         CDATA #IMPLIED
  totalDistanceUnit     CDATA #IMPLIED
  totalEnergyBurned     CDATA #IMPLIED
  totalEnergyBurnedUnit CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  sourceVersion         CDATA #IMPLIED
  device                CDATA #IMPLIED
  creationDate          CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutEvent EMPTY>
<!ATTLIST WorkoutEvent
  type         CDATA #REQUIRED
  date         CDATA #REQUIRED
  duration     CDATA #IMPLIED
  durationUnit CDATA #IMPLIED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type       CDATA #REQUIRED
  startDate  CDATA #REQUIRED
  endDate    CDATA #REQUIRED
  average    CDATA #IMPLIED
  minimum    CDATA #IMPLIED
  maximum    CDATA #IMPLIED
  sum        CDATA #IMPLIED
  unit       CDATA #IMPLIED
>
<!ELEMENT WorkoutRoute ((MetadataEntry|FileReference)*)>
<!ATTLIST WorkoutRoute
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT FileReference EMPTY>
<!ATTLIST FileReference
  path CDATA #REQUIRED
>
<!ELEMENT ActivitySummary EMPTY>
<!ATTLIST ActivitySummary
  dateComponents           CDATA #IMPLIED
  activeEnergyBurned       CDATA #IMPLIED
  activeEnergyBurnedGoal   CDATA #IMPLIED
  activeEnergyBurnedUnit   CDATA #IMPLIED
  appleMoveTime            CDATA #IMPLIED
  appleMoveTimeGoal        CDATA #IMPLIED
  appleExerciseTime        CDATA #IMPLIED
  appleExerciseTimeGoal    CDATA #IMPLIED
  appleStandHours          CDATA #IMPLIED
  appleStandHoursGoal      CDATA #IMPLIED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
<!ELEMENT ClinicalRecord EMPTY>
<!ATTLIST ClinicalRecord
  type              CDATA #REQUIRED
  identifier        CDATA #REQUIRED
  sourceName        CDATA #REQUIRED
  sourceURL         CDATA #REQUIRED
  fhirVersion       CDATA #REQUIRED
  receivedDate      CDATA #REQUIRED
  resourceFilePath  CDATA #REQUIRED
>
]>
<HealthData locale="en_US">
 <ExportDate value="{export} {tz}"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1984-03-07"
  HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"
  HKCharacteristicTypeIdentifierBloodType="HKBloodTypeAPositive"
  HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>
"""
FOOTER = "</HealthData>\n"
CLINICAL = (
    ' <ClinicalRecord type="Observation" identifier="obs-1" sourceName="Example Health"'
    ' sourceURL="https://fhir.example.org/R4/Observation/obs-1" fhirVersion="4.0.1"'
    ' receivedDate="{day} 09:00:00 {tz}"'
    ' resourceFilePath="/clinical-records/Observation-0001.json"/>\n'
)

Day = tuple[str, random.Random]  # ("2020-01-31", the day's own random stream)


def _ts(day: str, minute: float) -> str:
    m = int(minute) % 1440
    s = int((minute - int(minute)) * 60) % 60
    return f"{day} {m // 60:02d}:{m % 60:02d}:{s:02d} {TZ}"


def _rec(
    rtype: str, src: str, dev: str, unit: str, value: str, day: str, start: float, end: float
) -> str:
    a, b = _ts(day, start), _ts(day, end)
    return (
        f' <Record type="HKQuantityTypeIdentifier{rtype}" sourceName="{src}" sourceVersion="16.1"'
        f' device="{dev}" unit="{unit}" creationDate="{b}" startDate="{a}" endDate="{b}"'
        f' value="{value}"/>\n'
    )


def _cumulative(
    rtype: str, unit: str, per_min: float, count: int, src: str
) -> Callable[[Day], str]:
    dev = WATCH_DEV if src == WATCH else PHONE_DEV

    def gen(d: Day) -> str:
        day, rnd = d
        out = []
        t = 360.0 + rnd.random() * 30
        step = 960.0 / count
        for _ in range(count):
            length = 1 + rnd.random() * min(9.0, step - 1)
            value = per_min * length * (0.5 + rnd.random())
            out.append(_rec(rtype, src, dev, unit, f"{value:.4g}", day, t, t + length))
            t += step
        return "".join(out)

    return gen


def _heart_rate(d: Day) -> str:
    day, rnd = d
    out = []
    for i in range(288):
        t = i * 5 + rnd.random() * 2
        a = _ts(day, t)
        out.append(
            f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{WATCH}"'
            f' sourceVersion="9.1" device="{WATCH_DEV}" unit="count/min" creationDate="{a}"'
            f' startDate="{a}" endDate="{a}" value="{55 + rnd.randrange(60)}">\n'
            f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="{i % 3}"/>\n'
            " </Record>\n"
        )
    return "".join(out)


def _hrv(d: Day) -> str:
    day, rnd = d
    out = []
    for k in range(5):
        t = 60.0 + k * 240 + rnd.random() * 60
        beats = "".join(
            f'   <InstantaneousBeatsPerMinute bpm="{58 + rnd.randrange(8)}"'
            f' time="{(int(t) // 60) % 12 or 12}:{int(t) % 60:02d}:{j:02d}.'
            f'{rnd.randrange(100):02d} AM"/>\n'
            for j in range(50)
        )
        a, b = _ts(day, t), _ts(day, t + 1)
        out.append(
            f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN"'
            f' sourceName="{WATCH}" sourceVersion="9.1" device="{WATCH_DEV}" unit="ms"'
            f' creationDate="{b}" startDate="{a}" endDate="{b}"'
            f' value="{20 + rnd.random() * 60:.3f}">\n'
            f"  <HeartRateVariabilityMetadataList>\n{beats}  </HeartRateVariabilityMetadataList>\n"
            " </Record>\n"
        )
    return "".join(out)


def _daily(
    rtype: str, unit: str, low: float, high: float, src: str = WATCH
) -> Callable[[Day], str]:
    def gen(d: Day) -> str:
        day, rnd = d
        return _rec(
            rtype, src, WATCH_DEV, unit, f"{low + rnd.random() * (high - low):.4g}", day, 400, 1300
        )

    return gen


def _night(rtype: str, unit: str, count: int, low: float, high: float) -> Callable[[Day], str]:
    def gen(d: Day) -> str:
        day, rnd = d
        return "".join(
            _rec(
                rtype,
                WATCH,
                WATCH_DEV,
                unit,
                f"{low + rnd.random() * (high - low):.4g}",
                day,
                30 + i * 300 / count,
                31 + i * 300 / count,
            )
            for i in range(count)
        )

    return gen


def _scale(rtype: str, unit: str, low: float, high: float, fmt: str) -> Callable[[Day], str]:
    """A smart scale's reading, about every third morning (its own stream of days)."""

    def gen(d: Day) -> str:
        day, rnd = d
        if rnd.random() > 0.35:
            return ""
        a = _ts(day, 420 + rnd.random() * 20)
        value = format(low + rnd.random() * (high - low), fmt)
        return (
            f' <Record type="HKQuantityTypeIdentifier{rtype}" sourceName="Withings"'
            f' sourceVersion="6.2" unit="{unit}" creationDate="{a}" startDate="{a}"'
            f' endDate="{a}" value="{value}"/>\n'
        )

    return gen


IOS16 = "2022-09-12"
_STAGES = ("Core", "Deep", "Core", "REM", "Awake", "Core", "REM")


def _sleep(d: Day) -> str:
    day, rnd = d
    out = []
    t = -60.0 + rnd.random() * 30  # from 23:00 the evening before
    date = dt.date.fromisoformat(day)
    prev = (date - dt.timedelta(days=1)).isoformat()

    def when(m: float) -> str:
        return _ts(prev, m + 1440) if m < 0 else _ts(day, m)

    start = t
    staged = day >= IOS16  # before iOS 16, one "Asleep" value; since, the stages
    for i in range(24 if staged else 3):
        stage = _STAGES[i % len(_STAGES)] if staged else ""
        length = 5 + rnd.random() * 35 if staged else 100 + rnd.random() * 60
        value = (
            f"HKCategoryValueSleepAnalysisAsleep{stage}"
            if stage != "Awake"
            else ("HKCategoryValueSleepAnalysisAwake")
        )
        out.append(
            f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{WATCH}"'
            f' sourceVersion="9.1" device="{WATCH_DEV}" creationDate="{when(t + length)}"'
            f' startDate="{when(t)}" endDate="{when(t + length)}" value="{value}"/>\n'
        )
        t += length
    out.append(
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{PHONE}"'
        f' sourceVersion="16.1" creationDate="{when(t)}" startDate="{when(start - 10)}"'
        f' endDate="{when(t + 5)}" value="HKCategoryValueSleepAnalysisInBed"/>\n'
    )
    return "".join(out)


def _stand_hours(d: Day) -> str:
    day, _rnd = d
    return "".join(
        f' <Record type="HKCategoryTypeIdentifierAppleStandHour" sourceName="{WATCH}"'
        f' sourceVersion="9.1" device="{WATCH_DEV}" creationDate="{_ts(day, h * 60 + 59)}"'
        f' startDate="{_ts(day, h * 60)}" endDate="{_ts(day, h * 60 + 59.9)}"'
        f' value="HKCategoryValueAppleStandHourStood"/>\n'
        for h in range(7, 21)
    )


def _blood_pressure(d: Day) -> tuple[str, str]:
    """(the two top-level records, the correlation holding copies of them), weekly."""
    day, rnd = d
    if dt.date.fromisoformat(day).weekday() != 6:
        return "", ""
    a = _ts(day, 480)
    recs = "".join(
        f' <Record type="HKQuantityTypeIdentifierBloodPressure{k}" sourceName="Omron"'
        f' sourceVersion="7.0" unit="mmHg" creationDate="{a}" startDate="{a}" endDate="{a}"'
        f' value="{v}"/>\n'
        for k, v in (("Systolic", 115 + rnd.randrange(15)), ("Diastolic", 72 + rnd.randrange(10)))
    )
    corr = (
        f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron"'
        f' sourceVersion="7.0" creationDate="{a}" startDate="{a}" endDate="{a}">\n'
        f"{recs} </Correlation>\n"
    )
    return recs, corr


def _workout(d: Day) -> str:
    day, rnd = d
    if rnd.random() > 0.6:
        return ""
    start = 1050 + rnd.random() * 60
    minutes = 25 + rnd.random() * 40
    km = minutes / 6.0
    kcal = minutes * 10
    a, b = _ts(day, start), _ts(day, start + minutes)
    stats = "".join(
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifier{t}" startDate="{a}" endDate="{b}"'
        f' {v} unit="{u}"/>\n'
        for t, v, u in (
            ("ActiveEnergyBurned", f'sum="{kcal:.3f}"', "kcal"),
            ("DistanceWalkingRunning", f'sum="{km:.3f}"', "km"),
            ("HeartRate", 'average="142" minimum="98" maximum="171"', "count/min"),
        )
    )
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="{minutes:.4f}"'
        f' durationUnit="min" totalDistance="{km:.4f}" totalDistanceUnit="km"'
        f' totalEnergyBurned="{kcal:.3f}" totalEnergyBurnedUnit="kcal" sourceName="{WATCH}"'
        f' sourceVersion="9.1" device="{WATCH_DEV}" creationDate="{b}" startDate="{a}"'
        f' endDate="{b}">\n'
        '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
        '  <MetadataEntry key="HKTimeZone" value="America/Los_Angeles"/>\n'
        f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{a}" duration="{minutes / 2:.3f}"'
        ' durationUnit="min"/>\n'
        f"{stats}"
        f'  <WorkoutRoute sourceName="{WATCH}" sourceVersion="9.1" creationDate="{b}"'
        f' startDate="{a}" endDate="{b}">\n'
        f'   <FileReference path="/workout-routes/route_{day}_{int(start) // 60}.gpx"/>\n'
        "  </WorkoutRoute>\n"
        " </Workout>\n"
    )


def _summary(d: Day) -> str:
    day, rnd = d
    return (
        f' <ActivitySummary dateComponents="{day}"'
        f' activeEnergyBurned="{300 + rnd.random() * 400:.3f}"'
        ' activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="Cal" appleMoveTime="0"'
        f' appleMoveTimeGoal="0" appleExerciseTime="{rnd.randrange(10, 90)}"'
        f' appleExerciseTimeGoal="30" appleStandHours="{rnd.randrange(6, 15)}"'
        ' appleStandHoursGoal="12"/>\n'
    )


# Record types in the order real exports list them, each a function of one day.
RECORDS: tuple[Callable[[Day], str], ...] = (
    _scale("BodyMass", "lb", 150, 158, ".1f"),
    _scale("BodyFatPercentage", "%", 0.24, 0.26, ".3f"),
    _scale("BodyMassIndex", "count", 23, 24, ".2f"),
    _heart_rate,
    _cumulative("StepCount", "count", 60, 80, PHONE),
    _cumulative("StepCount", "count", 65, 150, WATCH),
    _cumulative("DistanceWalkingRunning", "km", 0.045, 80, PHONE),
    _cumulative("DistanceWalkingRunning", "km", 0.048, 150, WATCH),
    _cumulative("BasalEnergyBurned", "kcal", 1.1, 300, WATCH),
    _cumulative("ActiveEnergyBurned", "kcal", 0.4, 400, WATCH),
    _cumulative("FlightsClimbed", "count", 0.2, 10, PHONE),
    _cumulative("FlightsClimbed", "count", 0.2, 10, WATCH),
    _cumulative("AppleExerciseTime", "min", 1, 30, WATCH),
    _cumulative("AppleStandTime", "min", 1, 40, WATCH),
    _daily("RestingHeartRate", "count/min", 52, 64),
    _daily("WalkingHeartRateAverage", "count/min", 85, 110),
    _daily("VO2Max", "mL/min·kg", 36, 42),
    _night("RespiratoryRate", "count/min", 30, 12, 18),
    _night("OxygenSaturation", "%", 10, 0.93, 0.99),
    _hrv,
    _sleep,
    _stand_hours,
)


def _days(start: dt.date, count: int, seed: int, salt: int) -> Iterator[Day]:
    for i in range(count):
        day = start + dt.timedelta(days=i)
        yield day.isoformat(), random.Random(seed * 1_000_003 + salt * 100_003 + i)


def _day_bytes(start: dt.date, seed: int) -> int:
    sample = list(_days(start, 7, seed, 0))
    size = sum(len(g(d).encode()) for g in RECORDS for d in sample)
    size += sum(
        len((_blood_pressure(d)[0] * 2 + _workout(d) + _summary(d)).encode()) for d in sample
    )
    return size // 7


def span(target_bytes: int, *, seed: int = 1, start: dt.date = dt.date(2019, 1, 1)) -> int:
    """The number of days an export of about *target_bytes* covers."""
    return max(1, target_bytes // _day_bytes(start, seed))


def generate(out: io.TextIOBase, target_bytes: int, *, seed: int, start: dt.date) -> int:
    """Write an export of about *target_bytes*; returns the number of days it covers."""
    days = span(target_bytes, seed=seed, start=start)
    last = start + dt.timedelta(days=days - 1)
    out.write(HEADER.replace("{export}", f"{last.isoformat()} 22:00:00").replace("{tz}", TZ))
    for salt, gen in enumerate(RECORDS, start=1):
        for d in _days(start, days, seed, salt):
            out.write(gen(d))
    pressures = [_blood_pressure(d) for d in _days(start, days, seed, 99)]
    for records, _ in pressures:
        out.write(records)
    for _, correlation in pressures:
        out.write(correlation)
    for d in _days(start, days, seed, 100):
        out.write(_workout(d))
    for d in _days(start, days, seed, 101):
        out.write(_summary(d))
    out.write(CLINICAL.replace("{day}", last.isoformat()).replace("{tz}", TZ))
    out.write(FOOTER)
    return days


CLINICAL_JSON = (
    '{"resourceType":"Observation","id":"obs-1","status":"final","code":{"coding":[{"system":'
    '"http://loinc.org","code":"2345-7","display":"Glucose"}]},"valueQuantity":{"value":95,'
    '"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}'
)


def write(path: Path, megabytes: float, *, seed: int = 1, start: str = "2019-01-01") -> int:
    """Write *path* (``.zip``: an ``export.zip`` as the iPhone makes it); returns the days."""
    target = int(megabytes * 1_000_000)
    first = dt.date.fromisoformat(start)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            with zf.open("apple_health_export/export.xml", "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", write_through=False)
                days = generate(text, target, seed=seed, start=first)
                text.flush()
                text.detach()
            zf.writestr("apple_health_export/clinical-records/Observation-0001.json", CLINICAL_JSON)
        return days
    with path.open("w", encoding="utf-8", buffering=1 << 20) as f:
        return generate(f, target, seed=seed, start=first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="export.xml, or a .zip for an export.zip")
    ap.add_argument("--mb", type=float, default=100, help="about this many MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2019-01-01", help="first day (ISO date)")
    args = ap.parse_args()
    days = write(args.out, args.mb, seed=args.seed, start=args.start)
    size = args.out.stat().st_size
    print(f"{args.out}: {size / 1e6:,.1f} MB, {days} days from {args.start}")


if __name__ == "__main__":
    main()
