"""Grants as the gate reads them: opened once, yet every change anywhere counts at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from healthlocker.consent import ConsentGate, GrantStore
from healthlocker.errors import IntegrityError
from healthlocker.store import Vault
from helpers import vault_file


def test_a_grant_revoked_in_another_process_refuses_the_next_call(vault: Vault, home: Path) -> None:
    grant = GrantStore(vault).add(client="tester", tool="get_meds", duration=timedelta(hours=1))
    gate = ConsentGate(vault)
    assert gate.decide(client="tester", tool="get_meds", arguments={}).allowed  # now cached
    with Vault.open(home, prompt=None) as other:  # another connection, as the CLI
        GrantStore(other).revoke(grant.id)
    assert not gate.decide(client="tester", tool="get_meds", arguments={}).allowed


def test_a_grant_made_or_deleted_elsewhere_is_seen_on_the_next_read(vault: Vault) -> None:
    gate = ConsentGate(vault)
    assert not gate.decide(client="tester", tool="list_labs", arguments={}).allowed
    GrantStore(vault).add(client="tester", tool="all", duration=timedelta(hours=1))
    assert gate.decide(client="tester", tool="list_labs", arguments={}).allowed
    with Vault.open(vault.path.parent) as other:  # type: ignore[union-attr]  # another process
        assert other.table("grants").delete_where() == 1
    assert gate.grants.all() == []


def test_an_opened_grant_moved_to_another_row_still_fails_its_check(vault: Vault) -> None:
    store = GrantStore(vault)
    first = store.add(client="tester", tool="get_meds", duration=timedelta(hours=1))
    second = store.add(client="tester", tool="list_labs", duration=timedelta(hours=1))
    assert len(store.all()) == 2  # both opened and remembered
    with vault_file(vault.path) as conn:
        body = conn.execute("SELECT body FROM grants WHERE id = ?", (first.id,)).fetchone()[0]
        conn.execute("UPDATE grants SET body = ? WHERE id = ?", (body, second.id))
    with pytest.raises(IntegrityError):
        store.all()
