"""What a stored document is and says: its kind, its text, its pages and its sections.

Documents are ``DocumentReference``s and the ``DiagnosticReport``s that carry words (a
``conclusion`` or a ``presentedForm``: imaging, pathology, lab narrative). Their text was taken
at import (``connectors._documents``): it is the attachment in plain UTF-8 text, so reading it
costs a base64 decode and no parsing.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from healthlocker.records._common import (
    LOINC,
    as_dict,
    clean,
    codes_of,
    concept_name,
    names_of,
)

# Written by connectors._documents (a test pins that the two agree).
TEXT_OUTCOME = "https://healthlocker.dev/fhir/StructureDefinition/text-outcome"
PAGE_CHARS = 4000  # about 1,000 tokens a page
KINDS = ("note", "discharge summary", "imaging", "pathology", "operative", "other")

# LOINC document types (and the LOINC codes imaging and pathology reports carry) by kind.
_BY_LOINC = {
    "discharge summary": {"18842-5", "11490-0", "28655-9", "34105-7", "59258-4"},
    "imaging": {"18748-4", "18782-3", "18726-0", "24725-4", "30746-2", "36643-5", "24627-2"},
    "pathology": {"11526-1", "60567-5", "60568-3", "11529-5", "22634-0", "33717-0", "66117-3"},
    "operative": {"11504-8", "28570-0", "34137-0", "34874-4", "59772-4"},
    "note": {"11506-3", "34117-2", "11488-4", "34109-9", "34746-8", "57133-1", "18761-7"}
    | {"51845-6", "51847-2", "34133-9", "11492-6", "68608-9", "28569-2", "47039-3"},
}
# DiagnosticReport categories (HL7 v2 diagnostic service sections, LOINC parts) by kind.
_BY_CATEGORY = {
    "imaging": {"RAD", "CT", "MR", "US", "NMR", "NMS", "RX", "VUS", "OUS", "LP29684-5", "CUS"},
    "pathology": {"PAT", "SP", "CP", "CG", "LP7839-6"},
}
_BY_WORDS = (
    ("discharge summary", re.compile(r"\bdischarge\b", re.I)),
    ("operative", re.compile(r"\b(operative|op(eration)? note|surgical|procedure note)\b", re.I)),
    ("pathology", re.compile(r"\b(pathology|biopsy|cytology)\b", re.I)),
    (
        "imaging",
        re.compile(
            r"\b(radiology|imaging|x-?ray|mri|ct|ultrasound|mammogra\w*|echo\w*|scan)\b", re.I
        ),
    ),
    ("note", re.compile(r"\b(note|history and physical|h&p|consult\w*|progress)\b", re.I)),
)
_HEADING = re.compile(r"^(#{1,6}) +(.{1,200})$", re.M)

NO_TEXT_WORDS = {
    "no-text-layer": "no text layer (a scanned document: only the image was kept)",
    "unreadable": "its file could not be read for text (kept as given)",
    "too-large": "its file is over the import's size limit for text (kept as given)",
    "unsupported": "its file type holds no text that can be read (kept as given)",
}


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    page: int


class StoredDocument:
    """One document's words, read from its stored resource on first use."""

    def __init__(self, resource: dict[str, Any]) -> None:
        self.resource = resource
        self.rtype = str(resource.get("resourceType"))

    @property
    def title(self) -> str | None:
        r = self.resource
        if self.rtype == "DiagnosticReport":
            return concept_name(r.get("code"))
        for value in (r.get("description"), *(a.get("title") for a in self._attachments())):
            if value:
                return clean(value)
        return concept_name(r.get("type"))

    @property
    def kind(self) -> str:
        """note, discharge summary, imaging, pathology, operative or other."""
        r = self.resource
        codes = codes_of(r.get("type"), LOINC) | codes_of(r.get("code"), LOINC)
        for kind, known in _BY_LOINC.items():
            if codes & known:
                return kind
        for category in r.get("category") or ():
            found = codes_of(category)
            for kind, known in _BY_CATEGORY.items():
                if found & known:
                    return kind
        words = " ".join(
            [*names_of([r.get("type"), r.get("code")]), str(r.get("description") or "")]
        )
        return next((kind for kind, pattern in _BY_WORDS if pattern.search(words)), "other")

    def _attachments(self) -> list[dict[str, Any]]:
        r = self.resource
        if self.rtype == "DiagnosticReport":
            return [as_dict(a) for a in r.get("presentedForm") or ()]
        return [as_dict(as_dict(c).get("attachment")) for c in r.get("content") or ()]

    @cached_property
    def text(self) -> str:
        """The document's words ('' when it has none): a report's conclusion first."""
        parts = []
        if self.rtype == "DiagnosticReport" and self.resource.get("conclusion"):
            parts.append(f"Conclusion: {self.resource['conclusion']}")
        for attachment in self._attachments():
            kind = str(attachment.get("contentType") or "").lower().replace(" ", "")
            plain = kind.split(";")[0] == "text/plain"
            if plain and ("charset" not in kind or "charset=utf-8" in kind):
                words = _decoded(attachment.get("data"))
                if words:
                    parts.append(words)
                    break
        return "\n\n".join(parts).strip()

    @property
    def no_text(self) -> str | None:
        """Why the document has no text, in words; None when it has some."""
        if self.text:
            return None
        for ext in self.resource.get("extension") or ():
            if as_dict(ext).get("url") == TEXT_OUTCOME:
                return NO_TEXT_WORDS.get(str(ext.get("valueCode")), "no text was taken from it")
        if any(a.get("url") and not a.get("data") for a in self._attachments()):
            return "its file is elsewhere (only its address was kept)"
        return "no text"

    @cached_property
    def pages(self) -> list[tuple[int, int]]:
        """Where each page begins and ends: about ``PAGE_CHARS`` characters, cut at a line."""
        text, out, start = self.text, [], 0
        while start < len(text):
            end = min(start + PAGE_CHARS, len(text))
            if end < len(text):
                cut = text.rfind("\n", start + PAGE_CHARS // 2, end)
                end = cut + 1 if cut > 0 else end
            out.append((start, end))
            start = end
        return out or [(0, 0)]

    def page(self, number: int) -> str:
        start, end = self.pages[number - 1]
        return self.text[start:end]

    def sections(self) -> list[Section]:
        """The headings of the text (a C-CDA document's sections), with the page of each."""
        found, pages, index = [], self.pages, 0
        for match in _HEADING.finditer(self.text):
            while index < len(pages) - 1 and match.start() >= pages[index][1]:
                index += 1
            found.append(Section(match.group(2).strip(), len(match.group(1)), index + 1))
        return found


def _decoded(data: Any) -> str:
    if not isinstance(data, str):
        return ""
    try:
        return base64.b64decode(data).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


def is_document(resource: dict[str, Any]) -> bool:
    """A DocumentReference, or a DiagnosticReport with words (not only a list of results)."""
    if resource.get("resourceType") == "DocumentReference":
        return resource.get("status") != "entered-in-error"
    return resource.get("status") != "entered-in-error" and bool(
        resource.get("conclusion") or resource.get("presentedForm")
    )
