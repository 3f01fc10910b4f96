"""Vital signs the way FHIR's vital-signs profile and US Core name them: codes and UCUM units.

Vendors write heights in ``[in_us]`` (the US survey inch, 2 ppm from the inch they mean),
weights in ``lbs``, temperatures in ``DEG`` or ``F``, blood pressure and BMI with the unit
``1``, and code a height as "Body height Measured" (3137-7). Each such observation gets the
profile's own code as an extra coding (the vendor's stays first) and its unit as the UCUM code,
where the meaning is not in doubt; anything else is kept as written. docs/ccda.md has the
tables.
"""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

# More specific LOINC codes → the vital-signs profile's code (and its display).
_PROFILE_CODES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("3137-7", "3138-5", "8301-4", "8306-3", "8308-9"), ("8302-2", "Body height")),
    **dict.fromkeys(("3141-9", "3142-7", "8335-2", "8350-1", "8351-9"), ("29463-7", "Body weight")),
    "41909-3": ("39156-5", "Body mass index (BMI) [Ratio]"),
    **dict.fromkeys(
        ("8331-1", "8332-9", "8333-7", "8334-5", "8328-7", "8329-5", "8330-3", "60834-3"),
        ("8310-5", "Body temperature"),
    ),
    "8889-8": ("8867-4", "Heart rate"),
    **dict.fromkeys(("8459-0", "8460-8", "8461-6"), ("8480-6", "Systolic blood pressure")),
    **dict.fromkeys(("8453-3", "8454-1", "8455-8"), ("8462-4", "Diastolic blood pressure")),
}
_TEMPERATURES = {
    **dict.fromkeys(("c", "°c", "deg c", "degc", "cel", "celsius"), "Cel"),
    **dict.fromkeys(("f", "°f", "deg f", "degf", "[degf]", "fahrenheit"), "[degF]"),
}
# Units written for these codes that say nothing ("1") or are not UCUM, by profile code.
_UNITS_BY_CODE: dict[str, dict[str, str]] = {
    "8480-6": {"1": "mm[Hg]", "mmhg": "mm[Hg]", "mm hg": "mm[Hg]"},
    "8462-4": {"1": "mm[Hg]", "mmhg": "mm[Hg]", "mm hg": "mm[Hg]"},
    "39156-5": {"1": "kg/m2", "kg/m²": "kg/m2"},
    "3140-1": {"1": "m2", "m²": "m2"},  # body surface area
    "8867-4": {"bpm": "/min", "beats/min": "/min", "{beats}/min": "/min"},
    "9279-1": {"breaths/min": "/min", "{breaths}/min": "/min", "bpm": "/min"},
    "2708-6": {"1": "%"},
    "59408-5": {"1": "%"},
    "8310-5": _TEMPERATURES,
}
# Non-UCUM spellings that mean one UCUM unit whatever the code.
_UNITS = {
    "[in_us]": "[in_i]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "kg/m²": "kg/m2",
}
_TEMPERATURE = "8310-5"
_FAHRENHEIT_ABOVE = 50  # body temperatures: 35-42 in Cel, 95-108 in [degF]


def normalise(code: dict[str, Any], value: dict[str, Any]) -> None:
    """Add the profile's code to *code* and put *value*'s ``valueQuantity`` in its UCUM unit
    (in place) where a vendor's spelling or code is unambiguous."""
    loinc = [c for c in code.get("coding", ()) if c.get("system") == LOINC]
    codes = {c["code"] for c in loinc}
    for coding in loinc:  # in the document's order: ids come from content, so it must not vary
        extra = _PROFILE_CODES.get(coding["code"])
        if extra and extra[0] not in codes:
            code["coding"].append({"system": LOINC, "code": extra[0], "display": extra[1]})
            codes.add(extra[0])
    quantity = value.get("valueQuantity")
    if not isinstance(quantity, dict) or "value" not in quantity:
        return
    written = str(quantity.get("unit") or "1")
    unit = _unit(written, codes, quantity["value"])
    if unit is not None and unit != written:
        quantity.update(unit=unit, system=UCUM, code=unit)


def _unit(written: str, codes: set[str], value: float) -> str | None:
    folded = written.strip().casefold()
    for code in sorted(codes):
        found = _UNITS_BY_CODE.get(code, {}).get(folded)
        if found:
            return found
    if _TEMPERATURE in codes and folded in ("deg", "degrees", "°"):
        return "[degF]" if value > _FAHRENHEIT_ABOVE else "Cel"
    return _UNITS.get(folded)
