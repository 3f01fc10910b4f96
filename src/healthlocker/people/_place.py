"""Placing the Patients of a file being imported with the vault's people, inside its batch.

:class:`Placement` wraps a reader's stream of items: each Patient that passes is placed with a
person (the rule: docs/people.md), and once the stream ends the placements are ready for
:meth:`Placement.save`, which the import runs in the transaction that publishes its batch
(``on_publish``), so a file and whom it is about are stored together or not at all. A file
whose Patient looks like someone in the vault but differs is refused whole
(:class:`~healthlocker.errors.PersonUnclearError`) unless ``choice`` (``--person``) says whose
it is. References to Patients the file does not hold follow the file's one person, if it has
exactly one; otherwise they wait for their Patient (their records are the owner's meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from healthlocker.errors import PeopleError, PersonUnclearError
from healthlocker.people._people import People, Person
from healthlocker.people._refs import patient_of
from healthlocker.people._who import Demographics, Verdict, verdict
from healthlocker.store import Item, Vault

How = Literal["owner", "same", "new", "chosen", "no one", "unclear"]
_RANK: dict[Verdict, int] = {"same": 0, "unsure": 1, "different": 2, "unknown": 3}
_NAME_CAP = 60
# What a file's report says of a person whose Patients were placed in several ways.
_SAID_FIRST: tuple[How, ...] = ("chosen", "new", "unclear", "owner", "same", "no one")


@dataclass(frozen=True)
class Placed:
    """Whom one imported file is about, and what import did about it."""

    person: str  # the person's id
    shown: str  # as answers show them: a name given, or initials and birth year
    owner: bool
    how: How
    note: str | None  # the sentence the import report prints; None when nothing needs saying


class Placement:
    """The people of one file as it is imported. Make it before the file's batch begins."""

    _people: People  # read as the batch starts, inside the import's lock (see wrap)

    def __init__(
        self, vault: Vault, *, label: str, choice: str | None = None, refuse: bool = True
    ) -> None:
        self._vault = vault
        self._label = label
        self._choice = check_choice(choice)
        self._refuse = refuse  # a sync cannot ask: someone unclear is a person of their own
        self._mine: dict[str, tuple[Person, How]] = {}
        self._bare: set[str] = set()
        self._first: Demographics | None = None
        self._chosen: Person | None = None
        self._unclear: dict[int, tuple[Person, set[str]]] = {}  # id(person) → like whom
        self.placed: list[Placed] = []
        self.waiting: set[str] = set()  # Patients its records name that no person holds yet
        self._changed = False  # placements to write down

    def wrap(self, items: Iterable[Item]) -> Iterator[Item]:
        """*items*, unchanged; the people they name are placed as they pass, ready for
        :meth:`save` when they end."""
        # Read here, inside the import's lock: an import just before may have placed people.
        self._people = People.load(self._vault)
        bare = self._bare
        for where, resource in items:
            if resource.get("resourceType") == "Patient":
                self._patient(where, resource)
            else:
                ref = patient_of(resource)
                if ref is not None:
                    bare.add(ref)
            yield where, resource
        self._finish()

    def _patient(self, where: str, resource: dict[str, object]) -> None:
        rid = resource.get("id")
        if not isinstance(rid, str) or f"Patient/{rid}" in self._mine:
            return
        ref = f"Patient/{rid}"
        demo = Demographics.of(resource)
        how: How
        if self._choice is not None:
            person, how = self._chose(where, demo), "chosen"
        else:
            person, how = self._match(where, ref, demo)
        self._people.demographics[ref] = demo
        self._people.place(ref, person, [self._label])
        self._mine[ref] = (person, how)

    def _match(self, where: str, ref: str, demo: Demographics) -> tuple[Person, How]:
        people = self._people
        known = people.placed(ref)
        if known is not None:
            return known, "same"
        if not demo.names_someone:
            return people.owner, "no one"
        judged = [(p, *_judge(demo, people.known(p))) for p in people.all]
        same = next((p for p, v, _ in judged if v == "same"), None)
        if same is not None:
            return same, "same"
        owner = people.owner
        if not people.known(owner):
            return owner, "owner"  # the first person the vault's records name
        unsure = [(p, differ) for p, v, differ in judged if v == "unsure"]
        if not unsure and judged[0][1] == "unknown":
            unsure = [(owner, set())]
        if not unsure:
            return people.add(), "new"
        like, differ = unsure[0]
        if self._refuse:
            raise PersonUnclearError(_unclear(where, like, differ))
        person = people.add()
        self._unclear[id(person)] = (like, differ)
        return person, "unclear"

    def _chose(self, where: str, demo: Demographics) -> Person:
        if self._first is None:
            self._first = demo
        elif verdict(self._first, demo)[0] == "different":
            raise PersonUnclearError(
                f"{where}: this file is about more than one person, and --person puts the "
                "records it holds with one; import it without --person"
            )
        return self._chosen_person()

    def _chosen_person(self) -> Person:
        """The person ``--person`` names (made on first use: ``new``, or a new name)."""
        if self._chosen is None:
            people, choice = self._people, self._choice or ""
            if choice == "new":
                self._chosen = people.add()
            else:
                self._chosen = people.find(choice) or people.add(name=choice)
        return self._chosen

    def _finish(self) -> None:
        people = self._people
        if self._choice is not None and self._bare - self._mine.keys():
            self._chosen_person()
        persons = list({id(p): p for p, _ in self._mine.values()}.values())
        one = self._chosen or (persons[0] if len(persons) == 1 else None)
        for ref in sorted(self._bare - self._mine.keys()):
            if one is not None and (self._chosen is not None or people.placed(ref) is None):
                people.place(ref, one, [self._label])
            elif people.placed(ref) is None:
                self.waiting.add(ref)
        self._changed = bool(self._mine) or one is not None
        if self._changed:
            people.settle()  # the ids save will write, for the report to name
        for person in persons or ([one] if one is not None else []):
            hows = {h for p, h in self._mine.values() if p is person} or {"chosen"}
            self.placed.append(self._said(person, next(h for h in _SAID_FIRST if h in hows)))

    def save(self) -> None:
        """Write the placements down (the batch's publishing transaction runs this)."""
        if self._changed:
            self._people.save(self._vault)

    def _said(self, person: Person, how: How) -> Placed:
        people = self._people
        shown, pid = people.shown(person), person.id
        who = "the owner" if person.owner else pid
        notes: dict[How, str | None] = {
            "owner": f"The vault's owner is {shown} ({pid}): the first person its records name.",
            "same": None if person.owner else f"Also about {shown} ({pid}), not the owner.",
            "new": (
                f"Someone else: {shown}, stored apart as {pid}; if this is you, run "
                f"`healthlocker people link owner {pid}`."
            ),
            "chosen": f"About {shown} ({who}), as --person chose.",
            "no one": (
                "A Patient record naming no one (no name, birth date, sex or identifier) was "
                "taken as the owner's."
            ),
            "unclear": None,
        }
        note = notes[how]
        if how == "unclear":
            like, differ = self._unclear[id(person)]
            note = (
                f"About {shown}, who looks like {_who(like)} but {_differs(differ)}: stored "
                f"apart as {pid}; if they are one person, run `healthlocker people link "
                f"{'owner' if like.owner else like.id} {pid}`."
            )
        return Placed(pid, shown, person.owner, how, note)


