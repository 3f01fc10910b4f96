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
breaking it and cannot be altered without being noticed.
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
        vault.conn.execute(
            "CREATE TABLE IF NOT EXISTS audit ("
            "seq INTEGER PRIMARY KEY, core BLOB NOT NULL, detail BLOB, detail_mac BLOB NOT NULL, "
            "sources TEXT NOT NULL, chain BLOB NOT NULL)"
        )

    def _link(self, prev: bytes, seq: int, core: bytes, detail_mac: bytes) -> bytes:
        digest = hashlib.sha256(core + detail_mac).digest()
        return self.vault.digest(b"audit" + prev + seq.to_bytes(8, "big") + digest)

    def _head(self) -> tuple[int, bytes]:
        row = self.vault.conn.execute("SELECT value FROM meta WHERE name = 'audit_head'").fetchone()
        if row is None:
            return 0, _GENESIS
        head = json.loads(self.vault.unseal_meta(row[0], table="meta", row="audit_head"))
        return int(head["seq"]), bytes.fromhex(head["chain"])

    def append(self, event: AuditEvent, sources: list[str]) -> int:
        """Add one entry (its own transaction unless one is open)."""
        conn = self.vault.conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = self._head()
            seq += 1
            data = asdict(event)
            detail = {"arguments": data.pop("arguments"), "records": data.pop("records")}
            core = self.vault.seal_meta(json.dumps(data).encode(), table="audit", row=str(seq))
            detail_plain = json.dumps(detail, sort_keys=True).encode()
            sealed_detail = self.vault.seal_meta(detail_plain, table="audit_detail", row=str(seq))
            detail_mac = self.vault.digest(b"detail" + detail_plain)
            chain = self._link(prev, seq, core, detail_mac)
            conn.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                (seq, core, sealed_detail, detail_mac, ",".join(sorted(sources)), chain),
            )
            head = json.dumps({"seq": seq, "chain": chain.hex()}).encode()
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)",
                (self.vault.seal_meta(head, table="meta", row="audit_head"),),
            )
            if own:
                conn.execute("COMMIT")
        except BaseException:
            if own and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return seq

    def append_many(self, items: list[tuple[AuditEvent, list[str]]]) -> list[int]:
        """Add several entries, in order, in one transaction: all or none, one durable commit
        (so concurrent calls share the cost of syncing the log to disk)."""
        conn = self.vault.conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN IMMEDIATE")
        try:
            seqs = [self.append(event, sources) for event, sources in items]
            if own:
                conn.execute("COMMIT")
        except BaseException:
            if own and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return seqs

    def entries(self) -> list[Entry]:
        out = []
        for seq, core, detail in self.vault.conn.execute(
            "SELECT seq, core, detail FROM audit ORDER BY seq"
        ):
            data = json.loads(self.vault.unseal_meta(core, table="audit", row=str(seq)))
            if detail is None:
                extra: dict[str, Any] = {"arguments": {}, "records": 0}
            else:
                plain = self.vault.unseal_meta(detail, table="audit_detail", row=str(seq))
                extra = json.loads(plain)
            out.append(Entry(seq, AuditEvent(**data, **extra), detail is None))
        return out

    def verify(self) -> list[Problem]:
        """Every problem found, each naming the entry; an empty list means intact."""
        problems: list[Problem] = []
        prev, expected = _GENESIS, 1
        rows = self.vault.conn.execute(
            "SELECT seq, core, detail, detail_mac, chain FROM audit ORDER BY seq"
        ).fetchall()
        redacted = self._redactions()
        for seq, core, detail, detail_mac, chain in rows:
            if detail is None and seq not in redacted:
                problems.append(Problem(seq, "its details were removed (not by forget)"))
            if seq != expected:
                problems.append(Problem(expected, f"entries {expected}..{seq - 1} are missing"))
            try:
                self.vault.unseal_meta(core, table="audit", row=str(seq))
                if detail is not None:
                    plain = self.vault.unseal_meta(detail, table="audit_detail", row=str(seq))
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
        row = self.vault.conn.execute(
            "SELECT value FROM meta WHERE name = 'audit_redactions'"
        ).fetchone()
        if row is None:
            return set()
        plain = self.vault.unseal_meta(row[0], table="meta", row="audit_redactions")
        return set(json.loads(plain))

    def forget_sources(self, source_ids: list[str]) -> int:
        """Drop the details of entries that returned records of these sources.

        The sequence numbers so redacted are kept (sealed), so `verify` can tell a redaction
        by `forget` from details removed by anyone else.
        """
        conn = self.vault.conn
        seqs: set[int] = set()
        for source_id in source_ids:
            seqs |= {
                r[0]
                for r in conn.execute(
                    "SELECT seq FROM audit WHERE detail IS NOT NULL "
                    "AND (',' || sources || ',') LIKE ?",
                    (f"%,{source_id},%",),
                )
            }
        if not seqs:
            return 0
        conn.executemany("UPDATE audit SET detail = NULL WHERE seq = ?", [(q,) for q in seqs])
        done = json.dumps(sorted(self._redactions() | seqs)).encode()
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('audit_redactions', ?)",
            (self.vault.seal_meta(done, table="meta", row="audit_redactions"),),
        )
        return len(seqs)
