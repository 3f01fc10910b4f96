"""The store's one door: its transaction helper and the sealed tables it declares."""

from __future__ import annotations

import json
import sqlite3

import pytest

from healthlocker.consent import GrantStore
from healthlocker.errors import IntegrityError, StoreError
from healthlocker.store import Vault
from healthlocker.store._tables import TABLES
from helpers import vault_file


def _ids(vault: Vault) -> list[str]:
    return [row[0] for row in vault.table("grants").rows("id")]


class Midway(Exception):
    """Something going wrong inside a transaction."""


def _write_then_fail(vault: Vault, *ids: str, error: type[BaseException] = Midway) -> None:
    with vault.transaction():
        for grant_id in ids:
            vault.table("grants").put(grant_id, body=b"x")
        raise error


def test_a_transaction_writes_all_or_nothing(vault: Vault) -> None:
    grants = vault.table("grants")
    with vault.transaction():
        grants.put("a", body=b"1")
        grants.put("b", body=b"2")
    with pytest.raises(Midway):
        _write_then_fail(vault, "c", "d")
    assert _ids(vault) == ["a", "b"]


def test_an_interrupt_rolls_back_too(vault: Vault) -> None:
    with pytest.raises(KeyboardInterrupt):
        _write_then_fail(vault, "a", error=KeyboardInterrupt)
    assert _ids(vault) == []
    with vault.transaction():  # and the vault takes the next transaction as usual
        vault.table("grants").put("b", body=b"2")
    assert _ids(vault) == ["b"]


def test_a_failed_inner_transaction_undoes_only_its_own_writes(vault: Vault) -> None:
    grants = vault.table("grants")
    with vault.transaction():
        grants.put("outer", body=b"1")
        with pytest.raises(Midway):
            _write_then_fail(vault, "inner")
        with vault.transaction():
            grants.put("second", body=b"3")
    assert _ids(vault) == ["outer", "second"]


def test_a_failed_outer_transaction_undoes_its_finished_inner_ones(vault: Vault) -> None:
    def inner_done_then_fail() -> None:
        with vault.transaction():
            with vault.transaction():
                vault.table("grants").put("inner", body=b"1")
            raise Midway

    with pytest.raises(Midway):
        inner_done_then_fail()
    assert _ids(vault) == []


def test_a_transaction_holds_the_write_lock_from_its_start(vault: Vault) -> None:
    """BEGIN IMMEDIATE: a check-then-write inside cannot race another process."""
    assert vault.path is not None
    other = sqlite3.connect(vault.path, timeout=0)
    try:
        with vault.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_a_sealed_value_moved_to_another_row_or_table_fails_to_open(vault: Vault) -> None:
    grants = vault.table("grants")
    grants.put("a", body=b"first")
    grants.put("b", body=b"second")
    [(token,)] = [row[1:] for row in grants.rows("id", "body") if row[0] == "a"]
    assert grants.open("a", token) == b"first"
    with pytest.raises(IntegrityError):
        grants.open("b", token)
    with pytest.raises(IntegrityError):
        vault.table("links").open("a", token)
    with vault_file(vault.path) as conn:
        conn.execute("UPDATE grants SET body = ? WHERE id = 'b'", (token,))
    with pytest.raises(IntegrityError):
        grants.body("b")


def test_values_are_sealed_on_disk(vault: Vault) -> None:
    vault.table("oauth").put(("client", "c1"), expires=None, body=b"plain words here")
    vault.scrub()
    assert vault.path is not None
    blob = b"".join(p.read_bytes() for p in vault.path.parent.iterdir() if p.is_file())
    assert b"plain words here" not in blob
    assert vault.table("oauth").body(("client", "c1")) == b"plain words here"


def test_an_expired_row_reads_as_gone_and_is_purged(vault: Vault) -> None:
    oauth = vault.table("oauth")
    oauth.put(("code", "old"), expires=1.0, body=b"{}")  # 1970
    oauth.put(("code", "new"), expires=4102444800.0, body=b"{}")  # 2100
    oauth.put(("key", "lasting"), expires=None, body=b"{}")
    assert not oauth.has(("code", "old"))
    assert oauth.body(("code", "old")) is None
    assert [r[0] for r in oauth.rows("id")] == ["new", "lasting"]
    assert oauth.purge_expired() == 1
    assert oauth.delete_where(kind="code") == 1  # only the live one was left
    assert oauth.has(("key", "lasting"))


def test_an_insert_never_overwrites(vault: Vault) -> None:
    audit = vault.table("audit")
    row = {"detail": None, "detail_mac": b"m", "sources": b"", "chain": b"c"}
    audit.insert(1, core=b"first", **row)
    with pytest.raises(sqlite3.IntegrityError):
        audit.insert(1, core=b"second", **row)
    [(core,)] = audit.rows("core")
    assert audit.open(1, core, "core") == b"first"


def test_misuse_is_a_clear_store_error(vault: Vault) -> None:
    with pytest.raises(StoreError, match="declares no table 'resources'"):
        vault.table("resources")
    grants = vault.table("grants")
    with pytest.raises(StoreError, match="no column 'secret'"):
        grants.rows("id", secret="x")
    with pytest.raises(StoreError, match="no column 'secret'"):
        grants.put("a", secret=b"x")
    with pytest.raises(StoreError, match="not a sealed column"):
        grants.seal("a", b"x", "id")
    with pytest.raises(StoreError, match="not a chained table"):
        grants.head()
    with pytest.raises(StoreError, match="not found by name"):
        grants.tag("x")
    with pytest.raises(StoreError, match="inside a transaction"), vault.transaction():
        vault.scrub()


def test_a_vault_missing_a_declared_table_gains_it_and_a_slipped_in_row_is_refused(
    vault: Vault,
) -> None:
    """The store creates whatever declared table a vault lacks; a row put there from outside,
    even one sealed with the vault's own key (a grant from an earlier state), is not one the
    state record vouches for."""
    home = vault.path.parent  # type: ignore[union-attr]
    grant = {
        "id": "g1",
        "client": "tester",
        "tool": "list_labs",
        "created": "2024-01-01T00:00:00+00:00",
        "expires": "2100-01-01T00:00:00+00:00",
        "window": "all",
        "revoked": None,
    }
    sealed = vault.seal_meta(json.dumps(grant).encode(), table="grants", row="g1")
    vault.close()
    with vault_file(home / "vault.db") as conn:
        for name in TABLES:
            conn.execute(f"DROP TABLE {name}")
        conn.execute("CREATE TABLE grants (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
    with Vault.open(home) as reopened:
        assert GrantStore(reopened).all() == []
        for name in TABLES:
            assert reopened.table(name).rows() == []
    with vault_file(home / "vault.db") as conn:
        conn.execute("INSERT INTO grants VALUES ('g1', ?)", (sealed,))
    with Vault.open(home) as reopened, pytest.raises(IntegrityError, match="grants table"):
        GrantStore(reopened).all()


def test_a_vault_of_the_previous_format_is_refused_with_what_to_do(vault: Vault) -> None:
    home = vault.path.parent  # type: ignore[union-attr]
    vault.close()
    with vault_file(home / "vault.db") as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE name = 'format'")
    with pytest.raises(StoreError, match=r"older healthlocker \(vault format 1.*export"):
        Vault.open(home)
