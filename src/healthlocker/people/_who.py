"""Who a Patient resource names, and whether two of them are the same person.

:class:`Demographics` keeps what matching compares -- the name (family name and first given
name, normalised), the birth date, the sex and the identifiers -- and how a person is shown
(initials and birth year: enough for the person to know whom an answer is about, no more).
:func:`verdict` compares two. The rule, and where it stops, is in docs/people.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["same", "unsure", "different", "unknown"]

_NOT_LETTERS = re.compile(r"[^a-z ]+")
_SEXES = frozenset({"male", "female"})  # "other" and "unknown" compare with nothing


def _plain(text: Any) -> str:
    """Letters only, lower case, accents off, digits out (Synthea's 'Jane123' is 'jane')."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_NOT_LETTERS.sub(" ", bare.replace("-", " ")).split())


def _chosen_name(names: Any) -> dict[str, Any] | None:
    """The official (else usual, else first) HumanName of a Patient."""
    entries = [n for n in names if isinstance(n, dict)] if isinstance(names, list) else []
    for use in ("official", "usual", None):
        for entry in entries:
            if use is None or entry.get("use") == use:
                return entry
    return None


def _name(names: Any) -> tuple[str | None, str | None]:
    """(family, first given name), normalised; from ``text`` when the parts are missing."""
    entry = _chosen_name(names)
    if entry is None:
        return None, None
    family = entry.get("family")
    if isinstance(family, list):  # DSTU2 wrote family as a list
        family = " ".join(str(f) for f in family)
    given = entry.get("given")
    first = given[0] if isinstance(given, list) and given else None
    text = entry.get("text")
    if not family and isinstance(text, str):
        if "," in text:
            family, _, rest = text.partition(",")
            first = first or next(iter(rest.split()), None)
        elif text.split():
            *before, family = text.split()
            first = first or next(iter(before), None)
    fam, giv = _plain(family or ""), _plain(first or "")
    return fam.replace(" ", "") or None, next(iter(giv.split()), None)


def _identifiers(values: Any) -> frozenset[tuple[str, str]]:
    out = set()
    for ident in values if isinstance(values, list) else ():
        if isinstance(ident, dict):
            system, value = ident.get("system"), ident.get("value")
            if isinstance(system, str) and system and isinstance(value, str) and value.strip():
                out.add((system, value.strip()))
    return frozenset(out)


@dataclass(frozen=True)
class Demographics:
    """What a Patient says about who they are, as matching compares it."""

    family: str | None = None
    given: str | None = None
    birth: str | None = None
    sex: str | None = None
    identifiers: frozenset[tuple[str, str]] = frozenset()
    initials: str | None = None
    deceased: bool = False  # not compared; a Patient recording a death is the last one shown

    @classmethod
    def of(cls, patient: dict[str, Any]) -> Demographics:
        family, given = _name(patient.get("name"))
        birth = patient.get("birthDate")
        birth = birth[:10] if isinstance(birth, str) and re.match(r"^\d{4}", birth) else None
        sex = patient.get("gender")
        letters = [part[0].upper() for part in (given, family) if part]
        return cls(
            family=family,
            given=given,
            birth=birth,
            sex=sex if sex in _SEXES else None,
            identifiers=_identifiers(patient.get("identifier")),
            initials=". ".join(letters) + "." if letters else None,
            deceased=bool(patient.get("deceasedDateTime"))
            or patient.get("deceasedBoolean") is True,
        )

    @property
    def names_someone(self) -> bool:
        """Whether there is anything to compare at all."""
        return bool(self.family or self.birth or self.sex or self.identifiers)

    def shown(self) -> str | None:
        """How answers and the CLI show the person: 'J. D., born 1981', or less if that is all
        there is; None when nothing is known."""
        parts = [self.initials] if self.initials else []
        if self.birth:
            parts.append(f"born {self.birth[:4]}")
        if not self.initials and self.sex:
            parts.append(self.sex)
        return ", ".join(parts) or None


def _fields(a: Demographics, b: Demographics) -> tuple[set[str], set[str]]:
    """The fields both know that agree, and those that differ."""
    agree: set[str] = set()
    differ: set[str] = set()
    if a.family and b.family and a.given and b.given:
        same_given = a.given == b.given or (
            min(len(a.given), len(b.given)) == 1 and a.given[0] == b.given[0]
        )
        (agree if a.family == b.family and same_given else differ).add("name")
    if a.birth and b.birth:
        n = min(len(a.birth), len(b.birth))
        (agree if a.birth[:n] == b.birth[:n] else differ).add("birth date")
    if a.sex and b.sex:
        (agree if a.sex == b.sex else differ).add("sex")
    return agree, differ


def verdict(a: Demographics, b: Demographics) -> tuple[Verdict, set[str]]:
    """Whether *a* and *b* are the same person, and the fields that differ.

    ``same``: nothing differs, and an identifier agrees or the birth date and the name or sex
    agree. ``unsure``: they look alike (an identifier, the name or the birth date agree) but
    something differs, or only the name agrees -- a person must choose. ``different``: what
    can be compared differs and nothing that identifies agrees. ``unknown``: nothing to
    compare but the sex.
    """
    agree, differ = _fields(a, b)
    shared_id = bool(a.identifiers & b.identifiers)
    if differ:
        alike = shared_id or bool(agree & {"name", "birth date"})
        return ("unsure" if alike else "different"), differ
    if shared_id or ("birth date" in agree and agree & {"name", "sex"}):
        return "same", differ
    return ("unsure" if agree - {"sex"} else "unknown"), differ
