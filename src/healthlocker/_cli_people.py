"""``healthlocker people``: who the vault's records are about; link, split, choose the owner.

healthlocker people                      everyone, the owner first
healthlocker people link A B             B is A: one person from now on
healthlocker people split WHAT...        these Patients (ids, or a source's label) are
                                         someone else: a person of their own
healthlocker people owner X              X is the vault's owner (answers are about them)
healthlocker people name X NAME          call X by NAME (in answers, and for --person)
"""

from __future__ import annotations

import argparse
from typing import Any

from healthlocker.errors import PeopleError

ACTIONS = ("link", "split", "owner", "name")
# How many words each action takes after it (None: one or more).
_WORDS: dict[str, int | None] = {"link": 2, "split": None, "owner": 1, "name": 2}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        metavar="ACTION",
        help="link A B | split WHAT... | owner X | name X NAME (none: list everyone)",
    )
    p.add_argument("words", nargs="*", metavar="ARG", help="people (id, name or owner), …")
    p.add_argument("--json", action="store_true", help="print everyone as JSON")


def run(args: argparse.Namespace, vault: Any) -> str | None:
    """Do *args*' action (if any) on *vault*; the sentence to print, or None to list."""
    from healthlocker.people import People

    action, words = args.action, list(args.words)
    if action is None:
        if words:
            raise PeopleError("give an action before its arguments: link, split, owner or name")
        return None
    wanted = _WORDS[action]
    if (wanted is None and not words) or (wanted is not None and len(words) != wanted):
        raise PeopleError(f"usage: healthlocker people {_usage(action)}")
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


def _usage(action: str) -> str:
    return {
        "link": "link A B  (B is A)",
        "split": "split WHAT...  (Patient ids, or a source's label)",
        "owner": "owner X",
        "name": "name X NAME",
    }[action]


def listing(vault: Any) -> list[dict[str, Any]]:
    """Everyone the vault's records are about, as ``people --json`` prints them."""
    from healthlocker.people import People

    people = People.load(vault)
    return [
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


def table(rows: list[dict[str, Any]]) -> Any:
    """*rows* of :func:`listing` as a table to print."""
    from rich.table import Table

    shown = Table(title=f"People ({len(rows)})", caption=HINT)
    for col in ("person", "who", "owner", "Patient records", "from"):
        shown.add_column(col)
    for row in rows:
        shown.add_row(
            row["id"],
            row["shown"],
            "owner" if row["owner"] else "",
            str(len(row["patients"])),
            ", ".join(row["sources"]),
        )
    return shown


HINT = (
    "Records that name no Patient (Apple Health, MyFitnessPal, Peloton) are the owner's. "
    "Link two people: `healthlocker people link A B`; split some off: `healthlocker people "
    "split PATIENT|SOURCE`; choose the owner: `healthlocker people owner X`."
)
