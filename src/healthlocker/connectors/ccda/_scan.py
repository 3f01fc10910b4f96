"""A first, quick pass over a C-CDA document: which entry ids more than one statement carries.

Vendors reuse one ``<id>`` for several entries (three medications, the systolic and diastolic
of one reading, every vital-signs organizer), so an id alone cannot name a resource; it can
when it is the document's only statement with it (``_map.Context.identify``). Statements that
only refer to another (an ``<encounter>`` holding just the id of the visit) are not counted.
The pass is hardened like the reader's and gives up quietly on malformed XML: the reader, which
runs next, says what is wrong and where.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lxml import etree

from healthlocker.connectors.ccda._map import STATEMENTS
from healthlocker.connectors.ccda._types import V3, entry_key, pull_parser

_STATEMENTS = [V3 + name for name in sorted(STATEMENTS)]
_BARE = frozenset({V3 + "id", V3 + "templateId"})  # a statement with only these refers to another
CHUNK = 1 << 20


def shared_ids(path: Path) -> frozenset[tuple[str, str]]:
    """(root, extension) of the ids that two or more statements carry (of any kind: a procedure
    act and a procedure observation both become a Procedure)."""
    parser = pull_parser(events=("end",), tag=[*_STATEMENTS, V3 + "entry"])
    seen: Counter[tuple[str, str]] = Counter()
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                parser.feed(chunk)
                _count(parser, seen)
        parser.close()
        _count(parser, seen)
    except etree.XMLSyntaxError:
        pass
    return frozenset(key for key, n in seen.items() if n > 1)


def _count(parser: etree.XMLPullParser, seen: Counter[tuple[str, str]]) -> None:
    for _, el in parser.read_events():
        if el.tag == V3 + "entry":  # done with it: memory follows one entry
            el.clear()
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
            continue
        key = entry_key(el)
        if key is not None and any(c.tag not in _BARE for c in el if isinstance(c.tag, str)):
            seen[key] += 1
