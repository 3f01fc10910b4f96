"""Helpers for the Apple Health tests: an independent reference parser and export builders."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from helpers import ROOT

APPLE = ROOT / "samples" / "apple-health"
SAMPLE_XML = sorted(APPLE.glob("*.xml"))
Q = "HKQuantityTypeIdentifier"

# Independent of the importer's table: LOINC (or HealthKit identifier) → (sum?, unit factors).
_KG = {"kg": 1.0, "lb": 0.45359237}
_KM = {"km": 1.0, "m": 0.001, "mi": 1.609344}
_RATE = {"count/min": 1.0}
REFERENCE_TYPES: dict[str, tuple[str, bool, dict[str, float]]] = {
    "StepCount": ("41950-7", True, {"count": 1.0}),
    "DistanceWalkingRunning": (Q + "DistanceWalkingRunning", True, _KM),
    "ActiveEnergyBurned": ("41981-2", True, {"kcal": 1.0, "Cal": 1.0}),
    "HeartRate": ("8867-4", False, _RATE),
    "RestingHeartRate": ("40443-4", False, _RATE),
    "WalkingHeartRateAverage": (Q + "WalkingHeartRateAverage", False, _RATE),
    "HeartRateVariabilitySDNN": ("80404-7", False, {"ms": 1.0}),
    "BodyMass": ("29463-7", False, _KG),
    "LeanBodyMass": ("91557-9", False, _KG),
    "BodyMassIndex": ("39156-5", False, {"count": 1.0}),
    "Height": ("8302-2", False, {"ft": 30.48, "cm": 1.0, "in": 2.54}),
    "BodyFatPercentage": ("41982-0", False, {"%": 100.0}),
    "OxygenSaturation": ("59408-5", False, {"%": 100.0}),
    "VO2Max": ("94122-9", False, {"mL/min·kg": 1.0}),
}


def reference_days(path: Path) -> dict[tuple[str, str], float]:
    """(code, day) → daily total or mean, read with the standard library's expat parser.

    Only top-level records count (a correlation's records are repeated at the top level).
    Meant for exports where each type has one source a day (the bundled samples).
    """
    sums: dict[tuple[str, str], float] = defaultdict(float)
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    depth = 0
    for event, el in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if el.tag == "Record" and depth == 1:
            name = (el.get("type") or "").removeprefix(Q)
            if name in REFERENCE_TYPES:
                code, additive, units = REFERENCE_TYPES[name]
                value = float(el.get("value") or "nan") * units[el.get("unit") or ""]
                key = (code, (el.get("startDate") or "")[:10])
                if additive:
                    sums[key] += value
                else:
                    values[key].append(value)
            el.clear()
    out = dict(sums)
    out.update({k: sum(v) / len(v) for k, v in values.items()})
    return out


def stored_days(resources: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """(first code, day) → value of the daily Observations in *resources*."""
    out = {}
    for r in resources:
        start = r.get("effectiveDateTime") or ""
        if r["resourceType"] == "Observation" and "valueQuantity" in r and len(start) == 10:
            out[(r["code"]["coding"][0]["code"], start)] = r["valueQuantity"]["value"]
    return out


def count_elements(path: Path, tag: str) -> int:
    return sum(1 for _, el in ET.iterparse(path) if el.tag == tag)


HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
ME = (
    ' <ExportDate value="2024-03-05 21:00:00 -0800"/>\n'
    ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-01-02"'
    ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"'
    ' HKCharacteristicTypeIdentifierBloodType="HKBloodTypeONegative"'
    ' HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"/>\n'
)
WATCH = "Ann’s Apple Watch"
PHONE = "Ann’s iPhone"


def record(
    rtype: str,
    value: Any,
    start: str,
    end: str | None = None,
    *,
    source: str = PHONE,
    unit: str = "count",
    device: str = "",
) -> str:
    dev = f' device="{device}"' if device else ""
    return (
        f' <Record type="{rtype}" sourceName="{source}"{dev} unit="{unit}"'
        f' creationDate="{end or start} -0800" startDate="{start} -0800"'
        f' endDate="{end or start} -0800" value="{value}"/>\n'
    )


def sleep(value: str, start: str, end: str, source: str = WATCH) -> str:
    return (
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{source}"'
        f' startDate="{start} -0800" endDate="{end} -0800"'
        f' value="HKCategoryValueSleepAnalysis{value}"/>\n'
    )


def export(*body: str, me: str = ME) -> str:
    return HEAD + me + "".join(body) + "</HealthData>\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def zip_of(
    xml: Path,
    out: Path,
    extra: dict[str, bytes] | None = None,
    folder: str = "apple_health_export/",
) -> Path:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(xml, folder + "export.xml")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out
