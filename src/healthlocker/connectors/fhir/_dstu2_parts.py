"""The pieces every DSTU2-to-R4 mapper uses (see ``_dstu2``): moving and renaming fields, value[x],
lists, notes, timings, dosages, what was left over."""

from __future__ import annotations

from typing import Any

Resource = dict[str, Any]

# Elements every resource keeps as they are (extensions included: they are version-neutral).
COMMON = (
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
)


def move(src: Resource, out: Resource, names: dict[str, str]) -> None:
    for old, new in names.items():
        if old in src:
            out[new] = src[old]


def value_x(src: Resource, out: Resource, prefix: str) -> None:
    for key, value in src.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            out[key] = value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def notes_of(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"text": value}]
    return [n for n in as_list(value) if isinstance(n, dict)]


def leftover(src: Resource, used: set[str]) -> list[str]:
    return sorted(k for k in src if k not in used and k not in COMMON and not k.startswith("_"))


def timing(timing: Any) -> Any:
    """DSTU2 ``Timing.repeat`` named its units ``periodUnits``/``durationUnits``."""
    if not isinstance(timing, dict) or not isinstance(timing.get("repeat"), dict):
        return timing
    renamed = {"periodUnits": "periodUnit", "durationUnits": "durationUnit"}
    repeat = {renamed.get(k, k): v for k, v in timing["repeat"].items()}
    if "bounds" in repeat:  # DSTU2's untyped bounds was a Period
        repeat["boundsPeriod"] = repeat.pop("bounds")
    return {**timing, "repeat": repeat}


def dose(dosage: dict[str, Any]) -> dict[str, Any]:
    """A DSTU2 dosage line (statement or order) as an R4 Dosage."""
    out: dict[str, Any] = {}
    move(
        dosage,
        out,
        {
            "text": "text",
            "route": "route",
            "method": "method",
            "additionalInstructions": "additionalInstruction",
        },
    )
    if "timing" in dosage:
        out["timing"] = timing(dosage["timing"])
    if "siteCodeableConcept" in dosage:
        out["site"] = dosage["siteCodeableConcept"]
    for key in ("asNeededBoolean", "asNeededCodeableConcept"):
        if key in dosage:
            out[key] = dosage[key]
    if "additionalInstruction" in out:
        out["additionalInstruction"] = as_list(out["additionalInstruction"])
    rate: dict[str, Any] = {}
    for old, new in (
        ("doseQuantity", "doseQuantity"),
        ("quantityQuantity", "doseQuantity"),
        ("doseRange", "doseRange"),
        ("quantityRange", "doseRange"),
        ("rateRatio", "rateRatio"),
        ("rateRange", "rateRange"),
    ):
        if old in dosage and new not in rate:
            rate[new] = dosage[old]
    if rate:
        out["doseAndRate"] = [rate]
    if "maxDosePerPeriod" in dosage:
        out["maxDosePerPeriod"] = dosage["maxDosePerPeriod"]
    return out


def coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}