def check_choice(choice: str | None) -> str | None:
    """``--person``'s value, checked: ``owner``, ``new``, a person's id or a name."""
    if choice is None:
        return None
    text = " ".join(choice.split())
    if not text or len(text) > _NAME_CAP or not text.isprintable():
        raise PeopleError(
            f"--person takes owner, new, a person's id (as `healthlocker people` lists them) "
            f"or a name of up to {_NAME_CAP} characters"
        )
    return text


def _judge(demo: Demographics, known: list[Demographics]) -> tuple[Verdict, set[str]]:
    """How *demo* compares with the best of a person's Patients."""
    if not known:
        return "unknown", set()
    return min((verdict(demo, k) for k in known), key=lambda found: _RANK[found[0]])


def _who(person: Person) -> str:
    return "the vault's owner" if person.owner else person.id


def _differs(differ: set[str]) -> str:
    if not differ:
        return "too little of who they are can be compared to tell"
    fields = " and ".join(sorted(differ))
    return f"whose {fields} {'differ' if len(differ) > 1 else 'differs'}"


def _unclear(where: str, like: Person, differ: set[str]) -> str:
    choice = "owner" if like.owner else like.id
    return (
        f"{where}: this file is about someone who looks like {_who(like)} but "
        f"{_differs(differ)}; nothing of it was imported. Import it again with --person {choice} "
        "if it is the same person, or --person new if not (`healthlocker people` lists who is "
        "in the vault)"
    )
