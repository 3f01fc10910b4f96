"""Per-record tolerance: a bad record of a file is skipped and named; the file still comes in.

Real exports hold a few bad records among thousands of good ones (a row whose date cannot be
read, a resource that fails FHIR validation). Every reader hands each record's reading to one
:class:`Tolerance` (``ReadOptions.tolerance``), and the import validates every resource through
it (:func:`checked`), so the rule is the same for every format:

* A record that cannot be read (a :class:`ParseError` or :class:`ValidationError` raised while
  reading *that record*) is skipped; the summary names it: the file and place (line, entry,
  member) and the rule it broke, never a value from it.
* More than half of a file's records bad: the file is not what it claims to be, and is refused
  whole (:data:`MOST`), naming the first bad record.
* Whatever is wrong with the file as a whole (not the format, broken JSON or XML syntax, a
  cap, a zip bomb, a truncated zip, not UTF-8) is raised where it is found, outside any
  record, and refuses the file as before.
* ``strict`` (``--strict``): the first bad record refuses the file with its own error, as every
  import did before tolerance.

What is stored is still one atomic batch per file: the good records, or nothing.

A resource that fails validation only in what is not clinical data (an empty narrative, a
claim that names no insurance) is repaired rather than skipped, and the notes say how many
(``_repair``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from healthlocker.connectors._repair import repaired
from healthlocker.errors import ConnectorError, InputFormatError, ParseError, ValidationError
from healthlocker.store import Item

T = TypeVar("T")
P = ParamSpec("P")

# A file is refused when more than this share of its records is bad.
MOST = 0.5


@dataclass(frozen=True)
class SkippedRecord:
    """One record left out of a file, and why: a place and a rule, never a value."""

    where: str  # the file and the place in it: a line, an entry, a member
    why: str


@dataclass
class Tolerance:
    """The bad records of one file: skipped and named, or (``strict``) refusing the file."""

    strict: bool = False
    read: int = 0  # records read, good or bad
    skipped: list[SkippedRecord] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)  # a repair → how many (``_repair``)
    first: ConnectorError | None = None  # the first bad record's error

    def attempt(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Read one record with ``work(*args, **kwargs)``; None if it is bad (and skipped)."""
        self.read += 1
        try:
            return work(*args, **kwargs)
        except (ParseError, ValidationError) as exc:
            self.skip(exc, counted=True)
            return None

    def skip(self, error: ConnectorError, *, counted: bool = False) -> None:
        """Leave out one bad record (*counted*: it was counted as read already); in strict
        mode, refuse the file with *error* instead."""
        if self.strict:
            raise error
        self.read += not counted
        self.first = self.first or error
        where = error.where or ""
        why = str(error).removeprefix(f"{where}: ") if where else str(error)
        self.skipped.append(SkippedRecord(where, why))

    def admit(
        self, resource: Any, where: str, validate: Callable[[Any, str], object] | None = None
    ) -> Any | None:
        """*resource* as the store may take it: valid FHIR R4 (by *validate*, else
        ``store.validate_resource``), or repaired (:func:`repaired`); None if it is skipped."""
        try:
            return repaired(resource, where, self.repaired, validate)
        except ValidationError as exc:
            self.skip(exc, counted=True)
            return None

    def verdict(self, label: str) -> None:
        """Refuse the file if more than half its records were bad (see :data:`MOST`)."""
        bad = len(self.skipped)
        if self.first is not None and bad == self.read == 1:
            raise self.first  # the file's one record: its own error says it best
        if bad and bad > self.read * MOST:
            first = self.skipped[0]
            article = "an" if label[:1] in "AEIOU" else "a"
            raise InputFormatError(
                f"{bad:,} of {self.read:,} records could not be read ({first.why}); with more "
                f"than half of them bad, this is not read as {article} {label}",
                where=first.where,
            )

    def notes(self) -> list[str]:
        return [f"repaired: {n:,} × {what}" for what, n in sorted(self.repaired.items())]


def checked(
    items: Iterator[Item], tolerance: Tolerance, label: str, *, validate: bool
) -> Iterator[Item]:
    """The items of one file as the store takes them: each validated (when *validate*),
    repaired or skipped as above; at the end, the file's verdict."""
    seen = 0
    for where, resource in items:
        seen += 1
        admitted = tolerance.admit(resource, where) if validate else resource
        if admitted is not None:
            yield where, admitted
    # A reader that does not count its records (it has no record of its own to skip) has
    # each item it yields counted here, so the share of bad ones is still a share.
    tolerance.read = max(tolerance.read, seen)
    tolerance.verdict(label)
