"""Documents' text, taken once at import and kept inside the document's own sealed record.

A ``DocumentReference`` whose content is HTML, RTF, a PDF or text in another encoding, and a
``DiagnosticReport`` whose ``presentedForm`` is, gets one more attachment: the text, as
``text/plain; charset=utf-8`` base64 ``data``, marked with the ``EXTRACTED_TEXT`` extension
(its value: the media type it was taken from). The original attachment stays as given. A
document whose text could not be taken carries the ``TEXT_OUTCOME`` extension instead
(``no-text-layer`` for a scanned PDF, ``unreadable``, ``too-large``, ``unsupported``). So the text
is sealed with the record, goes with it when its source is forgotten, and reading it later
costs no parsing. A document that already has plain UTF-8 text (a C-CDA document's narrative)
is left as it is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from healthlocker.connectors._text import EXTRACTED, extract, media_type, supported
from healthlocker.store import Item

EXTRACTED_TEXT = "https://healthlocker.dev/fhir/StructureDefinition/extracted-text"
TEXT_OUTCOME = "https://healthlocker.dev/fhir/StructureDefinition/text-outcome"
TEXT_PLAIN = "text/plain; charset=utf-8"

_PLACES = {"DocumentReference": "content", "DiagnosticReport": "presentedForm"}


def with_text(items: Iterator[Item], notes: list[str] | None = None) -> Iterator[Item]:
    """*items*, each document among them with its text added (see the module's doc); one line
    per kind of document whose text could not be taken goes to *notes* (no health data)."""
    said: set[str] = set()
    for where, resource in items:
        if resource.get("resourceType") in _PLACES:
            outcome = add_text(resource)
            if outcome not in (None, EXTRACTED) and notes is not None and outcome not in said:
                said.add(outcome)
                notes.append(f"documents with no text taken from them ({outcome}): kept as given")
        yield where, resource


def add_text(resource: dict[str, Any]) -> str | None:
    """Add the text of *resource*'s first readable attachment to it; the outcome, or None when
    there was nothing to do (no attachment with data, or plain UTF-8 text already there)."""
    place = _PLACES[str(resource["resourceType"])]
    entries = resource.get(place)
    if not isinstance(entries, list):
        return None
    attachments = [_attachment(e, place) for e in entries]
    found = [a for a in attachments if a is not None and isinstance(a.get("data"), str)]
    if not found or any(_is_text(a) for a in found):
        return None
    chosen = next((a for a in found if supported(a.get("contentType"))), found[0])
    try:
        data = base64.b64decode(chosen["data"], validate=False)
    except (binascii.Error, ValueError):
        data = None
    result = extract(chosen.get("contentType"), data) if data is not None else None
    if result is None or result.text is None:
        outcome = result.outcome if result is not None else "unreadable"
        resource.setdefault("extension", []).append({"url": TEXT_OUTCOME, "valueCode": outcome})
        return outcome
    raw = result.text.encode()
    text: dict[str, Any] = {
        "extension": [{"url": EXTRACTED_TEXT, "valueCode": media_type(chosen.get("contentType"))}],
        "contentType": TEXT_PLAIN,
        "data": base64.b64encode(raw).decode(),
        "size": len(raw),
    }
    if chosen.get("title"):
        text["title"] = chosen["title"]
    entries.append({"attachment": text} if place == "content" else text)
    return EXTRACTED


def _attachment(entry: Any, place: str) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    found = entry.get("attachment") if place == "content" else entry
    return found if isinstance(found, dict) else None


def _is_text(attachment: dict[str, Any]) -> bool:
    """Plain UTF-8 text already (what C-CDA's narrative and most notes are)."""
    kind = str(attachment.get("contentType") or "").lower().replace(" ", "")
    return media_type(kind) == "text/plain" and ("charset" not in kind or "charset=utf-8" in kind)
