"""The one place every tool call passes: a policy decision before, one audit event after.

``Gate.decide(*, client, tool, arguments)`` answers whether the call may read anything and over
which period of records; ``Gate.record(event)`` receives exactly one frozen :class:`AuditEvent`
per call, whatever its outcome. The server calls nothing else; consent and audit live behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

Outcome = Literal["allowed", "declined", "refused", "failed"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    window_start: str | None = None  # records dated before this are invisible to the call
    grant_id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class AuditEvent:
    """One tool call, as the audit log keeps it. Arguments hold no record text."""

    client: str
    tool: str
    arguments: dict[str, Any]
    outcome: Outcome
    records: int = 0
    grant_id: str | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


class Gate(Protocol):
    def decide(self, *, client: str, tool: str, arguments: dict[str, Any]) -> Decision: ...

    def grant(
        self, *, client: str, tool: str, duration: timedelta | None, window: str
    ) -> Decision: ...

    def record(self, event: AuditEvent, sources: list[str] | None = None) -> None: ...


class OpenGate:
    """Allows every call over all records and keeps the audit events in memory.

    For embedding the tools as a library, and for tests of the tool path itself; the server
    uses :class:`~healthlocker.consent.ConsentGate` unless told otherwise.
    """

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def decide(self, *, client: str, tool: str, arguments: dict[str, Any]) -> Decision:
        return Decision(allowed=True)

    def grant(self, *, client: str, tool: str, duration: timedelta | None, window: str) -> Decision:
        return Decision(allowed=True)

    def record(self, event: AuditEvent, sources: list[str] | None = None) -> None:
        self.events.append(event)
