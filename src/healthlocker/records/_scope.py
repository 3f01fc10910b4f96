"""The consent scope: the one reader a view function reads through.

A ``Scope`` wraps the vault (any ``Reader``) for one call: the records of the period the person
allowed (dated from ``window_start`` on; None allows all) and, when one is chosen, of one person
(``patient``). The server builds one per call from the consent decision; a view function given a
plain ``Vault`` reads all records of everyone. No view function passes a window itself, so none
can forget it.

Which types are dated is the store's ``is_dated``: who the person is (Patient) and reference data
(clinicians, places, drugs) belong to every period. Ongoing state belongs to any period it
overlaps, however long ago it began: active prescriptions and medication statements with no end
(or one inside the period), allergies still active, conditions still going on (or ended inside
the period) and coverage still in force.

What the period or the person chosen left out is counted, per kind of record, and every view
carries it (``Answer.withheld``), in its structure and its text: a view never says "none" when
records exist outside what was allowed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

from healthlocker.records._common import (
    Reader,
    as_dict,
    check_date,
    check_patient,
    clean,
    concept_name,
    condition_is_active,
    day,
    first_day,
    human_name,
    medication_dates,
    patient_of,
    ref_id,
    status_code,
)
from healthlocker.records._view import Answer, Withheld
from healthlocker.store import StoredResource, is_dated

P = ParamSpec("P")
A = TypeVar("A", bound=Answer)

# The words for each kind of record, plural (a view may name its own, e.g. "lab results").
KINDS = {
    "Observation": "observations",
    "Condition": "conditions",
    "MedicationRequest": "prescriptions",
    "MedicationStatement": "medication statements",
    "MedicationDispense": "pharmacy fills",
    "AllergyIntolerance": "allergies",
    "Immunization": "immunizations",
    "Encounter": "visits",
    "Procedure": "procedures",
    "DiagnosticReport": "reports",
    "ExplanationOfBenefit": "claims",
    "Coverage": "coverage records",
}
_LIVE_MEDICATION = frozenset({"active", "on-hold", "intended"})
_ENDED_COVERAGE = frozenset({"cancelled", "entered-in-error", "draft"})


def _medication_ongoing(r: Mapping[str, Any], start: str) -> bool:
    ended = medication_dates(r)[1]
    return ended >= start if ended else r.get("status") in _LIVE_MEDICATION


def _allergy_ongoing(r: Mapping[str, Any], start: str) -> bool:
    return status_code(r.get("clinicalStatus")) in (None, "active") and status_code(
        r.get("verificationStatus")
    ) not in ("refuted", "entered-in-error")


def _condition_ongoing(r: Mapping[str, Any], start: str) -> bool:
    abatement = as_dict(r.get("abatementPeriod"))
    ended = first_day(r.get("abatementDateTime"), abatement.get("end") or abatement.get("start"))
    return ended >= start if ended else condition_is_active(r)


def _coverage_ongoing(r: Mapping[str, Any], start: str) -> bool:
    if r.get("status") in _ENDED_COVERAGE:
        return False
    ended = day(as_dict(r.get("period")).get("end"))
    return ended is None or ended >= start


# Ongoing state, per type: whether a record dated before the period still belongs to it.
ONGOING: dict[str, Callable[[Mapping[str, Any], str], bool]] = {
    "MedicationRequest": _medication_ongoing,
    "MedicationStatement": _medication_ongoing,
    "AllergyIntolerance": _allergy_ongoing,
    "Condition": _condition_ongoing,
    "Coverage": _coverage_ongoing,
}


@dataclass
class _Tally:
    """What a call's scopes left out: per type, the kind's words and the records' refs."""

    window: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    others: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    person: str | None = None  # whom the answer is about, once known


