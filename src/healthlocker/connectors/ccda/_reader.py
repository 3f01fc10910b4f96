"""C-CDA documents (the "download my record" XML of patient portals) → FHIR R4 resources.

The document is streamed: an lxml pull parser is fed 1 MiB at a time, and each section
``<entry>`` is mapped (``_sections`` says by what) as soon as it ends, then cleared, so memory
follows one entry and the narrative text that entries refer to, not the document. The patient
comes from the header (``recordTarget``), which C-CDA puts before the body. A quick first pass
(``_scan``) finds the entry ids that several statements share, before the first entry is
mapped. The document itself, with its narrative as plain text, becomes a DocumentReference
(``_document``) at the end.

Hardened like every XML reader here: no entity resolution, no DTD loading, no network, no
huge-tree mode; a DOCTYPE or ENTITY declaration is refused before any of it reaches the parser
(C-CDA documents never have one), and size, nesting, entries and kept narrative are capped.
Errors name the file and the place (line and element); a document the mapping cannot use at
all is refused, and the store's batch rolls back, so nothing of it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from healthlocker.connectors._read import Head, ReadOptions, ensure_unchanged
from healthlocker.connectors.apple._reader import describe
from healthlocker.connectors.apple._xml import _syntax_message
from healthlocker.connectors.ccda._document import Document
from healthlocker.connectors.ccda._map import Context
from healthlocker.connectors.ccda._narrative import Narrative, lines
from healthlocker.connectors.ccda._patient import patient, patient_id
from healthlocker.connectors.ccda._scan import shared_ids
from healthlocker.connectors.ccda._sections import Section, find
from healthlocker.connectors.ccda._types import local, plain, pull_parser, tag
from healthlocker.errors import (
    InputFormatError,
    LimitError,
    ParseError,
    ValidationError,
)
from healthlocker.store import Item, validate_resource

CHUNK = 1 << 20
MAX_BYTES = 256 * 2**20  # real documents are kilobytes to a few megabytes
MAX_DEPTH = 100  # entries nest about 20 deep; libxml2's own limit is 256
MAX_ENTRIES = 1_000_000
MAX_NARRATIVE = 64 * 2**20  # characters of section narrative kept for references
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s>/]")
_NS = b"urn:hl7-org:v3"
_PROLOG = re.compile(rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*", re.S)

_SECTION, _ENTRY, _TEXT = tag("section"), tag("entry"), tag("text")
_TEMPLATE, _CODE, _RECORD_TARGET = tag("templateId"), tag("code"), tag("recordTarget")
_TITLE, _NON_XML_BODY = tag("title"), tag("nonXMLBody")


def looks_like(head: bytes) -> bool:
    """Whether the first bytes are a CDA document: a ``ClinicalDocument`` root element (after
    any BOM, XML declaration, comments) in the ``urn:hl7-org:v3`` namespace."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    start = _PROLOG.match(text)
    rest = text[start.end() if start else 0 :]
    return _ROOT.match(rest) is not None and _NS in rest[:4096]


def sniff(head: Head) -> bool:
    return looks_like(head.data)


def read_ccda(path: Path, options: ReadOptions) -> Iterator[Item]:
    """The resources of one C-CDA document, each validated (``store.validate_resource``): its
    Patient, what its entries record, and the document itself as a DocumentReference;
    ``options.notes`` gets what was left out and why."""
    where = str(path)
    if path.stat().st_size > MAX_BYTES:
        raise LimitError(
            f"a C-CDA document over {MAX_BYTES // 2**20} MiB (real ones are a few MiB)",
            where=where,
        )
    ensure_unchanged(path, options)
    stream = _Stream(where, path)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield from stream.feed(chunk)
            if options.progress is not None:
                options.progress(len(chunk))
    yield from stream.close()
    options.notes.extend(describe(stream.skipped))


