"""The consent scope: the one reader a view function reads through.

A ``Scope`` wraps the vault (any ``Reader``) for one call: the records of the period the person
allowed (dated from ``window_start`` on; None allows all) and, when one is chosen, of one person
(``patient``: ``owner``, a person's id, or one of their Patient ids; see ``healthlocker.people``).
The server builds one per call from the consent decision (:meth:`Scope.for_tool`: the person
asked for, else the vault's owner); a view function given a plain ``Vault`` reads all records of
everyone. No view function passes a window or a person itself, so none can forget them.

This is the one place records are told apart by person. A record is a person's when its Patient
is placed with them; a record naming no Patient, or one no person holds, is the owner's. Two
people are never pooled: a fact several sources hold (``StoredResource.also``) keeps only the
copies of the person asked for. Every answer about one person names them when the vault holds
several (``Answer.person``).

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

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

from healthlocker.people import OWNER, People, Person, patient_of, ref_id
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
    status_code,
)
from healthlocker.records._view import Answer, PersonLine, Withheld
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
    person: Person | None = None  # whom the answer is about, once known


class Scope:
    """What one call may read. Also a ``Reader``, so helpers that take one accept it."""

    def __init__(
        self, reader: Reader, *, window_start: str | date | None = None, patient: str | None = None
    ) -> None:
        self._reader = reader
        self.window_start = check_date(window_start, "window_start")
        self._roster: People | None = None
        self.person: Person | None = None
        self.patient: str | None = None  # the Patient answers name as whose they are
        asked = check_patient(patient)
        if asked is not None:
            self.person, self.patient = self._resolve(asked)
        self._tally = _Tally(person=self.person)

    @classmethod
    def for_tool(
        cls, reader: Reader, *, window_start: str | date | None = None, patient: str | None = None
    ) -> Scope:
        """The scope of a tool call: the person asked for, else the vault's owner."""
        return cls(reader, window_start=window_start, patient=patient or OWNER)

    def _resolve(self, asked: str) -> tuple[Person, str | None]:
        """The person *asked* names, and the Patient answers name them by: the one asked for,
        else their Patient that says most about who they are. A Patient id no person holds is
        a person of that Patient alone (whose records are only those naming it)."""
        people = self.roster()
        found = people.find(asked)
        ref = f"Patient/{asked.removeprefix('Patient/')}"
        if found is None:
            return Person(ref, patients={ref: set()}), ref
        return found, ref if ref in found.patients else people.primary(found)

    def roster(self) -> People:
        """Everyone the vault's records are about (read once per call; the vault keeps it
        while it is unchanged)."""
        if self._roster is None:
            self._roster = People.of(self._reader)
        return self._roster

    def narrow(self, patient: str) -> Scope:
        """The same period for one person a view chose itself (the one with the most recent
        data, say); what it leaves out counts toward this scope's answer."""
        scope = Scope(self._reader, window_start=self.window_start, patient=patient)
        scope._tally, scope._roster = self._tally, self._roster
        self._tally.person = scope.person
        return scope

    def all_time(self) -> Scope:
        """The same person's records of every period, nothing counted: for what a name means
        (which test "glucose" is), so that a period hides that test's records, counted, rather
        than changing the question."""
        scope = Scope(self._reader)
        scope.person, scope.patient, scope._roster = self.person, self.patient, self._roster
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
        if self.window_start is None and self._everyones(resource_type):
            return stored
        label = kind or KINDS.get(resource_type, f"{resource_type} records")
        return self._sift(resource_type, stored, where or (lambda _: True), label)

    def lookup(
        self, resource_type: str, *, terms: Iterable[str] = (), since: Any = None, until: Any = None
    ) -> list[StoredResource]:
        """Resources a view looks up by reference (a prescriber, a reason) or only consults:
        the same limits, nothing counted, since the view does not list them."""
        stored = self._reader.resources(resource_type, terms=terms, since=since, until=until)
        if self.window_start is None and self._everyones(resource_type):
            return stored
        return self._sift(resource_type, stored, None, "")

    def _everyones(self, rtype: str) -> bool:
        """Whether no record of this type needs telling apart by person: no person chosen,
        reference data, or a vault whose records are all about the one person chosen."""
        if self.person is None or not (is_dated(rtype) or rtype == "Patient"):
            return True
        everyone = self.roster().all
        return len(everyone) == 1 and everyone[0] is self.person

    def _sift(
        self,
        rtype: str,
        stored: list[StoredResource],
        where: Callable[[StoredResource], object] | None,
        kind: str,
    ) -> list[StoredResource]:
        start = self.window_start if is_dated(rtype) else None
        ongoing = ONGOING.get(rtype)
        by_person = not self._everyones(rtype)
        kept = []
        for item in stored:
            own = self._own(item) if by_person else item
            if own is None:
                tally = self._tally.others
            elif start is not None and not (
                (own.date is not None and own.date[:10] >= start)
                or (ongoing is not None and ongoing(own.resource, start))
            ):
                tally = self._tally.window
            else:
                kept.append(own)
                continue
            if where is not None and where(item):
                tally.setdefault(rtype, (kind, set()))[1].add(item.ref)
        return kept

    def _own(self, item: StoredResource) -> StoredResource | None:
        """*item* if it is about this scope's person; a fact that several people's sources hold
        (rare: the same reading at the same minute) keeps only this person's copies."""
        if not item.also:
            return item if self._mine(item) else None
        copies = [item, *item.also]
        mine = [c for c in copies if self._mine(c)]
        if len(mine) == len(copies):
            return item
        return dataclasses.replace(mine[0], also=tuple(mine[1:])) if mine else None

    def _mine(self, item: StoredResource) -> bool:
        person = self.person
        if person is None:
            return True
        ref = item.ref if item.resource_type == "Patient" else patient_of(item.resource)
        if ref is not None and ref in person.patients:
            return True
        return person.owner and (ref is None or self.roster().placed(ref) is None)

    def people(self) -> list[str]:
        """Everyone the vault holds records about (their ids, the owner first), whatever the
        person chosen: so a view can say how many people there are, and whom it shows."""
        return [p.id for p in self.roster().all]

    def whose(self, ref: str | None) -> str | None:
        """Whom a record naming this Patient (or none) is about, as a view tells people apart
        when no person is chosen: their first Patient's reference, else their id."""
        person = self.roster().whose(ref)
        return min(person.patients, default=person.id)

    def about(self) -> PersonLine | None:
        """Whom the answer is about, when the vault holds several people (else None)."""
        person = self._tally.person
        roster = self.roster()
        count = len(roster.all)
        if person is None or count < 2:
            return None
        shown = roster.shown(person)
        who = "the vault's owner" if person.owner else person.id
        others = ", ".join(p.id for p in roster.all if p is not person)
        return PersonLine(
            id=person.id,
            shown=shown,
            owner=person.owner,
            people_in_vault=count,
            note=(
                f"This answer is about {shown} ({who}); the vault holds records about {count} "
                f"people, and patient= chooses another ({_cut(others)})."
            ),
        )

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
            person = self._tally.person
            shown = self.roster().shown(person) if person is not None else "one person"
            notes.append(
                f"{n} {_plural(n, 'record')} about other people in the vault "
                f"{'is' if n == 1 else 'are'} not shown (this answer is about {shown})"
            )
        return Withheld(
            count=sum(by_kind.values()),
            before=self.window_start if window else None,
            by_kind=by_kind,
            other_people=sum(others.values()),
            note="; ".join(notes) + ".",
        )


def _cut(text: str, cap: int = 120) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"


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
        answer.person = scope.about()
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
