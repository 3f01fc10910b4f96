"""The audit log: one sealed, hash-chained entry per tool call.

Each entry is sealed with the vault key, bound to its sequence number. A chain value links it
to everything before it::

    chain[n] = HMAC(index key, "audit" ‖ chain[n-1] ‖ n ‖ SHA-256(sealed entry n))

and the newest (n, chain[n]) -- the *head* -- is kept sealed in the `meta` table, updated in the
same transaction as each append. `verify()` recomputes the chain: an edited entry fails to
open or breaks its link, a reordered or inserted one breaks the links, a removed one leaves a
gap, and a cut tail no longer reaches the head.

Forgetting a source keeps *that* each access happened (time, client, tool, outcome) but drops
the details that could reveal its records (arguments, counts): those live in a separate sealed
column outside the chain, whose keyed digest is in the chain, so they can be erased without
breaking it and cannot be altered without being noticed. The table, and the forget hook that
drops those details, are declared in the store (``healthlocker.store._tables``): forgetting is
one call, ``Vault.forget``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from healthlocker.consent._gate import AuditEvent
from healthlocker.store import Vault

_GENESIS = b"\x00" * 32


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str


@dataclass(frozen=True)
class Entry:
    seq: int
    event: AuditEvent
    redacted: bool


class AuditLog:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._table = vault.table("audit")

    def _link(self, prev: bytes, seq: int, core: bytes, detail_mac: bytes) -> bytes:
        digest = hashlib.sha256(core + detail_mac).digest()
        return self.vault.digest(b"audit" + prev + seq.to_bytes(8, "big") + digest)

    def _head(self) -> tuple[int, bytes]:
        plain = self._table.value("audit_head")
        if plain is None:
            return 0, _GENESIS
        head = json.loads(plain)
        return int(head["seq"]), bytes.fromhex(head["chain"])

    def append(self, event: AuditEvent, sources: list[str]) -> int:
        """Add one entry (inside the caller's transaction, if one is open)."""
        audit = self._table
        with self.vault.transaction():
            seq, prev = self._head()
            seq += 1
            data = asdict(event)
            detail = {"arguments": data.pop("arguments"), "records": data.pop("records")}
            core = audit.seal(seq, json.dumps(data).encode(), "core")
            detail_plain = json.dumps(detail, sort_keys=True).encode()
            detail_mac = self.vault.digest(b"detail" + detail_plain)
            chain = self._link(prev, seq, core, detail_mac)
            audit.insert(
                seq,
                core=core,
                detail=audit.seal(seq, detail_plain, "detail"),
                detail_mac=detail_mac,
                sources=",".join(sorted(sources)),
                chain=chain,
            )
            audit.set_value("audit_head", json.dumps({"seq": seq, "chain": chain.hex()}).encode())
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
            if detail is None:
                extra: dict[str, Any] = {"arguments": {}, "records": 0}
            else:
                extra = json.loads(self._table.open(seq, detail, "detail"))
            out.append(Entry(seq, AuditEvent(**data, **extra), detail is None))
        return out

    def verify(self) -> list[Problem]:
        """Every problem found, each naming the entry; an empty list means intact."""
        problems: list[Problem] = []
        prev, expected = _GENESIS, 1
        rows = self._table.rows("seq", "core", "detail", "detail_mac", "chain")
        redacted = self._redactions()
        for seq, core, detail, detail_mac, chain in rows:
            if detail is None and seq not in redacted:
                problems.append(Problem(seq, "its details were removed (not by forget)"))
            if seq != expected:
                problems.append(Problem(expected, f"entries {expected}..{seq - 1} are missing"))
            try:
                self._table.open(seq, core, "core")
                if detail is not None:
                    plain = self._table.open(seq, detail, "detail")
                    if self.vault.digest(b"detail" + plain) != detail_mac:
                        raise ValueError
            except Exception:
                problems.append(Problem(seq, "was edited or moved (it no longer opens)"))
            if self._link(prev, seq, core, detail_mac) != chain:
                problems.append(
                    Problem(
                        seq, "does not follow the entry before it (edited, reordered or inserted)"
                    )
                )
            prev, expected = chain, seq + 1
        try:
            head_seq, head_chain = self._head()
        except Exception:
            return [*problems, Problem(0, "the chain head was edited")]
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

    def _redactions(self) -> set[int]:
        """The entries whose details ``Vault.forget`` removed (kept, sealed, by the store)."""
        plain = self._table.value("audit_redactions")
        return set() if plain is None else set(json.loads(plain))
