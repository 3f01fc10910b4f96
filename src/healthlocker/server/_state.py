"""What a running server holds: the vault (unlocked in the background), the gate, the client."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from pydantic import BaseModel

from healthlocker.consent import AuditEvent, Decision, Gate, Outcome
from healthlocker.errors import HealthLockerError, StoreError
from healthlocker.server._commit import GroupCommit, Ticket
from healthlocker.store import Vault

T = TypeVar("T")
VaultOpener = Callable[[], Vault]
_MAX_VIEWS = 256
GateFactory = Callable[[Vault], Gate]


class ServerState:
    """Shared by every tool call of one server process.

    The vault is opened on a background thread as soon as the server is built: key derivation
    (Argon2id, ~0.2 s) releases the GIL, so it overlaps with the rest of start-up and the
    first tool list never waits for it. Calls are serialised on one lock because an SQLite
    connection must not be used by two threads at once.
    """

    def __init__(
        self, opener: VaultOpener | Vault, gate: Gate | GateFactory, client: str | None
    ) -> None:
        self._gate_spec = gate
        self._gate: Gate | None = None
        self.fixed_client = client
        self._lock = threading.Lock()
        self._vault: Vault | None = None
        self._error: HealthLockerError | None = None
        self._ready = threading.Event()
        self._views: dict[tuple[str, str, str | None], _Cached] = {}
        self._commits = GroupCommit(self._lock, lambda: self.gate)
        if isinstance(opener, Vault):
            self._vault = opener
            self._ready.set()
        else:
            threading.Thread(target=self._open, args=(opener,), daemon=True).start()

    def _open(self, opener: VaultOpener) -> None:
        with contextlib.suppress(OSError, AttributeError):
            # Key derivation should not slow the start-up it overlaps with on a busy machine.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
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

    @property
    def gate(self) -> Gate:
        """The consent gate; built over the vault once it is open."""
        if self._gate is None:
            spec = self._gate_spec
            self._gate = spec(self.vault()) if callable(spec) else spec
        return self._gate

    def wait_ready(self) -> HealthLockerError | None:
        self._ready.wait()
        return self._error

    def client_name(self, reported: str | None) -> str:
        """Over HTTP, the OAuth client the bearer token was issued to; else `serve --client
        NAME` when given, else the name the client reports, else 'local'."""
        token = get_access_token()
        if token is not None:
            return token.client_id
        return self.fixed_client or (reported or "").strip()[:64] or "local"

    def using(self, fn: Callable[[Vault], T]) -> T:
        """Run *fn* with the vault, alone: the OAuth server and pages share the connection."""
        with self._lock:
            return fn(self.vault())

    def decide(self, *, client: str, tool: str) -> Decision:
        with self._lock:
            return self.gate.decide(client=client, tool=tool, arguments={})

    def grant(self, *, client: str, tool: str, duration: timedelta | None, window: str) -> Decision:
        with self._lock:
            return self.gate.grant(client=client, tool=tool, duration=duration, window=window)

    def refuse(
        self, *, client: str, tool: str, arguments: dict[str, Any], outcome: Outcome, message: str
    ) -> NoReturn:
        """Audit a call that returns no data, then raise PermissionError(message)."""
        with self._lock:
            self.gate.record(
                AuditEvent(client=client, tool=tool, arguments=redact(arguments), outcome=outcome)
            )
        raise PermissionError(message)

    def run(
        self,
        *,
        client: str,
        tool: str,
        arguments: dict[str, Any],
        call: Callable[[Vault, str | None], BaseModel],
        decision: Decision | None = None,
    ) -> BaseModel:
        """Decide (unless the person just did), call, audit: exactly one audit event, durable
        before the view is returned (committed together with concurrent calls' events)."""
        outcome: Outcome = "failed"
        records: set[str] = set()
        origins: set[str] = set()
        ticket: Ticket | None = None
        try:
            with self._lock:
                try:
                    if decision is None:
                        decision = self.gate.decide(client=client, tool=tool, arguments=arguments)
                    if not decision.allowed:
                        outcome = "refused"
                        raise PermissionError(decision.reason)
                    cached = self._view(tool, arguments, decision.window_start, call)
                    records, origins = cached.cited
                    outcome = "allowed"
                    return cached.view
                finally:
                    ticket = self._audit(
                        client, tool, arguments, outcome, records, origins, decision
                    )
        finally:
            if ticket is not None:
                self._commits.wait(ticket)

    def _view(
        self,
        tool: str,
        arguments: dict[str, Any],
        window_start: str | None,
        call: Callable[[Vault, str | None], BaseModel],
    ) -> _Cached:
        """The view, reused while the vault is unchanged: views are pure functions of the
        stored records, the arguments and the window."""
        vault = self.vault()
        key = (tool, json.dumps(arguments, sort_keys=True, default=str), window_start)
        version = vault.version()
        hit = self._views.get(key)
        if hit is not None and hit.version == version:
            return hit
        view = call(vault, window_start)
        if len(self._views) >= _MAX_VIEWS:
            self._views.clear()
        self._views[key] = cached = _Cached(version, view, cited(view))
        return cached

    def _audit(
        self,
        client: str,
        tool: str,
        arguments: dict[str, Any],
        outcome: Outcome,
        records: set[str],
        origins: set[str],
        decision: Decision | None,
    ) -> Ticket:
        source_ids: list[str] = []
        if origins and self._vault is not None:
            by_label = {label: sid for sid, label in self._vault.source_labels().items()}
            source_ids = sorted(by_label[o] for o in origins if o in by_label)
        return self._commits.queue(
            AuditEvent(
                client=client,
                tool=tool,
                arguments=redact(arguments),
                outcome=outcome,
                records=len(records),
                grant_id=decision.grant_id if decision else None,
            ),
            source_ids,
        )


@dataclass(frozen=True)
class _Cached:
    """A view, for one version of the vault, and what the audit of every answer needs."""

    version: tuple[int, int]
    view: BaseModel
    cited: tuple[set[str], set[str]]  # a walk of the whole view: done once, not per call


# Argument values kept verbatim in the audit; any other text is replaced by its length, since
# an assistant may echo record text (a test name, a question) into an argument.
_KEEP = frozenset({"active", "all", "day", "week", "month", "year"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def redact(arguments: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if isinstance(value, str) and not (value in _KEEP or _DAY.match(value)):
            out[key] = f"<text, {len(value)} chars>"
        elif isinstance(value, list):
            out[key] = f"<{len(value)} items>"
        else:
            out[key] = value
    return out


def cited(view: BaseModel) -> tuple[set[str], set[str]]:
    """The distinct stored resources a view cites, and the sources they came from."""
    refs: set[str] = set()
    origins: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            ref, origin = value.get("resource"), value.get("origin")
            if isinstance(ref, str) and isinstance(origin, str):
                refs.add(ref)
                origins.add(origin)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(view.model_dump())
    return refs, origins
