"""What every reader is given and shares: one signature for every format.

A reader is ``read(path, options) -> Iterator[Item]``: it streams ``(where, resource)`` items
out of one file, and *options* carries everything else: progress, the digest the bytes must
have (when a worker validated them ahead, see ``_ahead``), the notes list it adds what it left
out to, the :class:`Tolerance` every record is read through (``_tolerance``: a bad record is
skipped and named, or with ``--strict`` refuses the file), and the options of some formats
(MyFitnessPal's weight unit, a CGM export's time zone, a SMART Health Link's passcode). Light on
purpose: the registry, every reader and the Apple Health reader process import it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from healthlocker.connectors._tolerance import Tolerance
from healthlocker.errors import ParseError

CHUNK = 1 << 20
HEAD_BYTES = 64 * 1024
# How every XML reader's lxml parser is hardened: no entity resolution, no DTD, no network, no
# huge-tree mode (libxml2's own limits on text size stay), no ID table.
XML_HARDENED = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "collect_ids": False,
}
Progress = Callable[[int], None]  # bytes read since the last call


@dataclass(frozen=True)
class LinkAccess:
    """What importing a SMART Health Link may need of the person (see ``shl._reader``)."""

    # Asked for a link's passcode when HEALTHLOCKER_SHL_PASSCODE is not set (the CLI's prompt).
    ask_passcode: Callable[[str], str] | None = None
    # Import SMART Health Cards whose issuer's keys cannot be had (never a bad signature).
    unverified: bool = False
    recipient: str = "healthlocker"


@dataclass
class ReadOptions:
    """Everything a reader takes besides the path."""

    progress: Progress | None = None
    # The SHA-256 the bytes read must have (they were validated ahead); a changed file fails.
    expect: bytes | None = None
    # What the reader left out, and why, or chose (say, a unit): one line each, no health data.
    notes: list[str] = field(default_factory=list)
    # The bad records of the file: each skipped and named, or (strict) refusing the file.
    tolerance: Tolerance = field(default_factory=Tolerance)
    # MyFitnessPal: the unit of its weights, kg or lb (None: the export's own, else lb).
    weight_unit: str | None = None
    # CGM exports: the IANA time zone of their local times (None: this computer's).
    time_zone: str | None = None
    # A link given in place of a file (``shlink:/…``): read instead of the path's bytes.
    link: str | None = None
    # SMART Health Links: how to get a passcode, and whether unverifiable cards may come in.
    shl: LinkAccess = field(default_factory=LinkAccess)
    # Set by a reader whose input is fetched (a link): the SHA-256 of what it fetched, which
    # then says "imported already" as a file's digest does. Set before the batch opens.
    digest: bytes | None = None


def file_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.digest()


def changed(where: str) -> ParseError:
    return ParseError("the file changed while it was being imported; import it again", where=where)


def ensure_unchanged(path: Path, options: ReadOptions) -> None:
    """Refuse a file whose bytes are no longer those validated ahead (``options.expect``)."""
    if options.expect is not None and file_digest(path) != options.expect:
        raise changed(str(path))


def file_chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if progress is not None:
                progress(len(chunk))
            yield chunk


@dataclass(frozen=True)
class Head:
    """The first bytes of a file, which its format is told by (see ``Format.fits``)."""

    path: Path
    data: bytes

    @classmethod
    def of(cls, path: Path) -> Head:
        with path.open("rb") as f:
            return cls(path, f.read(HEAD_BYTES))

    @cached_property
    def kind(self) -> str:
        """What the file is at heart: ``zip``, ``xml``, ``json``, ``ndjson`` or ``text``."""
        return kind_of(self.data)


def kind_of(head: bytes) -> str:
    """Guess the container from the first bytes: ``json``, ``ndjson``, ``xml``, ``zip`` or
    ``text`` (anything else: a CSV, or not a format at all)."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"["):
        return "json"  # JSON, though not FHIR; the reader says so
    if not text.startswith(b"{"):
        return "text"
    first, sep, rest = text.partition(b"\n")
    if sep and rest.strip():
        try:
            json.loads(first)
        except ValueError:
            return "json"
        return "ndjson"
    return "json"
