"""Group commit: concurrent calls' audit entries share one commit, each call's exactly once."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from healthlocker.catalogue import tool
from healthlocker.consent import AuditEvent, AuditLog, ConsentGate, GrantStore, OpenGate
from healthlocker.errors import StoreError
from healthlocker.server._commit import GroupCommit
from healthlocker.server._state import ServerState
from healthlocker.store import Vault
from helpers import with_view


def event(tool: str) -> AuditEvent:
    return AuditEvent(client="tester", tool=tool, arguments={}, outcome="allowed")


class BatchGate(OpenGate):
    """Keeps events in memory, all or none per batch, and fails on the tool named 'bad'."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def record(self, event: AuditEvent, sources: list[str] | None = None) -> None:
        if event.tool == "bad":
            raise OSError("disk full")
        super().record(event, sources)

    def record_many(self, items: list[tuple[AuditEvent, list[str]]]) -> None:
        if any(e.tool == "bad" for e, _ in items):
            raise OSError("disk full")  # nothing written, as a rolled-back transaction
        self.batches.append(len(items))
        self.events += [e for e, _ in items]


def test_entries_queued_meanwhile_are_written_by_the_first_waiter_in_one_batch() -> None:
    lock, gate = threading.Lock(), BatchGate()
    commits = GroupCommit(lock, lambda: gate)
    with lock:  # three calls queue while the connection is busy
        tickets = [commits.queue(event(t), []) for t in ("list_labs", "get_meds", "list_visits")]
    commits.wait(tickets[1])
    assert gate.batches == [3]
    assert [e.tool for e in gate.events] == ["list_labs", "get_meds", "list_visits"]
    for t in tickets:
        commits.wait(t)  # already done: nothing written twice
    assert gate.batches == [3]


def test_an_entry_that_cannot_be_written_fails_its_own_call_only() -> None:
    lock, gate = threading.Lock(), BatchGate()
    commits = GroupCommit(lock, lambda: gate)
    with lock:
        good, bad, last = (commits.queue(event(t), []) for t in ("list_labs", "bad", "get_meds"))
    with pytest.raises(OSError, match="disk full"):
        commits.wait(bad)
    commits.wait(good)
    commits.wait(last)
    assert [e.tool for e in gate.events] == ["list_labs", "get_meds"]


class View(BaseModel):
    n: int


def constant(reader: Any, **arguments: Any) -> View:
    """A view that reads nothing: its number is the call's limit."""
    return View(n=arguments.get("limit", 1))


LABS = with_view(tool("list_labs"), constant)


def test_concurrent_calls_are_each_audited_once_in_an_intact_chain(vault: Vault) -> None:
    GrantStore(vault).add(client="tester", tool="all", duration=timedelta(hours=1))
    state = ServerState(vault, ConsentGate, None)
    entered = threading.Barrier(8)

    def call(i: int) -> int:
        entered.wait()
        view = state.run(client="tester", tool=LABS, args=LABS.input(limit=i))
        assert isinstance(view, View)
        return view.n

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(call, range(1, 41))) == list(range(1, 41))
    log = AuditLog(vault)
    entries = log.entries()
    assert sorted(e.event.arguments["limit"] for e in entries) == list(range(1, 41))
    assert {e.event.outcome for e in entries} == {"allowed"}
    assert log.verify() == []


def test_a_call_whose_entry_cannot_be_written_returns_no_data(vault: Vault) -> None:
    state = ServerState(vault, BatchGate(), None)
    bad = dataclasses.replace(LABS, name="bad")
    # The cause stays in the server log; the call says only that it was stopped, unaudited.
    with pytest.raises(StoreError, match="could not write this call's audit entry") as raised:
        state.run(client="tester", tool=bad, args=bad.input())
    assert "disk full" not in str(raised.value)
