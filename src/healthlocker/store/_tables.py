"""The sealed tables other packages keep in the vault, each declared once.

Adding a table is one :class:`~healthlocker.store._sealed.Table` entry here (and, if it holds
anything about a source's records, a forget hook). Every value is sealed with the vault key and
bound to its table and row; see docs/security.md ("What is on disk").
"""

from __future__ import annotations

import json

from healthlocker.store._db import Database
from healthlocker.store._sealed import Forgetting, SealedTable, Table

# The sealed plaintext that takes the place of an audit entry's details once forget drops them.
REDACTED = b""


def _redact_audit(audit: SealedTable, db: Database, scope: Forgetting) -> int:
    """Drop the details (arguments, counts) of entries that returned records of the forgotten
    sources, keeping that each access happened. In their place goes a sealed empty value bound
    to the entry, which only the vault key can make: `audit --verify` tells a redaction by
    forget from details removed by anyone else."""
    gone = set(scope.source_ids)
    if not gone:
        return 0
    rows = db.execute("SELECT seq, sources FROM audit").fetchall()
    seqs = [seq for seq, ids in rows if gone & set(json.loads(audit.open(seq, ids, "sources")))]
    db.executemany(
        "UPDATE audit SET detail = ? WHERE seq = ?",
        [(audit.seal(seq, REDACTED, "detail"), seq) for seq in seqs],
    )
    return len(seqs)


def _drop_links(links: SealedTable, db: Database, scope: Forgetting) -> int:
    """A linked API's link, with its sealed tokens, goes with the source of its name."""
    if scope.label is None:
        return links.delete_where()
    return links.delete_where(name_tag=links.tag(scope.label))


def _drop_placements(people: SealedTable, db: Database, scope: Forgetting) -> int:
    """Where a forgotten source's Patients were placed goes with it; a person left with no
    Patient goes too, unless they are the owner or carry a name the person gave them."""
    if scope.label is None:
        return people.delete_where()
    gone = people.delete_where(source_tag=people.tag(scope.label))
    if not gone:
        return 0
    rows = people.rows("id", "person", "source_tag")
    placed = {person for _, person, tag in rows if tag is not None}
    for pid in [rid for rid, person, tag in rows if tag is None and rid == person]:
        body = json.loads(people.body(pid) or b"{}")
        if pid not in placed and not body.get("owner") and not body.get("name"):
            gone += people.delete(pid)
    return gone


def _drop_shares(shares: SealedTable, db: Database, scope: Forgetting) -> int:
    """A share that holds records of a forgotten source goes with it (its link stops working:
    nothing of the erased records stays readable, even encrypted for a link)."""
    if scope.label is None:
        return shares.delete_where()
    gone = set(scope.source_ids)
    rows = db.execute("SELECT id, sources FROM shares").fetchall()
    # Through the handle, row by row, so the table's manifest moves with the deletes.
    return sum(shares.delete(share) for share, ids in rows if gone & set(ids.split(",")))


GRANTS = Table(
    "grants",
    columns=(("id", "TEXT PRIMARY KEY"), ("body", "BLOB NOT NULL")),
    sealed={"body": "grants"},
)

AUDIT = Table(
    "audit",
    columns=(
        ("seq", "INTEGER PRIMARY KEY"),
        ("core", "BLOB NOT NULL"),  # sealed {client, tool, outcome, grant, time}: in the chain
        ("detail", "BLOB"),  # sealed {arguments, records}; sealed REDACTED once forget drops them
        ("detail_mac", "BLOB NOT NULL"),  # keyed digest of the details, in the chain
        ("sources", "BLOB NOT NULL"),  # sealed ids of the sources returned: in the chain
        ("chain", "BLOB NOT NULL"),
    ),
    key=("seq",),
    sealed={"core": "audit", "detail": "audit_detail", "sources": "audit_sources"},
    chained=True,  # the state record keeps its head
    forget=_redact_audit,
)

OAUTH = Table(
    "oauth",
    columns=(
        ("kind", "TEXT NOT NULL"),
        ("id", "TEXT NOT NULL"),
        ("expires", "REAL"),
        ("body", "BLOB NOT NULL"),
    ),
    key=("kind", "id"),
    sealed={"body": "oauth"},
    constraints=("PRIMARY KEY (kind, id)",),
    expires="expires",
)

LINKS = Table(
    "links",
    columns=(
        ("id", "TEXT PRIMARY KEY"),
        ("name_tag", "BLOB NOT NULL UNIQUE"),
        ("body", "BLOB NOT NULL"),
    ),
    sealed={"body": "links"},
    name_tag="link",
    forget=_drop_links,
)

# Who the records are about (see healthlocker.people): a row per person (id = person, no
# source) and a row per Patient placed with one, tagged with the source it came from.
PEOPLE = Table(
    "people",
    columns=(
        ("id", "TEXT PRIMARY KEY"),
        ("person", "TEXT NOT NULL"),  # a person id: person-1, person-2, ...
        ("source_tag", "BLOB"),  # blind tag of the source's label (as `sources` has it)
        ("body", "BLOB NOT NULL"),  # sealed {name, owner} or {patient}
    ),
    sealed={"body": "people"},
    name_tag="source",
    forget=_drop_placements,
    shapes_answers=True,
)

SHARES = Table(
    "shares",
    columns=(
        ("id", "TEXT PRIMARY KEY"),  # the short id `share --list` shows and `--revoke` takes
        ("name_tag", "BLOB NOT NULL UNIQUE"),  # blind tag of the link's secret path part
        ("expires", "REAL NOT NULL"),
        ("sources", "TEXT NOT NULL"),  # the ids of the sources it holds records of
        ("body", "BLOB NOT NULL"),  # sealed: label, passcode digest, tries, encrypted files
    ),
    sealed={"body": "shares"},
    name_tag="shl",
    expires="expires",
    forget=_drop_shares,
)

TABLES: dict[str, Table] = {t.name: t for t in (GRANTS, AUDIT, OAUTH, LINKS, PEOPLE, SHARES)}
