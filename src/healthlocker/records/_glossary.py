"""The glossary: plain meanings of the abbreviations and jargon found in notes and reports.

The data lives in ``glossary.json`` (documented in ``docs/glossary.md``), written by the project
in plain words. :func:`find_terms` lists the entries a text uses. It matches whole words and
phrases only, the longest first, and keeps each entry's case rule. One regular expression does
the scanning: it is compiled from a character trie of every spelling on first use.

A text is only ever searched: nothing in it can add, change or explain an entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, ValidationError

from healthlocker.records._view import View

Kind = Literal["abbreviation", "jargon", "phrase"]
Case = Literal["exact", "any"]
Spelling = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]

# What an ambiguous abbreviation's meaning ends with: the note does not say which one it means.
ASK_NOTE = "ambiguous: ask the care team which one is meant here"

# A space or hyphen in a spelling stands for any run of spaces, line breaks, tabs, hyphens and
# dashes in a text. Both are compared with these as plain spaces, with straight apostrophes and
# one kind of mu: one character for another, so every character keeps its place. (str.replace
# does it, since str.translate and re.sub take milliseconds over a long note.)
_GAP_CHARS = "\t\n\x0b\x0c\r\x85\xa0\u2007\u2009\u202f\u2028\u2029-\u2010\u2011\u2013"
_GAP = " ++"  # possessive: no spelling has two gaps in a row
# Not right after a letter. A digit may come before ("45mm", "10mg", "98.6°F"), except before a
# capital letter: the "BB" of lot number "Z0860BB" is no abbreviation (see _matches).
_START = r"(?<![^\W\d])"
# Not followed by a letter or digit. A final dot is optional, and taken whole when there.
_END_WORD = r"(?!\w)"
_END_DOT = r"\.?+(?!\w)"
_WORD = re.compile(r"\w")
_END = "\x00"  # trie key of "a spelling ends here" (no spelling contains NUL)


class GlossaryEntry(View):
    """One term of the glossary and its plain meaning."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    term: Spelling = Field(description="The term as it is usually written")
    kind: Kind = Field(description="abbreviation, jargon (one word) or phrase (several words)")
    case: Case = Field(description="exact: matched only as written; any: in any letter case")
    meaning: str = Field(
        description="Its plain meaning in one line; for an ambiguous abbreviation, its possible "
        "meanings and a note that the context must say which"
    )
    also: tuple[Spelling, ...] = Field(default=(), description="Other spellings of the term")
    ambiguous: bool = Field(
        default=False, description="True when the abbreviation has several common meanings"
    )
    meanings: tuple[str, ...] = Field(
        default=(), description="The possible meanings of an ambiguous abbreviation"
    )

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.term, *self.also)

    def render(self) -> str:
        """``HTN — high blood pressure (hypertension)``."""
        return f"{self.term} — {self.meaning}"


def _entry(index: int, raw: Any) -> GlossaryEntry:
    """One entry of the file; an ambiguous one gets its meaning written from its meanings."""
    term = raw.get("term") if isinstance(raw, dict) else None
    where = f"glossary.json, entry {index} ({term!r})"
    if not isinstance(raw, dict) or "case" not in raw:
        raise ValueError(f"{where}: every entry is an object with its own 'case'")
    if raw.get("ambiguous") and "meaning" in raw:
        raise ValueError(f"{where}: an ambiguous entry lists 'meanings', not 'meaning'")
    data = dict(raw)
    if data.get("ambiguous"):
        if len(data.get("meanings") or ()) < 2:
            raise ValueError(f"{where}: an ambiguous entry lists two or more 'meanings'")
        data["meaning"] = f"{' or '.join(data['meanings'])} ({ASK_NOTE})"
    elif data.get("meanings"):
        raise ValueError(f"{where}: only an ambiguous entry lists 'meanings'")
    try:
        return GlossaryEntry.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{where}: {problems}") from None


@cache
def glossary() -> tuple[GlossaryEntry, ...]:
    """Every entry, in the file's order (by term), loaded from the package data on first use."""
    text = resources.files("healthlocker.records").joinpath("glossary.json").read_text("utf-8")
    return tuple(_entry(i, raw) for i, raw in enumerate(json.loads(text)["entries"]))


def spelling_key(spelling: str, case: Case) -> str:
    """The form under which a spelling, or a text matching it, is looked up: gaps as one space,
    apostrophes straight, no final dot, and lower case when the case rule allows any."""
    key = " ".join(_plain(spelling).split()).removesuffix(".")
    return key.lower() if case == "any" else key


def _plain(text: str) -> str:
    for char in _GAP_CHARS:
        text = text.replace(char, " ")
    # The micro sign is also written as a Greek mu, which is what it becomes in capitals.
    return text.replace("\u2019", "'").replace("\u00b5", "\u03bc")


