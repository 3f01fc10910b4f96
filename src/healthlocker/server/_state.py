"""What a running server holds: the vault (unlocked in the background), the gate, the client."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from pydantic import BaseModel

from healthlocker.consent import AuditEvent, Decision, Gate, Outcome, clean_client, grant_command
from healthlocker.errors import ConsentError, HealthLockerError, RefusedError, StoreError
from healthlocker.server._commit import GroupCommit, Ticket
from healthlocker.server._edge import audited, log_bug
from healthlocker.store import Vault

if TYPE_CHECKING:  # the catalogue and records load with the tools, not with the state
    from healthlocker.catalogue import Arguments, ToolSpec
    from healthlocker.records import Answer
    from healthlocker.server._asks import Asks

T = TypeVar("T")
VaultOpener = Callable[[], Vault]
_MAX_VIEWS = 256
GateFactory = Callable[[Vault], Gate]
UNAUDITED = (
    "healthlocker could not write this call's audit entry, so the call was stopped and returned "
    "no data; try again (the server log says why)"
)


class ServerState:
    """Shared by every tool call of one server process.

    The vault is opened on a background thread as soon as the server is built: key derivation
    (Argon2id, ~0.2 s) releases the GIL, so it overlaps with the rest of start-up and the
    first tool list never waits for it. Calls are serialised on one lock because an SQLite
    connection must not be used by two threads at once.

    Over HTTP (*over_http*) consent never comes from the client: calls ask the person on this
    server's consent page (*asks*, with the built-in authorization server) or are refused.
    """

    def __init__(
        self,
        opener: VaultOpener | Vault,
        gate: Gate | GateFactory,
        client: str | None,
        *,
        over_http: bool = False,
    ) -> None:
        self._gate_spec = gate
        self._gate: Gate | None = None
        self.fixed_client = client
        self.over_http = over_http
        self.asks: Asks | None = None
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
        return self.fixed_client or clean_client(reported or "") or "local"

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
        self,
        *,
        client: str,
        tool: str,
        arguments: dict[str, Any],
        outcome: Outcome,
        error: ConsentError,
    ) -> NoReturn:
        """Audit a call that returns no data (its *arguments* as the audit keeps them), then
        raise *error*."""
        self.record(AuditEvent(client=client, tool=tool, arguments=arguments, outcome=outcome))
        raise error

    def record(self, event: AuditEvent) -> None:
        """Audit one call that never reached a view (refused, declined, or bad arguments);
        a StoreError saying so when the entry cannot be written."""
        try:
            with self._lock:
                self.gate.record(event)
        except HealthLockerError:
            raise  # the vault did not open: its own message says why
        except Exception as exc:
            log_bug(exc, f"auditing {event.tool}")
            raise StoreError(UNAUDITED) from None
        audited()

    def run(
        self,
        *,
        client: str,
        tool: ToolSpec,
        args: Arguments,
        decision: Decision | None = None,
        via: str | None = None,
    ) -> Answer:
        """Decide (unless the person just did), answer through the consent scope, audit:
        exactly one audit event, durable before the answer is returned (committed together
        with concurrent calls' events). *via* names the prompt or resource reading for it."""
        outcome: Outcome = "failed"
        records: set[str] = set()
        origins: set[str] = set()
        ticket: Ticket | None = None
        arguments = args.audited() | ({"via": via} if via else {})
        try:
            with self._lock:
                try:
                    if decision is None:
                        decision = self.gate.decide(
                            client=client, tool=tool.name, arguments=arguments
                        )
                    if not decision.allowed:
                        outcome = "refused"
                        raise RefusedError(_refusal(decision, client, tool.name, via))
                    cached = self._view(tool, args, decision.window_start)
                    records, origins = cached.cited
                    outcome = "allowed"
                    return cached.view
                finally:
                    ticket = self._audit(
                        client, tool.name, arguments, outcome, records, origins, decision
                    )
        finally:
            if ticket is not None:
                self._written(ticket)

    def _written(self, ticket: Ticket) -> None:
        """Wait until *ticket*'s entry is durable; if it cannot be written, the call fails (its
        answer is not returned) and says so."""
        try:
            self._commits.wait(ticket)
        except Exception as exc:
            log_bug(exc, f"auditing {ticket.event.tool}")
            raise StoreError(UNAUDITED) from None
        audited()

    def _view(self, tool: ToolSpec, args: Arguments, window_start: str | None) -> _Cached:
        """The answer, reused while the vault is unchanged: answers are pure functions of the
        stored records, the arguments (every one of them, in the key) and the window."""
        from healthlocker.records import Scope

        vault = self.vault()
        key = (tool.name, args.key(), window_start)
        version = vault.version()
        hit = self._views.get(key)
        if hit is not None and hit.version == version:
            return hit
        scope = Scope.for_tool(vault, window_start=window_start, patient=args.patient)
        view = tool.answer(scope, args)
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
                arguments=arguments,
                outcome=outcome,
                records=len(records),
                grant_id=decision.grant_id if decision else None,
            ),
            source_ids,
        )


def _refusal(decision: Decision, client: str, tool: str, via: str | None) -> str:
    """Why a call was refused, in words the person can act on. A prompt or a resource cannot
    show the consent prompt, so its refusal names only the command."""
    if via is None:
        return decision.reason
    return (
        f"No grant lets {client!r} use {tool}, whose data {via} shows; {via} cannot ask for "
        f"consent. To allow it, run: {grant_command(client=client, tool=tool)} (or allow "
        f"{tool} when the assistant calls it)"
    )


@dataclass(frozen=True)
class _Cached:
    """An answer, for one version of the vault, and what the audit of every call needs."""

    version: tuple[int, int]
    view: Answer
    cited: tuple[set[str], set[str]]  # a walk of the whole view: done once, not per call


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
