"""The audit log: one sealed, hash-chained entry per tool call.

Each entry is sealed with the vault key, bound to its sequence number. A chain value links it,
and every column it has, to everything before it::

    chain[n] = HMAC(index key, "audit" ‖ chain[n-1] ‖ n ‖ SHA-256(core ‖ detail MAC ‖ sources))

The newest (n, chain[n]) -- the *head* -- is kept in the vault's sealed state record, made with
the vault (0, zeros) and moved in the same transaction as each append. `verify()` recomputes
the chain: an edited entry fails to open or breaks its link, a reordered or inserted one breaks
the links, a removed one leaves a gap, and a cut tail no longer reaches the head. A missing
head means the log (with the state record) was wiped; an older head written back, with the
tail cut to match, is an older state record, which the vault's epoch counter outside the file
catches when the vault is opened (``store._state``).

Forgetting a source keeps *that* each access happened (time, client, tool, outcome) but drops
the details that could reveal its records (arguments, counts): those live in a separate sealed
column whose keyed digest is in the chain, so they can be erased without breaking it and cannot
be altered without being noticed. ``Vault.forget`` puts a sealed empty value in their place,
which only the vault key can make, so a redaction by forget is told from details removed by
anyone else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from healthlocker.consent._gate import AuditEvent
from healthlocker.errors import HealthLockerError
from healthlocker.store import Vault

_GENESIS = b"\x00" * 32
_REDACTED = b""  # what forget leaves, sealed, where an entry's details were


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str


@dataclass(frozen=True)
class Entry:
    seq: int
    event: AuditEvent
    redacted: bool


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


class AuditLog:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._table = vault.table("audit")

    def _link(self, prev: bytes, seq: int, row: tuple[bytes, bytes, bytes]) -> bytes:
        digest = hashlib.sha256(_framed(*row)).digest()  # core, detail MAC, sealed sources
        return self.vault.digest(b"audit" + prev + seq.to_bytes(8, "big") + digest)

    def append(self, event: AuditEvent, sources: list[str]) -> int:
        """Add one entry (inside the caller's transaction, if one is open)."""
        audit = self._table
        with self.vault.transaction():
            seq, prev = audit.head()
            seq += 1
            data = asdict(event)
            detail = {"arguments": data.pop("arguments"), "records": data.pop("records")}
            core = audit.seal(seq, json.dumps(data).encode(), "core")
            detail_plain = json.dumps(detail, sort_keys=True).encode()
            detail_mac = self.vault.digest(b"detail" + detail_plain)
            ids = audit.seal(seq, json.dumps(sorted(sources)).encode(), "sources")
            chain = self._link(prev, seq, (core, detail_mac, ids))
            audit.insert(
                seq,
                core=core,
                detail=audit.seal(seq, detail_plain, "detail"),
                detail_mac=detail_mac,
                sources=ids,
                chain=chain,
            )
            audit.set_head(seq, chain)
        return seq

    def append_many(self, items: list[tuple[AuditEvent, list[str]]]) -> list[int]:
        """Add several entries, in order, in one transaction: all or none, one durable commit
        (so concurrent calls share the cost of syncing the log to disk)."""
        with self.vault.transaction():
            return [self.append(event, sources) for event, sources in items]

    def entries(self) -> list[Entry]:
        out = []
        for seq, core, detail in self._table.rows("seq", "core", "detail"):
            data = json.loads(self._table.open(seq, core, "core"))
            plain = _REDACTED if detail is None else self._table.open(seq, detail, "detail")
            extra: dict[str, Any] = (
                {"arguments": {}, "records": 0} if plain == _REDACTED else json.loads(plain)
            )
            out.append(Entry(seq, AuditEvent(**data, **extra), plain == _REDACTED))
        return out

    def count(self) -> int:
        """How many entries the head says the log holds."""
        return self._table.head()[0]

    def verify(self) -> list[Problem]:
        """Every problem found, each naming the entry; an empty list means intact (the rows
        and the head read as of one moment, whatever is appended meanwhile)."""
        with self.vault.snapshot():
            return self._verify()

    def _verify(self) -> list[Problem]:
        problems: list[Problem] = []
        prev, expected = _GENESIS, 1
        rows = self._table.rows("seq", "core", "detail", "detail_mac", "sources", "chain")
        for seq, core, detail, detail_mac, ids, chain in rows:
            if seq != expected:
                problems.append(Problem(expected, f"entries {expected}..{seq - 1} are missing"))
            what = self._check_entry(seq, core, detail, detail_mac, ids)
            if what:
                problems.append(Problem(seq, what))
            if self._link(prev, seq, (core, detail_mac, ids)) != chain:
                problems.append(
                    Problem(
                        seq, "does not follow the entry before it (edited, reordered or inserted)"
                    )
                )
            prev, expected = chain, seq + 1
        try:
            head_seq, head_chain = self._table.head()
        except HealthLockerError:
            return [*problems, Problem(0, "the chain head is missing: the log was wiped")]
        last_seq = rows[-1][0] if rows else 0
        if head_seq != last_seq or (rows and head_chain != prev):
            problems.append(
                Problem(
                    last_seq + 1 if head_seq > last_seq else head_seq,
                    f"the log ends at entry {last_seq} but its head says {head_seq}: "
                    "entries were cut from the end"
                    if head_seq > last_seq
                    else "the head does not match the last entry",
                )
            )
        return problems

    def _check_entry(
        self, seq: int, core: bytes, detail: bytes | None, detail_mac: bytes, ids: bytes
    ) -> str:
        """What is wrong with one entry's sealed values ('' when nothing)."""
        if detail is None:
            return "its details were removed (not by forget)"
        try:
            self._table.open(seq, core, "core")
            self._table.open(seq, ids, "sources")
            plain = self._table.open(seq, detail, "detail")
        except HealthLockerError:
            return "was edited or moved (it no longer opens)"
        if plain != _REDACTED and self.vault.digest(b"detail" + plain) != detail_mac:
            return "its details do not match the chain (edited or swapped)"
        return ""