@dataclass
class _Section:
    el: Any
    level: int  # 1 for a section of the body, 2 for one inside it …
    templates: list[str] = field(default_factory=list)
    code: str | None = None
    entries: int = 0
    headed: bool = False

    @property
    def kind(self) -> Section | None:
        return find(self.templates, self.code)

    @property
    def name(self) -> str:
        if self.kind is not None:
            return self.kind.name
        return f"LOINC {self.code[:20]}" if self.code else "uncoded"

    @property
    def which(self) -> str:
        """The section in a sentence: "the plan of care", "a LOINC 10164-2", "an uncoded"."""
        if self.kind is not None:
            return f"the {self.name}"
        return f"a {self.name}" if self.code else f"an {self.name}"


class _Stream:
    """The pull parser and what it has seen: open sections, the patient, the document, counts."""

    def __init__(self, where: str, path: Path) -> None:
        self.where = where
        self.path = path
        self.parser = pull_parser(events=("start", "end"))
        self.depth = 0
        self.rooted = False
        self.head = b""
        self.offset = 0
        self.lines = 1
        self.sections: list[_Section] = []
        self.narrative = Narrative(MAX_NARRATIVE)
        self.document = Document()
        self.ctx: Context | None = None
        self.scanned = False
        self.entries = 0
        self.seen: set[tuple[str, str]] = set()
        self.skipped: dict[str, int] = {}
        self.invalid_at: str | None = None

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> Iterator[Item]:
        if not self.rooted:
            self._check_prolog(chunk)
        try:
            self.parser.feed(chunk)
            self.lines += chunk.count(b"\n")
            yield from self._events()
        except etree.XMLSyntaxError as exc:
            raise ParseError(_syntax_message(exc, False), where=self.where) from None
        self.offset += len(chunk)

    def close(self) -> Iterator[Item]:
        if self.offset == 0:
            raise ParseError("the file is empty", where=self.where)
        try:
            self.parser.close()
            yield from self._events()
        except etree.XMLSyntaxError as exc:
            # A small document is one chunk, so all of its errors surface here: it is cut short
            # only if the error is on its last line.
            err = exc.error_log.last_error if exc.error_log else None
            line = err.line if err is not None else exc.position[0]
            raise ParseError(_syntax_message(exc, line >= self.lines), where=self.where) from None
        if self.ctx is None:
            raise InputFormatError(
                "no patient (recordTarget/patientRole) in the header: a document about no one "
                "cannot be kept",
                where=self.where,
            )
        yield from self._document(self.ctx)
        if self.narrative.full:
            self.skip("narrative text past the cap (references to it were left unresolved)")
        if self.invalid_at:
            self.skip(f"first entry that did not map to valid FHIR R4: {self.invalid_at}")

    def _check_prolog(self, chunk: bytes) -> None:
        """Refuse entity declarations before the parser sees them, and text that is not in an
        ASCII-compatible encoding (which would hide them from this check)."""
        self.head = (self.head + chunk)[-(2 << 20) :]
        if self.head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in self.head[:512]:
            raise InputFormatError(
                "not UTF-8 text (UTF-16 or UTF-32?): save the document as UTF-8", where=self.where
            )
        if _DECLARATION.search(self.head):
            raise LimitError(
                "the document declares a DOCTYPE or entities; C-CDA documents have neither, "
                "and they are refused (entity expansion and external entities)",
                where=f"{self.where}: before the root element",
            )

    def skip(self, what: str, n: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + n

    # -- events --------------------------------------------------------------------------------

    def _events(self) -> Iterator[Item]:
        for event, el in self.parser.read_events():
            if event == "start":
                self._start(el)
            else:
                yield from self._end(el)

    def _start(self, el: Any) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(
                f"elements nested more than {MAX_DEPTH} levels deep",
                where=f"{self.where}: line {el.sourceline}",
            )
        if self.depth == 1:
            if el.tag != tag("ClinicalDocument"):
                raise InputFormatError(
                    f"not a C-CDA document: the root element is <{str(el.tag)[:80]}>, not "
                    "<ClinicalDocument> in the urn:hl7-org:v3 namespace",
                    where=f"{self.where}: line {el.sourceline}",
                )
            self.rooted = True
        elif el.tag == _SECTION:
            self.sections.append(_Section(el, level=len(self.sections) + 1))

    def _end(self, el: Any) -> Iterator[Item]:
        self.depth -= 1
        section = self.sections[-1] if self.sections else None
        if section is not None and el.getparent() is section.el:
            yield from self._in_section(el, section)
        elif el.tag == _SECTION and section is not None:
            self._close_section(section)
        elif el.tag == _RECORD_TARGET and self.depth == 1:
            yield from self._patient(el)
        elif el.tag == _NON_XML_BODY and self.depth == 2:
            note = self.document.unstructured(el)
            if note:
                self.skip(note)
            el.clear()
        elif self.depth == 1 and el.tag != tag("component"):
            self.document.header(el, self.narrative)
            el.clear()  # the rest of the header is not kept

    def _in_section(self, el: Any, section: _Section) -> Iterator[Item]:
        if el.tag == _TEMPLATE:
            section.templates.append((el.get("root") or "").strip())
        elif el.tag == _CODE:
            section.code = (el.get("code") or "").strip() or None
        elif el.tag == _TITLE:
            title = plain(" ".join(lines(el)), 500)
            if title:
                self.document.heading(section.level, title)
                section.headed = True
        elif el.tag == _TEXT:
            self.narrative.collect(el)
            if not section.headed and section.kind is not None:
                self.document.heading(section.level, section.kind.name.capitalize())
                section.headed = True
            self.document.add(lines(el))
            el.clear()
        elif el.tag == _ENTRY:
            section.entries += 1
            yield from self._entry(el, section)
            el.clear()
            while el.getprevious() is not None:  # drop what is done: memory stays flat
                del section.el[0]

    def _close_section(self, section: _Section) -> None:
        self.sections.pop()
        kind = section.kind
        if (kind is None or kind.mapper is None) and section.entries:
            self.skip(
                f"entries of {section.which} section (its text is kept with the document)",
                section.entries,
            )
        section.el.clear()

    def _patient(self, el: Any) -> Iterator[Item]:
        role = el.find(tag("patientRole"))
        if self.ctx is not None or role is None:
            self.skip("further recordTargets (one patient per document is read)")
            return
        self.ctx = Context(
            patient=f"Patient/{patient_id(role)}",
            narrative=self.narrative,
            skipped=self.skipped,
            document_time=self.document.time,
        )
        resource = patient(role, self.narrative)
        validate_resource(resource, where=self._place(role))
        el.clear()
        yield self._place(role), resource

    def _entry(self, el: Any, section: _Section) -> Iterator[Item]:
        kind = section.kind
        statement = next((x for x in el if isinstance(x.tag, str)), None)
        if kind is None or kind.mapper is None or statement is None:
            return
        if self.ctx is None:
            raise InputFormatError(
                "no patient (recordTarget/patientRole) in the header before the first entry",
                where=self._place(statement),
            )
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise LimitError(f"over {MAX_ENTRIES:,} entries", where=self._place(statement))
        if not self.scanned:
            self.ctx.shared = shared_ids(self.path)
            self.scanned = True
        place = self._place(statement)
        if statement.get("nullFlavor"):  # the whole statement is "no information"
            self.skip("entries that are a nullFlavor (no information)")
            return
        for resource in kind.mapper(statement, self.ctx):
            yield from self._checked(resource, place)

    def _checked(self, resource: dict[str, Any], place: str) -> Iterator[Item]:
        """*resource*, once: valid FHIR R4 and not yet given (same type and id: same content)."""
        key = (resource["resourceType"], resource["id"])
        if key in self.seen:
            self.skip("entries the document repeats word for word (kept once)")
            return
        try:
            validate_resource(resource, where=place)
        except ValidationError as exc:
            self.skip("entries that did not map to valid FHIR R4")
            self.invalid_at = self.invalid_at or str(exc)
            return
        self.seen.add(key)
        yield place, resource

    def _document(self, ctx: Context) -> Iterator[Item]:
        resource = self.document.resource(ctx.patient)
        if resource is None:
            self.skip("a document with no text and no unstructured body (no DocumentReference)")
            return
        if self.document.cut:
            self.skip("document text past the cap (the DocumentReference holds the first part)")
        yield from self._checked(ctx.identify(resource, None), f"{self.where}: the document")

    def _place(self, el: Any) -> str:
        return f"{self.where}: line {el.sourceline} <{local(el)}>"
