"""The consent gate: the one policy check every tool call passes, and its audit entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from healthlocker.consent._audit import AuditLog
from healthlocker.consent._gate import AuditEvent, Decision
from healthlocker.consent._grants import Clock, Grant, GrantStore, utcnow, window_start
from healthlocker.store import Vault


def grant_command(*, client: str, tool: str) -> str:
    """The exact command that would allow a call (for refusals the person can act on)."""
    quoted = client if client.replace("-", "").replace("_", "").isalnum() else repr(client)
    return f"healthlocker grant {tool} --client {quoted} --for 1h"


def allowed(*, client: str, tool: str, grants: list[Grant], clock: Clock = utcnow) -> Decision:
    """Decide one call from the live grants alone.

    The answer never depends on what data exists, so a refusal reveals nothing. Where several
    grants apply, the widest window wins (the person allowed at least that much).
    """
    now = clock()
    live = [g for g in grants if g.covers(client=client, tool=tool, now=now)]
    if not live:
        return Decision(
            allowed=False,
            reason=f"No grant lets {client!r} use {tool}; the person can allow it in the "
            f"consent prompt, or run `{grant_command(client=client, tool=tool)}`",
        )
    starts = [(window_start(g.window, now), g) for g in live]
    start, grant = min(starts, key=lambda s: s[0] or "")
    return Decision(allowed=True, window_start=start, grant_id=grant.id)


class ConsentGate:
    """Grants and audit in the vault. Everything is re-read per call: revocations and grants
    made elsewhere (the CLI, another server) take effect on the next call."""

    def __init__(self, vault: Vault, clock: Clock = utcnow) -> None:
        self.vault = vault
        self.clock = clock
        self.grants = GrantStore(vault, clock)
        self.audit = AuditLog(vault)

    def decide(self, *, client: str, tool: str, arguments: dict[str, Any]) -> Decision:
        return allowed(client=client, tool=tool, grants=self.grants.all(), clock=self.clock)

    def grant(self, *, client: str, tool: str, duration: timedelta | None, window: str) -> Decision:
        """The person's answer to a consent prompt. ``duration=None``: this call only."""
        if duration is None:
            return Decision(
                allowed=True, window_start=window_start(window, self.clock()), grant_id="once"
            )
        grant = self.grants.add(client=client, tool=tool, duration=duration, window=window)
        return Decision(
            allowed=True, window_start=window_start(window, self.clock()), grant_id=grant.id
        )

    def record(self, event: AuditEvent, sources: list[str] | None = None) -> None:
        self.audit.append(event, sources or [])

    def record_many(self, items: list[tuple[AuditEvent, list[str]]]) -> None:
        """Several calls' entries, all or none, in one commit."""
        self.audit.append_many(items)