class Scope:
    """What one call may read. Also a ``Reader``, so helpers that take one accept it."""

    def __init__(
        self, reader: Reader, *, window_start: str | date | None = None, patient: str | None = None
    ) -> None:
        self._reader = reader
        self.window_start = check_date(window_start, "window_start")
        self.patient = check_patient(patient)
        self._tally = _Tally(person=self.patient)
        self._only: list[str] | None = None  # the vault's Patient refs, when needed

    def narrow(self, patient: str) -> Scope:
        """The same period for one person a view chose itself (the one with the most recent
        data, say); what it leaves out counts toward this scope's answer."""
        scope = Scope(self._reader, window_start=self.window_start, patient=patient)
        scope._tally = self._tally
        scope._only = self._only
        self._tally.person = scope.patient
        return scope

    def resources(
        self,
        resource_type: str,
        *,
        terms: Iterable[str] = (),
        since: Any = None,
        until: Any = None,
        where: Callable[[StoredResource], object] | None = None,
        kind: str | None = None,
    ) -> list[StoredResource]:
        """Resources as ``Vault.resources`` finds them, limited to this scope. The ones the scope
        leaves out are counted as *kind* (default: the type's words) when *where* (the view's
        own filter: a true answer keeps a record; default: all) keeps them."""
        stored = self._reader.resources(resource_type, terms=terms, since=since, until=until)
        if self.window_start is None and self.patient is None:
            return stored
        label = kind or KINDS.get(resource_type, f"{resource_type} records")
        return self._sift(resource_type, stored, where or (lambda _: True), label)

    def lookup(
        self, resource_type: str, *, terms: Iterable[str] = (), since: Any = None, until: Any = None
    ) -> list[StoredResource]:
        """Resources a view looks up by reference (a prescriber, a reason) or only consults:
        the same limits, nothing counted, since the view does not list them."""
        stored = self._reader.resources(resource_type, terms=terms, since=since, until=until)
        if self.window_start is None and self.patient is None:
            return stored
        return self._sift(resource_type, stored, None, "")

    def _sift(
        self,
        rtype: str,
        stored: list[StoredResource],
        where: Callable[[StoredResource], object] | None,
        kind: str,
    ) -> list[StoredResource]:
        start = self.window_start if is_dated(rtype) else None
        ongoing = ONGOING.get(rtype)
        person = self.patient if is_dated(rtype) or rtype == "Patient" else None
        kept = []
        for item in stored:
            if person is not None and self._owner(item) != person:
                tally = self._tally.others
            elif start is not None and not (
                (item.date is not None and item.date[:10] >= start)
                or (ongoing is not None and ongoing(item.resource, start))
            ):
                tally = self._tally.window
            else:
                kept.append(item)
                continue
            if where is not None and where(item):
                tally.setdefault(rtype, (kind, set()))[1].add(item.ref)
        return kept

    def people(self) -> list[str]:
        """Who the vault holds records about (``Patient/id`` each), whatever the person chosen:
        so a view can say how many people there are, and whom it shows."""
        if self._only is None:
            self._only = [p.ref for p in self._reader.resources("Patient")]
        return self._only

    def _owner(self, item: StoredResource) -> str | None:
        """Whom a record is about; one naming no one is the only person's, if there is one."""
        if item.resource_type == "Patient":
            return item.ref
        owner = patient_of(item.resource)
        if owner is None:
            people = self.people()
            owner = people[0] if len(people) == 1 else None
        return owner

    def withheld(self) -> Withheld | None:
        """What this scope has left out so far, or None when nothing."""
        window = _by_kind(self._tally.window)
        others = _by_kind(self._tally.others)
        if not window and not others:
            return None
        by_kind = dict(window)
        for kind, n in others.items():
            by_kind[kind] = by_kind.get(kind, 0) + n
        notes = []
        if window:
            notes.append(_window_note(window, self.window_start or ""))
        if others:
            n = sum(others.values())
            notes.append(
                f"{n} {_plural(n, 'record')} about other people in the vault "
                f"{'is' if n == 1 else 'are'} not shown (this answer is about {self._tally.person})"
            )
        return Withheld(
            count=sum(by_kind.values()),
            before=self.window_start if window else None,
            by_kind=by_kind,
            other_people=sum(others.values()),
            note="; ".join(notes) + ".",
        )


def _by_kind(tally: dict[str, tuple[str, set[str]]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, refs in tally.values():
        out[kind] = out.get(kind, 0) + len(refs)
    return {k: n for k, n in out.items() if n}


def _plural(n: int, plural: str) -> str:
    if n != 1:
        return plural if plural.endswith("s") else plural + "s"
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


def _window_note(by_kind: dict[str, int], start: str) -> str:
    total = sum(by_kind.values())
    verb = "is" if total == 1 else "are"
    if len(by_kind) == 1:
        kind = next(iter(by_kind))
        what = f"{total} older {_plural(total, kind)}"
        return f"{what} {verb} outside the period you allowed (before {start})"
    parts = ", ".join(f"{n} {_plural(n, kind)}" for kind, n in sorted(by_kind.items()))
    return f"{total} older records {verb} outside the period you allowed (before {start}): {parts}"


def as_scope(reader: Reader) -> Scope:
    """*reader* itself when it is a ``Scope``; else all of its records, everyone's."""
    return reader if isinstance(reader, Scope) else Scope(reader)


def scoped(view: Callable[Concatenate[Scope, P], A]) -> Callable[Concatenate[Reader, P], A]:
    """A view function that takes any reader: a ``Scope`` as the server builds one, or a plain
    reader (all records of everyone). Its answer carries what the scope withheld."""

    @functools.wraps(view)
    def read(reader: Reader, /, *args: P.args, **kwargs: P.kwargs) -> A:
        scope = as_scope(reader)
        answer = view(scope, *args, **kwargs)
        answer.withheld = scope.withheld()
        return answer

    return read


class Resolver:
    """Looks referenced resources up through the scope (each type loaded once)."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._by_id: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, reference: Any, rtype: str) -> dict[str, Any] | None:
        rid = ref_id(reference, rtype)
        if rid is None:
            return None
        if rtype not in self._by_id:
            self._by_id[rtype] = {s.id: s.resource for s in self._scope.lookup(rtype)}
        return self._by_id[rtype].get(rid)

    def name(self, reference: Any, *types: str) -> str | None:
        """The display of a reference, else the name of the resource it points to."""
        if not isinstance(reference, dict):
            return None
        if reference.get("display"):
            return clean(reference["display"])
        for rtype in types:
            target = self.get(reference, rtype)
            if target is not None:
                return human_name(target) or concept_name(target.get("code"))
        return None

    def party(self, reference: str) -> str | None:
        """The name of the stored Practitioner or Organization *reference* points to."""
        return self.name({"reference": reference}, "Practitioner", "Organization")
