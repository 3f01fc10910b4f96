"""How a lab result is read and judged: its value, the range it is compared with, its flag.

Flags follow ``docs/lab-catalog.md``: the record's own interpretation wins, then the record's own
reference range; only a record without a range is compared with the catalog's *typical* adult
range, and says so. Commonly used critical limits add a notice to contact a clinician.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from healthlocker.records._catalog import (
    CRITICAL_NOTICE,
    UNITLESS,
    Bounds,
    CatalogEntry,
    Flag,
    convert,
    interpretation_flag,
    qualitative_flag,
)
from healthlocker.records._common import clean, concept_name, sig
from healthlocker.records._view import View


class ReferenceRange(View):
    """The range a result was compared with."""

    low: float | None = Field(default=None, description="Lower bound (None: no lower bound)")
    high: float | None = Field(default=None, description="Upper bound (None: no upper bound)")
    unit: str | None = Field(
        default=None, description="Unit of low and high (left out when it is the result's)"
    )
    text: str | None = Field(
        default=None,
        description="The range in words: the lab's own text, or whose typical range it is "
        "('typical adult range for women') or the typical result of a qualitative test",
    )
    kind: Literal["lab", "typical"] = Field(
        description="'lab': the laboratory's own range from the record; 'typical': a typical "
        "adult range from healthlocker's catalog, not the lab's — say so when citing it"
    )


@dataclass(frozen=True)
class Value:
    """A result's value as recorded: a number (with its unit and comparator) or text."""

    value: float | None = None
    text: str | None = None
    unit: str | None = None
    code_unit: str | None = None
    comparator: str | None = None


def read_value(part: dict[str, Any]) -> Value:
    """The value of an Observation or a component: Quantity, number, string or coded value."""
    quantity = part.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        unit = quantity.get("unit") or quantity.get("code")
        return Value(
            value=float(quantity["value"]),
            unit=clean(unit) if unit else None,
            code_unit=str(quantity["code"]) if quantity.get("code") else None,
            comparator=quantity.get("comparator"),
        )
    for key in ("valueInteger", "valueDecimal"):
        if isinstance(part.get(key), int | float) and not isinstance(part[key], bool):
            return Value(value=float(part[key]))
    if isinstance(part.get("valueString"), str):
        return Value(text=clean(part["valueString"]) or None)
    return Value(text=concept_name(part.get("valueCodeableConcept")))


def comparable_value(value: Value, entry: CatalogEntry | None) -> float | None:
    """The value in the catalog's canonical unit; None when it does not convert."""
    if entry is None or value.value is None:
        return None
    if not (value.code_unit or value.unit) and entry.unit in UNITLESS:
        return value.value  # a ratio, pH or INR is often sent without a unit
    for unit in (value.code_unit, value.unit):
        if unit and (converted := convert(value.value, unit, entry)) is not None:
            return converted
    return None


def flag_result(
    part: dict[str, Any],
    value: Value,
    entry: CatalogEntry | None,
    comparable: float | None,
    sex: str | None,
) -> tuple[ReferenceRange | None, Flag, str | None]:
    """Range, flag and notice: the lab's own call first, then its range, then a typical range."""
    lab_call = interpretation_flag(part.get("interpretation"))
    rng = _lab_range(part, value.unit) or _typical_range(entry, sex)
    flag = lab_call or _compare(rng, value, entry, comparable)
    crossed = entry is not None and entry.past_critical(comparable)
    if crossed and lab_call is None and flag != "normal":
        flag = "critical"
    notice = CRITICAL_NOTICE if flag == "critical" or (crossed and flag != "normal") else None
    return rng, flag, notice


def _compare(
    rng: ReferenceRange | None, value: Value, entry: CatalogEntry | None, comparable: float | None
) -> Flag:
    if rng is None:
        return "unknown"
    if value.value is None:
        expected = rng.text if rng.kind == "lab" else (entry.range_text if entry else None)
        text_flag = qualitative_flag(value.text, expected) if value.text and expected else None
        return text_flag or "unknown"
    number = comparable
    if rng.kind == "lab":
        number = value.value
        if rng.unit and value.unit and rng.unit != value.unit:
            number = convert(value.value, value.code_unit or value.unit, rng.unit, entry=entry)
    flag = None if number is None else Bounds(low=rng.low, high=rng.high).classify(number)
    return flag or "unknown"


def _lab_range(part: dict[str, Any], unit: str | None) -> ReferenceRange | None:
    ranges = [r for r in part.get("referenceRange") or () if isinstance(r, dict)]
    if not ranges:
        return None
    chosen = next((r for r in ranges if "appliesTo" not in r and "age" not in r), ranges[0])
    low, high = chosen.get("low") or {}, chosen.get("high") or {}
    bound_unit = low.get("code") or low.get("unit") or high.get("code") or high.get("unit")
    text = chosen.get("text")
    return ReferenceRange(
        low=_number(low.get("value")),
        high=_number(high.get("value")),
        unit=clean(bound_unit) if bound_unit else unit,
        text=clean(text) if isinstance(text, str) and text.strip() else None,
        kind="lab",
    )


def _typical_range(entry: CatalogEntry | None, sex: str | None) -> ReferenceRange | None:
    text = entry.describe_range(sex) if entry else None
    if entry is None or text is None:
        return None
    bounds = entry.typical_range(sex) or Bounds()
    if not bounds.empty:  # the bounds are low and high: the words say only whose range it is
        text = text.split(":")[0]
    return ReferenceRange(
        low=bounds.low, high=bounds.high, unit=entry.unit, text=text, kind="typical"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return sig(float(value)) if math.isfinite(value) else None
