"""Who the records are about: ``people`` (list), ``people link|split|owner|name``.

healthlocker people                      everyone, the owner first
healthlocker people link A B             B is A: one person from now on
healthlocker people split WHAT...        these Patients (ids, or a source's label) are
                                         someone else: a person of their own
healthlocker people owner X              X is the vault's owner (answers are about them)
healthlocker people name X NAME          call X by NAME (in answers, and for --person)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, UsageError, arg, command
from healthlocker.cli._common import console, open_vault

_USAGE = {
    "link": ("link A B  (B is A)", 2),
    "split": ("split WHAT...  (Patient ids, or a source's label)", None),
    "owner": ("owner X", 1),
    "name": ("name X NAME", 2),
}
HINT = (
    "Records that name no Patient (Apple Health, MyFitnessPal, Peloton) are the owner's. "
    "Link two people: `healthlocker people link A B`; split some off: `healthlocker people "
    "split PATIENT|SOURCE`; choose the owner: `healthlocker people owner X`."
)


@dataclass
class Everyone(Result):
    rows: list[dict[str, Any]]

    def public(self) -> Any:
        return self.rows

    def show(self) -> None:
        from rich.table import Table

        table = Table(title=f"People ({len(self.rows)})", caption=HINT)
        for col in ("person", "who", "owner", "Patient records", "from"):
            table.add_column(col)
        for row in self.rows:
            owner = "owner" if row["owner"] else ""
            patients, sources = str(len(row["patients"])), ", ".join(row["sources"])
            table.add_row(row["id"], row["shown"], owner, patients, sources)
        console().print(table)


def _everyone(vault: Any) -> Everyone:
    from healthlocker.people import People

    people = People.load(vault)
    return Everyone(
        [
            {
                "id": p.id,
                "shown": people.shown(p),
                "owner": p.owner,
                "name": p.name,
                "patients": sorted(p.patients),
                "sources": sorted({label for labels in p.patients.values() for label in labels}),
            }
            for p in people.all
        ]
    )


@command(
    "people",
    "who the records are about (the owner, and anyone else a file was about); link or split",
    arg(
        "action",
        nargs="?",
        choices=tuple(_USAGE),
        metavar="ACTION",
        help="link A B | split WHAT... | owner X | name X NAME (none: list everyone)",
    ),
    arg("words", nargs="*", metavar="ARG", help="people: an id (person-2 or 2), a name or owner"),
    JSON_FLAG,
)
def people(args: argparse.Namespace) -> Result:
    action, words = args.action, list(args.words)
    if action is None:
        if words:
            raise UsageError("give an action before its arguments: link, split, owner or name")
        with open_vault(args) as vault:
            return _everyone(vault)
    usage, wanted = _USAGE[action]
    if (wanted is None and not words) or (wanted is not None and len(words) != wanted):
        raise UsageError(f"usage: healthlocker people {usage}")
    with open_vault(args) as vault:
        return Said(_change(vault, action, words))


def _change(vault: Any, action: str, words: list[str]) -> str:
    """Do *action* on the vault's people; what to say about it."""
    from healthlocker.people import People

    people = People.load(vault)
    if action == "link":
        keep, other = people.get(words[0]), people.get(words[1])
        people.link(keep, other)
        people.save(vault)
        return f"{other.id} is {keep.id} now: one person ({people.shown(keep)})."
    if action == "split":
        refs = [ref for what in words for ref in people.holding(what)]
        person = people.split(refs)
        people.save(vault)
        return f"Split off {len(refs)} Patient record(s) as {person.id} ({people.shown(person)})."
    person = people.get(words[0])
    if action == "owner":
        people.make_owner(person)
        people.save(vault)
        return f"{person.id} ({people.shown(person)}) is the vault's owner now."
    people.rename(person, " ".join(words[1].split()) or None)
    people.save(vault)
    return f"{person.id} is called {people.shown(person)} now."


COMMANDS = (people,)