def _folded(text: str) -> str:
    """*text* plain and in lower case, each character where it was."""
    plain = _plain(text)
    lower = plain.lower()
    if len(lower) == len(plain):
        return lower
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in plain)  # "İ" and the like


def _runs_on(spelling: str) -> bool:
    """Whether a letter or digit right after the spelling would make it part of a longer word:
    so for one that ends in a letter, a digit or a dot, not for "K+" or "w/"."""
    return spelling[-1].isalnum() or spelling.endswith(".")


def _atoms(spelling: str) -> list[str]:
    """A spelling as regular-expression pieces: one per character or gap, then its end."""
    text = " ".join(_plain(spelling).split())
    atoms = [_GAP if char == " " else re.escape(char) for char in text.removesuffix(".")]
    if _runs_on(text):
        atoms.append(_END_DOT if text.endswith(".") else _END_WORD)
    return [*atoms, _END]


def _pattern(node: dict[str, Any]) -> tuple[str, int]:
    """The trie below *node* as one expression, and its depth. Deeper paths are tried first,
    and the pieces after a node never overlap, so the longest spelling that fits wins ("no
    acute cardiopulmonary process" before "acute")."""
    if not node:  # below _END
        return "", 0
    branches = []
    for atom, child in node.items():
        sub, depth = _pattern(child)
        branches.append((("" if atom == _END else atom) + sub, depth))
    branches.sort(key=lambda branch: -branch[1])
    depth = branches[0][1] + 1
    if len(branches) == 1:
        return branches[0][0], depth
    return "(?:" + "|".join(b for b, _ in branches) + ")", depth


def _compile(spellings: Iterable[str]) -> re.Pattern[str]:
    trie: dict[str, Any] = {}
    for spelling in spellings:
        node = trie
        for atom in _atoms(spelling):
            node = node.setdefault(atom, {})
    return re.compile(_START + _pattern(trie)[0])


@cache
def _scanner() -> re.Pattern[str]:
    """Every spelling in lower case, for a folded text: where terms start, and nearly always
    which one (the longest, whatever its letter case)."""
    return _compile(s.lower() for entry in glossary() for s in entry.spellings)


@cache
def _index() -> dict[str, GlossaryEntry]:
    """Each spelling's lookup key (``=`` before an exact one, ``~`` before the others)."""
    return {
        ("=" if entry.case == "exact" else "~") + spelling_key(spelling, entry.case): entry
        for entry in glossary()
        for spelling in entry.spellings
    }


def lookup(term: str) -> GlossaryEntry | None:
    """The entry *term* is a spelling of, written in a letter case its rule allows, or None."""
    index = _index()
    exact = index.get("=" + spelling_key(term, "exact"))
    return exact if exact is not None else index.get("~" + spelling_key(term, "any"))


def _shorter(text: str, folded: str, start: int, end: int) -> tuple[int, GlossaryEntry] | None:
    """The longest spelling at *start* shorter than ``text[start:end]`` (which its letter case
    does not allow) that is written in a letter case its rule allows, and where it ends."""
    for stop in range(end - 1, start, -1):
        if folded[stop - 1] == " ":  # no spelling ends in a gap
            continue
        entry = lookup(text[start:stop])
        if entry is None or _scanner().fullmatch(folded, start, stop) is None:
            continue
        if not (_runs_on(text[start:stop]) and _WORD.match(folded, stop)):
            return stop, entry
    return None


def _matches(text: str) -> Iterator[tuple[int, int, GlossaryEntry]]:
    """Where each term in *text* starts and ends, and its entry, in order: at each place the
    longest spelling its letter case allows."""
    folded, pos = _folded(text), 0
    seen: dict[str, GlossaryEntry | None] = {}  # the same few pieces recur in a note
    while True:
        for match in _scanner().finditer(folded, pos):
            start, end = match.span()
            if start and text[start - 1].isdigit() and text[start].isupper():
                continue
            if (piece := text[start:end]) not in seen:
                seen[piece] = lookup(piece)
            if (entry := seen[piece]) is not None:
                yield start, end, entry
                continue
            # A letter case the entry's rule does not allow ("pe", "Ms"): rare, so look for a
            # shorter term here in plain Python, then scan on from where it ends.
            shorter = _shorter(text, folded, start, end)
            pos = start + 1 if shorter is None else shorter[0]
            if shorter is not None:
                yield start, *shorter
            break
        else:
            return


def find_terms(text: str, *, limit: int | None = None) -> list[GlossaryEntry]:
    """The distinct glossary entries *text* uses, in order of first appearance, at most *limit*.

    Whole words and phrases only, the longest first; an abbreviation with ``case: exact`` only
    as written ("PE", not "pe" or the "PE" of "PEN").
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    found: dict[str, GlossaryEntry] = {}
    for _, _, entry in _matches(text):
        found.setdefault(entry.term, entry)
        if len(found) == limit:
            break
    return list(found.values())
