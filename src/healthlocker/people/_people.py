"""The people a vault's records are about: who they are, which Patients are whose, the owner.

A person is an id (``person-1``, ``person-2``, …), the Patient resources placed with them (each
with the labels of the sources it came from), whether they are the vault's owner, and a name
the person may have given them. :class:`People` reads them from the vault's ``people`` table
(declared in the store) together with what the stored Patients say about who they are, and
writes them back whole, in one transaction.

Whose a record is: the person its Patient reference is placed with; a record naming no Patient
(Apple Health, MyFitnessPal, Peloton), or one no person holds, is the owner's. A stored Patient
no person holds yet (a vault written before people were kept) is a person of its own, whose id
is its reference, until the next import writes it down; the first of them is the owner when no
one is. The vault always has an owner, even before any record names one.
"""

from __future__ import annotations

import json
import re
import secrets
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from healthlocker.errors import PeopleError
from healthlocker.people._who import Demographics
from healthlocker.store import StoredResource, Vault

OWNER = "owner"
_TABLE = "people"
_PERSON_ID = re.compile(r"^person-(\d{1,9})$")
_PATIENT_ID = re.compile(r"^(?:Patient/)?([A-Za-z0-9\-.]{1,64})$")
_CACHE: weakref.WeakKeyDictionary[Any, tuple[Any, People]] = weakref.WeakKeyDictionary()


@dataclass
class Person:
    """One person: the Patients placed with them (reference → source labels), and more."""

    id: str
    owner: bool = False
    name: str | None = None  # a name the person gave (`people name`, `import --person NAME`)
    patients: dict[str, set[str]] = field(default_factory=dict)


