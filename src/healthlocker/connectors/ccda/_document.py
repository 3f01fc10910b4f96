"""The document itself → one FHIR DocumentReference: what it is, when, by whom, and its text.

Every document is kept this way, whether its sections have entries or not: op notes, imaging
reports, progress notes and discharge summaries are mostly narrative, and a CCD's narrative is
what its authors signed. The text is the document's narrative as headed plain text (``#`` the
document's title, ``##`` a section's, ``###`` a subsection's; tables one line per row, see
``_narrative``), UTF-8, capped at ``MAX_TEXT`` characters. An unstructured body
(``nonXMLBody``) is kept as given: its media type and its bytes (PDF, RTF, text …).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from healthlocker.connectors.ccda._narrative import Narrative, lines
from healthlocker.connectors.ccda._types import (
    child,
    concept,
    identifier,
    local,
    period,
    plain,
    when,
)

MAX_TEXT = 1 << 20  # characters of a document's text kept (a 50-page note is about 150,000)
TEXT_PLAIN = "text/plain; charset=utf-8"
_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
_MEDIA = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_URI = re.compile(r"^[^\s<>\"]{1,2000}$")
_CUT = "[The rest of this document's text was left out: it is over the import's limit.]"


class Document:
    """What the header says about the document, and its text as it streams past."""

    def __init__(self) -> None:
        self.master: dict[str, str] | None = None
        self.code: dict[str, Any] | None = None
        self.title: str | None = None
        self.time: str | None = None
        self.authors: list[str] = []
        self.custodian: str | None = None
        self.events: list[dict[str, Any]] = []
        self.period: dict[str, str] | None = None
        self.lines: list[str] = []
        self.size = 0
        self.cut = False
        self.has_text = False  # narrative past the headings
        self.attachment: dict[str, Any] | None = None

    # -- the header ----------------------------------------------------------------------------

    def header(self, el: Any, narrative: Narrative) -> None:
        """Take what the document says of itself from one child of ``ClinicalDocument``."""
        name = local(el)
        if name == "id" and self.master is None:
            self.master = identifier(el)
        elif name == "code":
            self.code = concept(el, narrative)
        elif name == "title":
            self.title = plain(" ".join(lines(el)), 500)
            if self.title:
                self._add([f"# {self.title}"])
        elif name == "effectiveTime":
            self.time = when(el)
        elif name == "author" and len(self.authors) < 10:
            who = _author(el)
            if who and who not in self.authors:
                self.authors.append(who)
        elif name == "custodian":
            org = child(child(el, "assignedCustodian"), "representedCustodianOrganization")
            self.custodian = _name(child(org, "name"))
        elif name == "documentationOf":
            event = child(el, "serviceEvent")
            found = concept(child(event, "code"), narrative)
            if found and len(self.events) < 10:
                self.events.append(found)
            self.period = self.period or period(child(event, "effectiveTime"))
        elif name == "componentOf":
            encounter = child(el, "encompassingEncounter")
            self.period = self.period or period(child(encounter, "effectiveTime"))

    # -- the text ------------------------------------------------------------------------------

    def add(self, text: list[str]) -> None:
        """Lines of narrative text."""
        self.has_text = self.has_text or bool(text)
        self._add(text)

    def _add(self, text: list[str]) -> None:
        """Lines, up to the cap (past it, a last line says the rest was left out)."""
        for line in text:
            if self.cut:
                return
            if self.size + len(line) + 1 > MAX_TEXT:
                self.cut = True
                self.lines.append(_CUT)
                return
            self.lines.append(line)
            self.size += len(line) + 1

    def heading(self, level: int, title: str) -> None:
        self._add(["", "#" * min(level + 1, 6) + " " + title])

    def unstructured(self, body: Any) -> str | None:
        """Keep a ``nonXMLBody``'s content as given; a note when it cannot be kept."""
        text = child(body, "text")
        if text is None:
            return "unstructured bodies with no content"
        media = (text.get("mediaType") or "text/plain").strip()
        if not _MEDIA.match(media) or len(media) > 100:
            return "unstructured bodies with a media type that is not one"
        if text.get("compression"):
            return "compressed unstructured bodies"
        ref = child(text, "reference")
        if ref is not None and not (text.text or "").strip():
            target = (ref.get("value") or "").strip()
            self.attachment = {"contentType": media} if text.get("mediaType") else {}
            if _URI.match(target):
                self.attachment["url"] = target
            return "unstructured bodies that are a file outside the document (its name is kept)"
        if (text.get("representation") or "TXT").upper() == "B64":
            data = re.sub(r"\s+", "", text.text or "")
            try:
                size = len(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError):
                return "unstructured bodies that are not valid base64"
        else:
            raw = (text.text or "").encode()
            data, size = base64.b64encode(raw).decode(), len(raw)
        if not size:
            return "unstructured bodies with no content"
        self.attachment = {"contentType": media, "data": data, "size": size}
        return None

    # -- the resource --------------------------------------------------------------------------

    def resource(self, patient: str) -> dict[str, Any] | None:
        """The DocumentReference (its id is the caller's), or None with nothing to keep."""
        attachment = self.attachment if self.attachment is not None else self._text()
        if self.title and attachment is not None:
            attachment["title"] = self.title
        if not attachment:
            return None
        r: dict[str, Any] = {"resourceType": "DocumentReference", "id": ""}
        if self.master:
            r["masterIdentifier"] = self.master
        r["status"] = "current"
        if self.code:
            r["type"] = self.code
        r["category"] = [
            {"coding": [{"system": _CATEGORY, "code": "clinical-note", "display": "Clinical Note"}]}
        ]
        r["subject"] = {"reference": patient}
        if self.time and "T" in self.time:  # an instant: a time with its UTC offset
            r["date"] = self.time
        if self.authors:
            r["author"] = [{"display": a} for a in self.authors]
        if self.custodian:
            r["custodian"] = {"display": self.custodian}
        if self.title:
            r["description"] = self.title
        r["content"] = [{"attachment": attachment}]
        context: dict[str, Any] = {}
        if self.events:
            context["event"] = self.events
        span = self.period or ({"start": self.time} if self.time else None)
        if span:
            context["period"] = span
        if context:
            r["context"] = context
        return r

    def _text(self) -> dict[str, Any] | None:
        if not self.has_text:  # headings alone are not a document
            return None
        raw = "\n".join(self.lines).strip().encode()
        return {
            "contentType": TEXT_PLAIN,
            "data": base64.b64encode(raw).decode(),
            "size": len(raw),
        }


def _name(el: Any) -> str | None:
    if el is None:
        return None
    return plain(" ".join(t.strip() for t in el.itertext() if t.strip()), 200)


def _author(el: Any) -> str | None:
    """The author's name: a person, else their organisation, else the authoring software."""
    who = child(el, "assignedAuthor")
    person = _name(child(child(who, "assignedPerson"), "name"))
    org = _name(child(child(who, "representedOrganization"), "name"))
    device = _name(child(child(who, "assignedAuthoringDevice"), "softwareName"))
    if person and org:
        return f"{person} ({org})"
    return person or org or device
