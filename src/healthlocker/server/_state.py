"""What a running server holds: the vault (unlocked in the background), the gate, the client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from healthlocker.consent import AuditEvent, Gate, Outcome
from healthlocker.errors import HealthLockerError, StoreError
from healthlocker.store import Vault

VaultOpener = Callable[[], Vault]


class ServerState:
    """Shared by every tool call of one server process.

    The vault is opened on a background thread as soon as the server is built: key derivation
    (Argon2id, ~0.2 s) releases the GIL, so it overlaps with the rest of start-up and the
    first tool list never waits for it. Calls are serialised on one lock because an SQLite
    connection must not be used by two threads at once.
    """

    def __init__(self, opener: VaultOpener | Vault, gate: Gate, client: str | None) -> None:
        self.gate = gate
        self.fixed_client = client
        self._lock = threading.Lock()
        self._vault: Vault | None = None
        self._error: HealthLockerError | None = None
        self._ready = threading.Event()
        if isinstance(opener, Vault):
            self._vault = opener
            self._ready.set()
        else:
            threading.Thread(target=self._open, args=(opener,), daemon=True).start()

    def _open(self, opener: VaultOpener) -> None:
        try:
            self._vault = opener()
        except HealthLockerError as exc:
            self._error = exc
        finally:
            self._ready.set()

    def vault(self) -> Vault:
        self._ready.wait()
        if self._vault is None:
            raise self._error or StoreError("the vault could not be opened")
        return self._vault

    def wait_ready(self) -> HealthLockerError | None:
        self._ready.wait()
        return self._error

    def client_name(self, reported: str | None) -> str:
        """`serve --client NAME` when given, else the name the client reports, else 'local'."""
        return self.fixed_client or (reported or "").strip()[:64] or "local"

    def run(
        self,
        *,
        client: str,
        tool: str,
        arguments: dict[str, Any],
        call: Callable[[Vault, str | None], BaseModel],
    ) -> BaseModel:
        """Decide, call, audit: exactly one audit event, whatever happens."""
        outcome: Outcome = "failed"
        records = 0
        decision = None
        try:
            with self._lock:
                decision = self.gate.decide(client=client, tool=tool, arguments=arguments)
                if not decision.allowed:
                    outcome = "refused"
                    raise PermissionError(decision.reason)
                view = call(self.vault(), decision.window_start)
            records = count_records(view)
            outcome = "allowed"
            return view
        finally:
            self.gate.record(
                AuditEvent(
                    client=client,
                    tool=tool,
                    arguments=arguments,
                    outcome=outcome,
                    records=records,
                    grant_id=decision.grant_id if decision else None,
                )
            )


def count_records(view: BaseModel) -> int:
    """How many distinct stored resources a view cites."""
    seen: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            ref = value.get("resource")
            if isinstance(ref, str) and "origin" in value:
                seen.add(ref)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(view.model_dump())
    return len(seen)
