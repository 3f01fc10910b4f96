"""Documents whose content is given only as a ``url``: fetched during the sync, then extracted
like inline data (``connectors._documents.with_text``).

A ``DocumentReference.content.attachment`` or ``DiagnosticReport.presentedForm`` with a ``url``
and no ``data`` is fetched with the sync's client, so by the same rules as every request (the
approved origin, checked addresses, the token only there), at most ``MAX_BYTES`` (the cap on a
document's size for its text). One attachment per document: plain text first, else the first of
a kind whose text can be taken, else the first. A url on another origin is not fetched (and a
redirect leaving the origin is not followed); a refusal, an answer over the cap or one that
cannot be read leaves the document as it was. Each outcome is counted for ``sync --json``:
``fetched``, ``other-origin``, ``refused``, ``too-large``, ``unreadable``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import httpx2

from healthlocker.connectors._documents import attachments_of
from healthlocker.connectors._text import MAX_BYTES, media_type, supported
from healthlocker.connectors.smart._answers import Refusal
from healthlocker.connectors.smart._http import FhirHttp, TooLarge
from healthlocker.connectors.smart._origin import normalise_url
from healthlocker.errors import OriginError, SyncError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
WHAT = "a document's attachment"  # the label in errors: never the url (it may name the patient)


class Attachments:
    """Fills url-only attachments in place, counting what came of each."""

    def __init__(self, http: FhirHttp) -> None:
        self.http = http
        self.outcomes: dict[str, int] = {}

    def fill(self, resource: dict[str, Any]) -> None:
        """Fetch the data of *resource*'s url-only attachment, if it is a document with one."""
        found = attachments_of(resource)
        if any(isinstance(a.get("data"), str) for a in found):
            return  # inline data already: extracted as it is
        candidates = sorted(
            (a for a in found if isinstance(a.get("url"), str) and a["url"]), key=_preference
        )
        for attachment in candidates:
            outcome = self._fetch(attachment)
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            if outcome == "fetched":
                return

    def _fetch(self, attachment: dict[str, Any]) -> str:
        ref = str(attachment["url"])
        if _SCHEME.match(ref) and not ref.lower().startswith(("http://", "https://")):
            return "unreadable"  # urn:, cid:, data: … name no place to fetch from
        try:
            url = normalise_url(self.http.url(ref), WHAT)
        except (httpx2.InvalidURL, SyncError):
            return "unreadable"
        if not self.http.origin.allows(url):
            return "other-origin"  # not asked: nothing, not even the token, goes there
        try:
            answer = self.http.fetch_bytes(url, what=WHAT, cap=MAX_BYTES)
        except OriginError:
            return "other-origin"  # a redirect away from the origin, or a private address
        except TooLarge:
            return "too-large"
        if isinstance(answer, Refusal):
            return "refused"
        found = _content(answer.content, answer.headers.get("content-type"))
        if found is None:
            return "unreadable"
        data, content_type = found
        if len(data) > MAX_BYTES:
            return "too-large"
        attachment["data"] = base64.b64encode(data).decode()
        if content_type and not attachment.get("contentType"):
            attachment["contentType"] = content_type
        return "fetched"


def _content(body: bytes, header: str | None) -> tuple[bytes, str | None] | None:
    """The bytes and media type of an answer: a FHIR ``Binary`` (what a FHIR server answers
    to ``Accept: application/fhir+json``) is opened; anything else is the content itself."""
    if "json" in media_type(header):
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict) and doc.get("resourceType") == "Binary":
            try:
                data = base64.b64decode(str(doc.get("data") or ""), validate=False)
            except (binascii.Error, ValueError):
                return None
            kind = doc.get("contentType")
            return data, kind if isinstance(kind, str) else None
    return body, header


def _preference(attachment: dict[str, Any]) -> int:
    kind = attachment.get("contentType")
    if media_type(kind) == "text/plain":
        return 0
    return 1 if supported(kind) else 2
