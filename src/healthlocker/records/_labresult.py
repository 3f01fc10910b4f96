"""One lab result as the tools return it, and as one line of their text."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from healthlocker.records._catalog import Bounds, Flag
from healthlocker.records._common import RecordText, SourceRef, fmt_lab
from healthlocker.records._flags import ReferenceRange
from healthlocker.records._text import Cites, unit_words
from healthlocker.records._view import View

# How each flag reads in a sentence.
FLAG_WORDS: dict[str, str] = {
    "low": "low",
    "high": "high",
    "normal": "in range",
    "abnormal": "abnormal",
    "critical": "CRITICAL",
    "unknown": "no range to compare with",
}


class LabResult(View):
    """One lab result (a panel's components are separate results)."""

    test: str = Field(description="Test name as recorded")
    loinc: str | None = Field(default=None, description="LOINC code, if the record has one")
    value: float | None = Field(
        default=None,
        description="Numeric result, in `unit`, to the precision recorded (at most 6 "
        "significant digits)",
    )
    comparator: str | None = Field(default=None, description="'<', '<=', '>=' or '>' if any")
    value_text: str | None = Field(default=None, description="Non-numeric result (e.g. 'Negative')")
    unit: str | None = Field(default=None, description="Unit as recorded")
    reference_range: ReferenceRange | None = Field(
        default=None, description="Range used for the flag"
    )
    flag: Flag = Field(
        description="low/high/normal/abnormal: against the range (or the lab's own "
        "interpretation); critical: past a commonly used critical limit or flagged so by the "
        "lab; unknown: nothing to compare with"
    )
    notice: str | None = Field(
        default=None, description="Set for critical results: what the person should do"
    )
    date: str | None = Field(default=None, description="Date of the result (YYYY-MM-DD)")
    comparable_value: float | None = Field(
        default=None,
        description="The value converted to the catalog's canonical unit, to compare results "
        "(left out when it is `value` in `unit`)",
    )
    comparable_unit: str | None = Field(default=None, description="Unit of comparable_value")
    note: RecordText | None = Field(
        default=None, description="Comments written on the result in the record"
    )
    patient: str | None = Field(default=None, description="The person it is about, as Patient/id")
    source: SourceRef = Field(description="The stored resource this result comes from")
    # What the catalog says of the test: its plain name and what it measures. The answer
    # states these once per test (``LabResults.tests``), not on every result.
    _name: str | None = PrivateAttr(default=None)
    _about: str | None = PrivateAttr(default=None)

    def explain(self, name: str | None, about: str | None) -> None:
        self._name, self._about = name, about

    @property
    def about(self) -> str | None:
        """What the test measures, in plain language, where the catalog knows it."""
        return self._about

    @property
    def key(self) -> str:
        """The test this result is of: its LOINC code, else its name as recorded."""
        return self.loinc or self.test

    @property
    def label(self) -> str:
        """The test's plain name where the catalog knows it, else its name as recorded."""
        return self._name or self.test

    @model_serializer(mode="wrap")
    def _lean(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if not (isinstance(data, dict) and info.exclude_none):
            return data  # a full dump, as Python callers ask for it
        if self.comparable_unit == self.unit and self.comparable_value == self.value:
            data.pop("comparable_value", None)
            data.pop("comparable_unit", None)
        rng = data.get("reference_range")
        if isinstance(rng, dict) and rng.get("unit") == self.unit:
            rng.pop("unit", None)
        return data

    def shown(self) -> str:
        """The value as read: ``<0.5 mg/dL``, ``Negative``."""
        if self.value is not None:
            return f"{self.comparator or ''}{fmt_lab(self.value)} {unit_words(self.unit)}".rstrip()
        return self.value_text or "no value"

    def range_words(self) -> str:
        """``lab range 70–99``, ``typical adult range ≤ 5.6``, ``expected: Negative``."""
        rng = self.reference_range
        if rng is not None and (rng.low is not None or rng.high is not None):
            kind = "lab range" if rng.kind == "lab" else (rng.text or "typical adult range")
            unit = f" {unit_words(rng.unit)}" if rng.unit and rng.unit != self.unit else ""
            return f"{kind} {Bounds(low=rng.low, high=rng.high).describe()}{unit}"
        if rng is not None and rng.text:
            return f"expected: {rng.text}"
        return ""

    def line(self, cite: Cites, label: str | None = None) -> str:
        """``Glucose 95 mg/dL, in range (lab range 70–99) [fd9587e4]``."""
        verdict = FLAG_WORDS[self.flag]
        if words := self.range_words():
            verdict += f" ({words})"
        # Record text stays in its own field (``note``), never in the tool's own words.
        note = "; the record has a note on it (the structure's record text)" if self.note else ""
        return f"{label or self.label} {self.shown()}, {verdict}{note} {cite(self.source)}"
