"""Words every view's text shares: counts, short source references, units as people write them.

A tool's text is read by a model that may see nothing else (some clients pass only the text), so
it carries every fact of the structure at the page size asked for, each with a short reference
to the stored record it comes from. The references are the record id's first characters (the
structure has each in full); one line, the legend, says so once per answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from healthlocker.records._common import SourceRef

SHORT_ID = 8  # characters of a record id a reference shows (more where two would look alike)
_KEEP_WHOLE = 20  # ids this short are shown whole

# UCUM codes as people write them (the structure keeps the code itself).
_UNIT_WORDS = {
    "mm[Hg]": "mmHg",
    "/min": "per minute",
    "{beats}/min": "beats per minute",
    "{breaths}/min": "breaths per minute",
    "{steps}": "steps",
    "{workouts}": "workouts",
    "Cel": "°C",
    "[degF]": "°F",
    "kg/m2": "kg/m²",
    "[lb_av]": "lb",
    "[in_i]": "in",
    "[in_us]": "in",
    "min": "minutes",
    "h": "hours",
    "mL/min/kg": "mL/kg/min",
    "10*3/uL": "thousand per µL",
    "10*6/uL": "million per µL",
    "10*9/L": "× 10⁹ per L",
    "10*12/L": "× 10¹² per L",
    "{ratio}": "",
    "1": "",
}
_ANNOTATION = re.compile(r"\{([^{}]*)\}")  # UCUM's {annotations}: read as the words inside
# Heart rate per minute reads as beats, respiratory rate as breaths.
_PER_MINUTE = {"heart_rate": "beats per minute", "resting_heart_rate": "beats per minute"}
_PER_MINUTE["respiratory_rate"] = "breaths per minute"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 lab result``, ``2,148 lab results``."""
    word = singular if n == 1 else (plural or singular + "s")
    return f"{n:,} {word}"


def singular(plural: str) -> str:
    """The singular of a kind's words: ``allergies`` → ``allergy``, ``visits`` → ``visit``."""
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


def unit_words(unit: str | None, metric: str | None = None) -> str:
    """A UCUM unit as people write it (``mm[Hg]`` → ``mmHg``, ``{steps}`` → ``steps``); a unit
    it does not know is shown as it is, braces taken off annotations."""
    if not unit:
        return ""
    if unit == "/min" and metric in _PER_MINUTE:
        return _PER_MINUTE[metric]
    if unit in _UNIT_WORDS:
        return _UNIT_WORDS[unit]
    return _ANNOTATION.sub(lambda m: m.group(1).replace("_", " ").replace("m2", "m²"), unit)


def with_unit(number: str, unit: str | None, metric: str | None = None) -> str:
    """``78.8 kg``, ``123/85 mmHg``, ``8,123 steps``; just the number when there is no unit."""
    words = unit_words(unit, metric)
    return f"{number} {words}" if words else number


class Cites:
    """The short references of one answer's text: ``[fd9587e4]`` for a record, with the number
    of its import (``[fd9587e4 2]``) when the records come from more than one."""

    def __init__(self, refs: Iterable[SourceRef], people: Iterable[str | None] = ()) -> None:
        refs = list(dict.fromkeys(refs))
        self._origins = {
            o: i for i, o in enumerate(sorted({r.origin for r in refs if r.origin}), 1)
        }
        self._short = _shortest({r.resource for r in refs})
        named = {p for p in people if p}
        self._people = _shortest(named) if len(named) > 1 else {}

    def whose(self, patient: str | None) -> str:
        """`` (about Patient/ba18818d)`` when the answer is about several people, else nothing."""
        if not self._people:
            return ""
        short = self._people.get(patient or "")
        return f" (about Patient/{short})" if short else " (about no one named)"

    def __call__(self, ref: SourceRef | None) -> str:
        if ref is None:
            return ""
        short = self._short.get(ref.resource) or ref.resource.rsplit("/", 1)[-1]
        if len(self._origins) > 1:
            return f"[{short} {self._origins.get(ref.origin or '', '?')}]"
        return f"[{short}]"

    def legend(self) -> str:
        """The line saying what the references are (empty when the answer cites nothing)."""
        if not self._origins:
            return ""
        what = (
            "Sources: the code in brackets after each fact is the id of the stored record it "
            f"comes from (its first {SHORT_ID} characters; the structured content has each "
            "in full)"
        )
        if len(self._origins) == 1:
            return f"{what}, imported as {next(iter(self._origins))!r}."
        imports = "; ".join(f"{n} = {o!r}" for o, n in self._origins.items())
        return f"{what}, then the number of the import it came from: {imports}."


def _shortest(resources: set[str]) -> dict[str, str]:
    """Each ``Type/id``'s id, cut to ``SHORT_ID`` characters (longer where two would clash)."""
    ids = {r: r.rsplit("/", 1)[-1] for r in resources}
    out: dict[str, str] = {}
    length = SHORT_ID
    pending = dict(ids)
    while pending:
        cut = {
            r: (i if len(i) <= max(length, _KEEP_WHOLE) else i[:length]) for r, i in pending.items()
        }
        seen: dict[str, int] = {}
        for short in cut.values():
            seen[short] = seen.get(short, 0) + 1
        for r, short in cut.items():
            if seen[short] == 1 or short == pending[r]:
                out[r] = short
        pending = {r: i for r, i in pending.items() if r not in out}
        length += 4
    return out
