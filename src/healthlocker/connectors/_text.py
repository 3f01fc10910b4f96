"""Plain text from a document's bytes, by media type: HTML, RTF, PDF and text.

Run once, at import (see ``_documents``); nothing here runs what a document holds. HTML is read
with lxml's parser (already the project's XML library): only text nodes are taken, never an
attribute, and ``script``, ``style`` and the like are dropped whole, so event handlers, scripts
and styles never become text. RTF goes through striprtf and PDF through pypdf (both pure
Python and maintained). A PDF with no text layer (a scan) gives no text, and says so.

Limits: at most ``MAX_BYTES`` of a document are read, ``MAX_PAGES`` pages of a PDF, and the
text is cut at ``MAX_CHARS`` characters (a 50-page note is about 150,000).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 32 << 20
MAX_PAGES = 500
MAX_CHARS = 1 << 20
CUT = "[The rest of this document's text was left out: it is over the import's limit.]"

# Outcomes a document's text can have; the store keeps them with the document.
EXTRACTED, NO_TEXT_LAYER, UNREADABLE, TOO_LARGE, UNSUPPORTED = (
    "extracted",
    "no-text-layer",
    "unreadable",
    "too-large",
    "unsupported",
)

_HTML = frozenset({"text/html", "application/xhtml+xml"})
_RTF = frozenset({"text/rtf", "application/rtf"})
_PDF = frozenset({"application/pdf"})
_TEXT = frozenset({"text/plain", "text/markdown"})
# Elements whose content is never text a person reads.
_DROP = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "embed"}
    | {"svg", "math", "canvas", "button", "select", "option", "textarea", "input"}
)
_BLOCK = frozenset(
    {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table"}
    | {"section", "article", "header", "footer", "blockquote", "pre", "hr", "dl", "dt", "dd"}
    | {"caption", "thead", "tbody", "figure", "figcaption", "address", "main", "nav", "aside"}
)
_CELL = frozenset({"td", "th"})
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True)
class Extracted:
    """A document's text (None when it has none) and what came of reading it."""

    text: str | None
    outcome: str


def media_type(content_type: Any) -> str:
    """``text/html`` of ``text/html; charset=utf-8`` (lower case; empty when there is none)."""
    return str(content_type or "").split(";", 1)[0].strip().lower()


def supported(content_type: Any) -> bool:
    """Whether text can be taken from a document of this media type."""
    return media_type(content_type) in _HTML | _RTF | _PDF | _TEXT


def extract(content_type: Any, data: bytes) -> Extracted:
    """The text of *data*, a document of *content_type*."""
    kind = media_type(content_type)
    if len(data) > MAX_BYTES:
        return Extracted(None, TOO_LARGE)
    if kind in _PDF:
        return _pdf(data)
    if kind in _HTML:
        text = _html(data)
    elif kind in _RTF:
        text = _rtf(data)
    elif kind in _TEXT:
        text = data.decode(_charset(content_type), errors="replace")
    else:
        return Extracted(None, UNSUPPORTED)
    return _finished(text)


def _finished(text: str | None) -> Extracted:
    if text is None:
        return Extracted(None, UNREADABLE)
    text = _BLANKS.sub("\n\n", "\n".join(_SPACES.sub(" ", ln).strip() for ln in text.split("\n")))
    text = text.strip()
    if not text:
        return Extracted(None, NO_TEXT_LAYER)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n" + CUT
    return Extracted(text, EXTRACTED)


def _charset(content_type: Any) -> str:
    found = _CHARSET.search(str(content_type or ""))
    name = found.group(1) if found else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


# --- HTML -----------------------------------------------------------------------------------


def _html(data: bytes) -> str | None:
    from lxml import etree, html

    parser = html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, default_doctype=False
    )
    try:
        root = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    out: list[str] = []
    _walk(root, out)
    return "".join(out)


def _walk(el: Any, out: list[str]) -> None:
    """Text of *el* and its children in reading order; blocks on lines of their own, list
    items as ``- item``, a row's cells apart. Attributes are never read."""
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in _DROP or not tag:
        return
    if tag in _BLOCK:
        _newline(out)
    if tag == "li":
        out.append("- ")
    elif tag in _CELL and out and not out[-1].endswith("\n"):
        out.append(" | ")
    if el.text:
        out.append(el.text)
    for child in el:
        _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if tag in _BLOCK:
        _newline(out)


def _newline(out: list[str]) -> None:
    if out and not out[-1].endswith("\n"):
        out.append("\n")


# --- RTF and PDF ----------------------------------------------------------------------------


def _rtf(data: bytes) -> str | None:
    from striprtf import striprtf

    rtf_to_text: Callable[..., str] = striprtf.rtf_to_text  # the library has no annotations
    # RTF is 7-bit text with escapes for the rest; cp1252 is its usual code page.
    source = data.decode("cp1252", errors="replace")
    try:
        return rtf_to_text(source, errors="replace")
    except (ValueError, IndexError, LookupError):
        return None


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader

    pages: list[str] = []
    size = 0
    # pypdf raises many kinds of error on a broken file (its own, ValueError, KeyError ...)
    # and warns about repairs it makes: any of them means this file's text cannot be trusted
    # whole, and the document is kept as given.
    quiet = logging.getLogger("pypdf")
    level, quiet.level = quiet.level, logging.CRITICAL  # its repair messages are not ours to log
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if len(reader.pages) > MAX_PAGES:
                size = MAX_CHARS + 1  # so the text ends with the line saying it was cut
            for page in reader.pages[:MAX_PAGES]:
                text = page.extract_text() or ""
                pages.append(text)
                size += len(text)
                if size > MAX_CHARS:
                    break
    except Exception:
        return Extracted(None, UNREADABLE)
    finally:
        quiet.level = level
    done = _finished("\n\n".join(pages))
    if done.text is not None and size > MAX_CHARS and not done.text.endswith(CUT):
        return Extracted(done.text + "\n" + CUT, EXTRACTED)
    return done
