"""Manifests: what a source or a sealed table holds, in a form the state record can vouch for.

- **A source's resources**, per resource type: the row count, a MAC (under the index key) over
  every row of that type -- rowid, blind ``Type/id`` tag, month tag, keyed digest -- in rowid
  order, and which rows carry each index term (code, category). Kept in the source's sealed
  row; recomputed for the types an import changed. A read checks the count and MAC of the type
  it asks for, and the rows of each term it asks for (count, and a keyed sum over the rows'
  blind ids), once per ``resources_version``. A deleted, added, relabelled or written-back
  row, or an index term removed, added or moved to another row, no longer matches.
- **A sealed table** (grants, OAuth state, links): the row count and the sum, modulo 2**256,
  of a keyed hash of each row (every column). A sum of keyed hashes can be updated row by row
  (add the new row, subtract the one it replaced) and cannot be matched by rows someone without
  the key chose. Kept in the state record; checked on read whenever it changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from healthlocker.store._db import Database
from healthlocker.store._keys import Keys

_MOD = 1 << 256
Manifest = list[Any]  # [count, hex MAC or sum]


def _encode(value: Any) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bytes):
        kind, raw = b"B", value
    elif isinstance(value, bool | int):
        kind, raw = b"I", str(int(value)).encode()
    elif isinstance(value, float):
        kind, raw = b"F", repr(value).encode()
    else:
        kind, raw = b"S", str(value).encode("utf-8")
    return kind + len(raw).to_bytes(4, "big") + raw


def row_hash(keys: Keys, table: str, row: Sequence[Any]) -> int:
    """The keyed hash of one row of a sealed table (every column, as stored)."""
    data = b"row\x00" + table.encode() + b"\x00" + b"".join(_encode(v) for v in row)
    return int.from_bytes(keys.digest(data), "big")


def table_sum(keys: Keys, table: str, rows: Iterable[Sequence[Any]]) -> Manifest:
    count, total = 0, 0
    for row in rows:
        count += 1
        total = (total + row_hash(keys, table, row)) % _MOD
    return [count, f"{total:064x}"]


def moved(manifest: Manifest | None, added: int = 0, removed: int = 0, n: int = 0) -> Manifest:
    """*manifest* after rows hashing to *added* came and rows hashing to *removed* went
    (*n*: the change in count)."""
    count, total = (manifest or [0, "0" * 64])[:2]
    return [count + n, f"{(int(total, 16) + added - removed) % _MOD:064x}"]


def type_manifest(db: Database, keys: Keys, source_id: str, type_tag: bytes) -> Manifest:
    """[count, MAC, {term tag: [rows, sum]}] of the resources of one type in one source."""
    found = db.execute(
        "SELECT tag, rkey FROM resource_terms JOIN resources ON resources.id = resource_id "
        "WHERE source_id = ? AND type_tag = ?",
        (source_id, type_tag),
    )
    terms: dict[bytes, list[bytes]] = {}
    for tag, rkey in found:
        terms.setdefault(tag, []).append(rkey)
    return [
        *rows_mac(db, keys, source_id, type_tag),
        {tag.hex(): _term_sum(keys, tag, rkeys) for tag, rkeys in terms.items()},
    ]


def _term_sum(keys: Keys, term_tag: bytes, rkeys: Iterable[bytes]) -> Manifest:
    """Which rows carry a term: their count and the sum of a keyed hash of each row's blind
    id (so a term moved from one row to another changes it, as one deleted or added does)."""
    count, total = 0, 0
    for rkey in rkeys:
        count += 1
        total += int.from_bytes(keys.digest(b"term\x00" + term_tag + rkey), "big")
    return [count, f"{total % _MOD:064x}"]


def add_up(manifests: Iterable[Manifest]) -> Manifest:
    """Several sources' [count, sum] of one term, as one."""
    count, total = 0, 0
    for n, part in manifests:
        count, total = count + n, total + int(part, 16)
    return [count, f"{total % _MOD:064x}"]


def rows_mac(db: Database, keys: Keys, source_id: str, type_tag: bytes) -> Manifest:
    """[count, MAC] of the rows of one type in one source (what a read checks)."""
    rows = db.execute(
        "SELECT id, rkey, month_tag, digest FROM resources "
        "WHERE source_id = ? AND type_tag = ? ORDER BY id",
        (source_id, type_tag),
    ).fetchall()
    parts = [b"resources\x00", source_id.encode(), type_tag]
    parts += [
        rowid.to_bytes(8, "big") + rkey + (b"\x01" + month if month else b"\x00") + digest
        for rowid, rkey, month, digest in rows
    ]
    return [len(rows), keys.digest(b"".join(parts)).hex()]


def term_rows(db: Database, keys: Keys, term_tag: bytes, type_tag: bytes) -> Manifest:
    """[count, sum] of the rows of this type, in every source, that carry this index term
    (what a term query checks)."""
    rkeys = db.execute(
        "SELECT rkey FROM resource_terms JOIN resources ON resources.id = resource_id "
        "WHERE tag = ? AND type_tag = ?",
        (term_tag, type_tag),
    )
    return _term_sum(keys, term_tag, (r[0] for r in rkeys))


def source_digest(keys: Keys, source_id: str, label_tag: bytes, key_id: str, body: bytes) -> str:
    """What the state record keeps of a source's row (which holds its manifest)."""
    data = b"source\x00" + source_id.encode() + b"\x00" + label_tag + key_id.encode() + body
    return keys.digest(data)[:16].hex()
