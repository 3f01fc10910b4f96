"""The CDA narrative block (a section's ``<text>``) as plain text.

Two uses: entries point into it (``<reference value="#id">``), so the ``ID``-bearing parts are
kept for :meth:`Narrative.resolve`, with the cells of table rows under their column headers
(a medication's row gives its "Directions" cell); and the whole document is kept as headed
plain text (see ``_document``), flattened here: tables become one line per row ("Header:
value; Header: value"), lists "- item" lines, paragraphs and line breaks their own lines. Only
text nodes are read, so no markup, style or script comes through, and ``script``/``style``
elements (which CDA does not have, but a hostile document might) are skipped whole.
"""

from __future__ import annotations

import re
from typing import Any

from healthlocker.connectors.ccda._types import child, local, plain

_WHITESPACE = re.compile(r"\s+")
_SKIP = frozenset({"script", "style", "renderMultiMedia"})
_BLOCKS = frozenset({"paragraph", "caption", "item", "tr", "footnote", "thead", "tbody", "tfoot"})
Row = list[tuple[str, str]]


class Narrative:
    """The ``ID``-bearing elements of section narratives, for ``<reference value="#…">``."""

    def __init__(self, cap: int) -> None:
        self.texts: dict[str, str] = {}
        self.rows: dict[str, Row] = {}  # row ID → (column header, cell text)
        self.cap = cap  # characters kept in all, so a hostile narrative cannot fill memory
        self.size = 0
        self.full = False

    def collect(self, text: Any) -> None:
        headers: dict[Any, list[str]] = {}  # per table, worked out once (tables can be long)
        for el in text.iter():
            key = el.get("ID") if isinstance(el.tag, str) else None
            if not key or local(el) in _SKIP:
                continue
            value = plain(inline(el))
            if value is None:
                continue
            if self.size + len(value) > self.cap:
                self.full = True
                return
            self.texts[key] = value
            self.size += len(value) + len(key)
            if local(el) == "tr":
                row = _headed_row(el, headers)
                if row:
                    self.rows[key] = row

    def resolve(self, el: Any) -> str | None:
        """Text of *el*: its own text where it has some (``<text>take one daily<reference
        value="#sig"/></text>``), else its ``<reference value="#id">`` resolved."""
        if el is None:
            return None
        own = plain(_own_text(el))
        if own is not None:
            return own
        target = reference(el)
        return self.texts.get(target) if target else None

    def row(self, el: Any) -> Row | None:
        """The headed cells of the table row *el* refers to, or None."""
        target = reference(el)
        return self.rows.get(target) if target else None


def reference(el: Any) -> str | None:
    """The local target (without ``#``) of *el*'s ``<reference value="#…">``, or None."""
    ref = child(el, "reference")
    value = (ref.get("value") or "") if ref is not None else ""
    return value[1:] if value.startswith("#") and len(value) > 1 else None


def _own_text(el: Any) -> str:
    """*el*'s text outside its ``<reference>`` children."""
    parts = [el.text or ""]
    for ch in el:
        if isinstance(ch.tag, str) and local(ch) != "reference":
            parts.append(inline(ch))
        parts.append(ch.tail or "")
    return "".join(parts)


# --- plain text ------------------------------------------------------------------------------


class _Lines:
    """Plain-text lines being built: inline text joins the current line, blocks end it."""

    def __init__(self, bullets: bool) -> None:
        self.bullets = bullets
        self.lines: list[str] = []
        self.current: list[str] = []

    def text(self, value: str | None) -> None:
        if value:
            self.current.append(_WHITESPACE.sub(" ", value))

    def end(self) -> None:
        line = "".join(self.current).strip()
        if line:
            self.lines.append(line)
        self.current = []


def lines(el: Any, *, bullets: bool = True) -> list[str]:
    """The narrative element *el* as plain-text lines (list items as "- item" lines)."""
    out = _Lines(bullets)
    _walk(el, out, top=True)
    out.end()
    return out.lines


def inline(el: Any) -> str:
    """The narrative element *el* as one line (a table cell, a referenced text)."""
    return " ".join(lines(el, bullets=False))


def _walk(el: Any, out: _Lines, *, top: bool = False) -> None:
    name = local(el)
    if name in _SKIP:
        return
    if name in ("table", "tr", "br"):
        out.end()
        if name == "table":
            out.lines.extend(_table(el))
        elif name == "tr":  # a row outside a table's walk: an entry's reference to it
            out.text("; ".join(c for c in _cells(el) if c))
            out.end()
        return
    block = name in _BLOCKS or name == "list"
    if block:
        out.end()
    if name == "item" and not top and out.bullets:  # an item on its own is its text alone
        out.text("- ")
    out.text(el.text)
    for ch in el:
        if isinstance(ch.tag, str):
            _walk(ch, out)
        out.text(ch.tail)
    if block:
        out.end()


def _cells(tr: Any) -> list[str]:
    return [inline(c) for c in tr if isinstance(c.tag, str) and local(c) in ("td", "th")]


def _rows(table: Any) -> list[Any]:
    """The table's own rows (not those of tables nested in its cells), in order."""
    out = []
    for part in table:
        if not isinstance(part.tag, str):
            continue
        if local(part) == "tr":
            out.append(part)
        elif local(part) in ("thead", "tbody", "tfoot"):
            out.extend(r for r in part if isinstance(r.tag, str) and local(r) == "tr")
    return out


def _headers(table: Any) -> list[str]:
    """Column headers: the ``thead`` row, or a first row of ``th`` cells only."""
    rows = _rows(table)
    head = child(table, "thead")
    first = rows[0] if rows else None
    if head is None and (
        first is None or any(local(c) != "th" for c in first if isinstance(c.tag, str))
    ):
        return []
    header_row = child(head, "tr") if head is not None else first
    return _cells(header_row) if header_row is not None else []


def _table(table: Any) -> list[str]:
    """One line per row: "Header: value; …" under column headers, else "value | value"."""
    out = [
        plain(inline(c)) or "" for c in table if isinstance(c.tag, str) and local(c) == "caption"
    ]
    headers = _headers(table)
    head = child(table, "thead")
    header_rows = set(head) if head is not None else set(_rows(table)[:1] if headers else [])
    for tr in _rows(table):
        if tr in header_rows:
            continue
        cells = _cells(tr)
        if headers and len(headers) == len(cells):
            line = "; ".join(
                f"{h}: {c}" if h else c for h, c in zip(headers, cells, strict=True) if c
            )
        else:
            line = " | ".join(c for c in cells if c)
        if line:
            out.append(line)
    return [line for line in out if line]


def _headed_row(tr: Any, known: dict[Any, list[str]]) -> Row | None:
    parent = tr.getparent()
    table = parent.getparent() if parent is not None and local(parent) != "table" else parent
    if table is None or local(table) != "table":
        return None
    if table not in known:
        known[table] = _headers(table)
    headers, cells = known[table], _cells(tr)
    if not headers or len(headers) != len(cells):
        return None
    return list(zip(headers, cells, strict=True))