class People:
    """Everyone a vault's records are about. Build with :meth:`of`; edit, then :meth:`save`."""

    def __init__(self, persons: list[Person], demographics: dict[str, Demographics]) -> None:
        self._persons = persons
        self.demographics = demographics  # Patient reference → what its stored Patient says
        if not any(p.owner for p in persons):
            if not persons:
                persons.append(Person("person-1"))
            persons[0].owner = True
        self._index()

    def _index(self) -> None:
        self._persons.sort(key=_order)
        self._by_ref = {ref: p for p in self._persons for ref in p.patients}

    # -- loading and saving ----------------------------------------------------------------

    @classmethod
    def of(cls, reader: Any) -> People:
        """The people of *reader* (a Vault, or any reader of stored resources), cached while
        the vault's version stands; read-only for the caller."""
        version = reader.version() if isinstance(reader, Vault) else None
        hit = _CACHE.get(reader) if version is not None else None
        if hit is not None and hit[0] == version:
            return hit[1]
        people = cls.load(reader)
        if version is not None:
            _CACHE[reader] = (version, people)
        return people

    @classmethod
    def load(cls, reader: Any) -> People:
        """Fresh from the vault, to edit. Read outside an import's transaction."""
        persons: dict[str, Person] = {}
        if isinstance(reader, Vault):
            table = reader.table(_TABLE)
            for rid, person, tag, body in table.rows("id", "person", "source_tag", "body"):
                opened = json.loads(table.open(rid, body))
                entry = persons.setdefault(person, Person(person))
                if tag is None:
                    entry.owner, entry.name = bool(opened.get("owner")), opened.get("name")
                else:
                    entry.patients.setdefault(opened["patient"], set()).add(opened["source"])
        stored: list[StoredResource] = sorted(reader.resources("Patient"), key=lambda s: s.rowid)
        placed = {ref for p in persons.values() for ref in p.patients}
        for patient in stored:  # not placed yet: each a person of its own
            if patient.ref not in placed:
                persons[patient.ref] = Person(patient.ref, patients={patient.ref: {patient.source}})
                placed.add(patient.ref)
        demographics = {s.ref: Demographics.of(s.resource) for s in stored}
        return cls(list(persons.values()), demographics)

    def settle(self) -> None:
        """Drop who is left with nothing (``prune``), and give a person not yet written down the
        next ``person-N`` id: as :meth:`save` writes them, so an import can name them first."""
        self.prune()
        taken = [int(m[1]) for p in self._persons if (m := _PERSON_ID.match(p.id))]
        following = max(taken, default=0) + 1
        for person in self._persons:
            if not _PERSON_ID.match(person.id):
                person.id, following = f"person-{following}", following + 1
        self._index()

    def save(self, vault: Vault) -> None:
        """Write everyone back, whole, in one transaction (inside an import's, if there is one),
        settled first (:meth:`settle`)."""
        self.settle()
        table = vault.table(_TABLE)
        with vault.transaction():
            table.delete_where()
            for p in self._persons:
                table.put(
                    p.id, person=p.id, source_tag=None, body=_dumps(owner=p.owner, name=p.name)
                )
                for ref, labels in sorted(p.patients.items()):
                    for label in sorted(labels):
                        table.put(
                            secrets.token_hex(8),
                            person=p.id,
                            source_tag=table.tag(label),
                            body=_dumps(patient=ref, source=label),
                        )

    # -- reading ---------------------------------------------------------------------------

    @property
    def all(self) -> list[Person]:
        """Everyone, the owner first."""
        return list(self._persons)

    @property
    def owner(self) -> Person:
        return next(p for p in self._persons if p.owner)

    def placed(self, ref: str) -> Person | None:
        """The person a Patient reference is placed with, or None."""
        return self._by_ref.get(ref)

    def whose(self, ref: str | None) -> Person:
        """Whom a record with this Patient reference (or none) is about."""
        found = self._by_ref.get(ref) if ref is not None else None
        return found or self.owner

    def find(self, text: str) -> Person | None:
        """A person by ``owner``, id (``person-2`` or ``2``), a name given them, or one of their
        Patients (``Patient/abc`` or ``abc``)."""
        wanted = text.strip()
        if wanted.casefold() == OWNER:
            return self.owner
        number = f"person-{wanted}" if wanted.isdigit() else wanted
        for person in self._persons:
            if person.id == number or (person.name and person.name.casefold() == wanted.casefold()):
                return person
        matched = _PATIENT_ID.match(wanted)
        return self._by_ref.get(f"Patient/{matched[1]}") if matched else None

    def get(self, text: str) -> Person:
        """:meth:`find`, or PeopleError naming what to run."""
        found = self.find(text)
        if found is None:
            raise PeopleError(
                f"no person {text[:40]!r} in this vault; `healthlocker people` lists them"
            )
        return found

    def known(self, person: Person) -> list[Demographics]:
        """What the stored Patients of *person* say about who they are (those that say any)."""
        found = (self.demographics.get(ref) for ref in person.patients)
        return [d for d in found if d is not None and d.names_someone]

    def primary(self, person: Person) -> str | None:
        """The Patient of *person* that says most about who they are (one that records no
        death first: sample files disagree on it), for views that show one."""
        known = self.demographics

        def rank(ref: str) -> tuple[bool, bool, int, str]:
            d = known.get(ref)
            if d is None:
                return (True, True, 0, ref)
            return (False, d.deceased, -(bool(d.initials) + bool(d.birth) + bool(d.sex)), ref)

        return min(person.patients, key=rank, default=None)

    def shown(self, person: Person) -> str:
        """How answers and the CLI show a person: the name given them, else initials and birth
        year, else their id."""
        if person.name:
            return person.name
        known = sorted(
            self.known(person), key=lambda d: (not d.initials, not d.birth, d.shown() or "")
        )
        return next((s for d in known if (s := d.shown())), None) or person.id

    # -- editing ---------------------------------------------------------------------------

    def add(self, *, name: str | None = None) -> Person:
        """A new person (written down by :meth:`save`)."""
        person = Person(f"new-{len(self._persons)}", name=name)
        self._persons.append(person)
        self._index()
        return person

    def place(self, ref: str, person: Person, labels: Iterable[str]) -> Person | None:
        """Put a Patient with *person* (from wherever it was); the person it left, if any."""
        before = self._by_ref.get(ref)
        held = set(labels)
        if before is not None and before is not person:
            held |= before.patients.pop(ref)
        person.patients.setdefault(ref, set()).update(held)
        self._by_ref[ref] = person
        return before if before is not person else None

    def link(self, keep: Person, other: Person) -> None:
        """*other* is *keep*: one person from now on (the owner, if either was)."""
        if keep is other:
            raise PeopleError(f"{keep.id} and {other.id} are already one person")
        for ref, labels in list(other.patients.items()):
            self.place(ref, keep, labels)
        keep.owner = keep.owner or other.owner
        keep.name = keep.name or other.name
        self._persons = [p for p in self._persons if p is not other]
        self._index()

    def split(self, refs: Iterable[str]) -> Person:
        """These Patients are someone else: a new person of their own."""
        moving = sorted(set(refs))
        held = {id(p): p for ref in moving if (p := self._by_ref.get(ref)) is not None}
        if not moving or len(held) != 1:
            raise PeopleError(
                "split takes Patients of one person; `healthlocker people` lists them"
            )
        (before,) = held.values()
        if set(moving) >= set(before.patients):
            raise PeopleError(f"{before.id} holds only those records: nothing to split off")
        person = self.add()
        for ref in moving:
            self.place(ref, person, ())
        return person

    def holding(self, what: str) -> list[str]:
        """The Patients *what* names: one Patient (``Patient/abc`` or ``abc``), or every
        Patient a source (by its label) brought."""
        by_source = sorted(ref for ref, p in self._by_ref.items() if what in p.patients[ref])
        if by_source:
            return by_source
        matched = _PATIENT_ID.match(what.strip())
        ref = f"Patient/{matched[1]}" if matched else None
        if ref is None or ref not in self._by_ref:
            raise PeopleError(
                f"no Patient and no source {what[:40]!r} in this vault; `healthlocker people "
                "--json` lists each person's Patients and sources"
            )
        return [ref]

    def rename(self, person: Person, name: str | None) -> None:
        """Give *person* a name (None: take it away): answers and --person use it."""
        if name is not None and self.find(name) not in (None, person):
            raise PeopleError(f"{name[:40]!r} already names someone else in this vault")
        person.name = name

    def make_owner(self, person: Person) -> None:
        for each in self._persons:
            each.owner = each is person
        self._index()

    def prune(self) -> None:
        """Drop the people left with no Patient, unless they are the owner or have a name."""
        self._persons = [p for p in self._persons if p.patients or p.owner or p.name]
        self._index()


def _order(person: Person) -> tuple[int, int]:
    """The owner first, then people in the order they came (person-2 before person-10; those
    not written down yet after them, as they came: the sort is stable)."""
    number = _PERSON_ID.match(person.id)
    return (0 if person.owner else 1, int(number[1]) if number else 10**9)


def _dumps(**values: Any) -> bytes:
    return json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
