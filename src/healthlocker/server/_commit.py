"""Group commit: the audit entries of concurrent tool calls share one durable commit.

Every call's entry must be on disk before its result is returned, and a commit waits for the
disk (``synchronous = FULL``): alone, that wait is most of a cached call's time, and since the
vault connection is used by one call at a time, every other call waits behind it. So a call
queues its entry while it holds the connection (entries keep call order), lets go, and waits
for its turn to commit: the first in line writes everything queued by then in one transaction
(one entry per call, the chain intact) and the others find theirs already done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from healthlocker.consent import AuditEvent, Gate


@dataclass(eq=False)
class Ticket:
    """One call's queued entry and, once its commit has run, how it went."""

    event: AuditEvent
    sources: list[str]
    done: bool = False
    error: Exception | None = None


class GroupCommit:
    def __init__(self, lock: threading.Lock, gate: Callable[[], Gate]) -> None:
        self._lock = lock  # the vault connection's
        self._gate = gate
        self._turn = threading.Lock()
        self._pending: list[Ticket] = []

    def queue(self, event: AuditEvent, sources: list[str]) -> Ticket:
        """Queue one call's entry. The caller holds the connection lock."""
        ticket = Ticket(event, sources)
        self._pending.append(ticket)
        return ticket

    def wait(self, ticket: Ticket) -> None:
        """Return once *ticket*'s entry is durable, or raise why it could not be written.
        The caller must not hold the connection lock."""
        with self._turn:
            if not ticket.done:
                with self._lock:
                    batch, self._pending = self._pending, []
                    self._commit(batch)
        if ticket.error is not None:
            raise ticket.error
        if not ticket.done:  # its commit was interrupted (KeyboardInterrupt, say)
            raise RuntimeError("the audit entry of this call was not written")

    def _commit(self, batch: list[Ticket]) -> None:
        gate = self._gate()
        many = getattr(gate, "record_many", None)
        if many is not None and len(batch) > 1:
            try:
                many([(t.event, t.sources) for t in batch])  # all or none
                written = True
            except Exception:
                written = False  # rolled back, nothing written: each alone, below
            if written:
                for t in batch:
                    t.done = True
                return
        # One at a time, so an entry that cannot be written fails its own call only.
        for t in batch:
            try:
                gate.record(t.event, t.sources)
            except Exception as exc:
                t.error = exc
            t.done = True
