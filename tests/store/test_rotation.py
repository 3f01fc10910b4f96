"""Changing the passphrase, and rotating the master key: what each takes away from an attacker
holding an old copy of the vault and its old passphrase (see docs/security.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from healthlocker.connectors import import_paths
from healthlocker.consent import AuditEvent, AuditLog
from healthlocker.errors import IntegrityError, UnlockError
from healthlocker.store import Vault
from healthlocker.store._crypto import KeySet, unseal
from healthlocker.store._db import Database
from healthlocker.store._schema import connect
from healthlocker.store._unlock import open_slot
from helpers import PASSPHRASE, SAMPLES, run_cli, vault_file

PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"
NEW = "a new and longer passphrase"


def _files(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())


def _slot(vault: Vault) -> bytes:
    with vault_file(vault.path) as conn:
        [(wrapped,)] = conn.execute("SELECT wrapped FROM slots WHERE name = 'passphrase'")
    return bytes(wrapped)


def test_a_new_passphrase_leaves_no_old_slot_while_a_server_has_the_vault_open(
    vault: Vault, home: Path
) -> None:
    """Regression: the old wrapped key stayed in the file while another connection held it."""
    old = _slot(vault)
    with Vault.open(home) as server:
        assert server.table("grants").rows() == []  # it has read, and stays open
        assert vault.change_passphrase(NEW) is True
        files = _files(home)
        assert old[21:53] not in files  # not a piece of the old slot's ciphertext
        assert _slot(vault)[21:53] in files


def test_a_read_in_progress_keeps_the_old_slot_until_it_ends_and_says_so(
    vault: Vault, home: Path
) -> None:
    old = _slot(vault)
    with vault_file(vault.path) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM slots").fetchall()
        assert vault.change_passphrase(NEW) is False
        reader.rollback()
    assert vault.scrub() is True
    assert old[21:53] not in _files(home)


def test_rotation_cuts_off_an_old_copy_and_its_old_passphrase(
    vault: Vault, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: an old copy and the old passphrase opened data written after two passphrase
    changes (the master key never changed)."""
    assert import_paths(vault, [PERSON], source="clinic").ok
    vault_id = vault.vault_id
    vault.scrub()
    shutil.copytree(home, tmp_path / "old")  # the attacker's copy, before the rotation
    assert vault.change_passphrase(NEW, rotate=True) is True
    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok  # written after the rotation
    call = AuditEvent(client="c", tool="list_labs", arguments={}, outcome="allowed")
    AuditLog(vault).append(call, [])
    vault.close()

    old_db = Database(connect(tmp_path / "old" / "vault.db"), tmp_path / "old" / "vault.db")
    old_vmk = KeySet.single(vault_id[:16], open_slot(old_db, vault_id, "passphrase", PASSPHRASE))
    old_db.close()
    with vault_file(tmp_path / "old" / "vault.db") as conn:
        old_ids = {r[0] for r in conn.execute("SELECT id FROM keys")}
        old_sources = [r[0] for r in conn.execute("SELECT id FROM sources")]
    with vault_file(home / "vault.db") as conn:
        keys = conn.execute("SELECT id, owner, wrapped FROM keys").fetchall()
        [(audit_core,)] = conn.execute("SELECT core FROM audit")
        new_bodies = conn.execute(
            "SELECT body FROM resources WHERE source_id != ?", (old_sources[0],)
        ).fetchall()
    for key_id, owner, wrapped in keys:  # no key of the new file opens with the old master key
        with pytest.raises(IntegrityError):
            unseal(old_vmk, wrapped, context={"t": "keys", "row": key_id, "src": owner})
    assert bytes(audit_core)[1:9].hex() not in old_ids  # sealed with the new vault key
    assert len(new_bodies) == 13  # the bluebutton records, each under a key the copy lacks
    assert all(bytes(b)[1:9].hex() not in old_ids for (b,) in new_bodies)

    with pytest.raises(UnlockError):
        Vault.open(home)  # the old passphrase no longer opens it
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", NEW)
    verified = run_cli("verify", home=home, env={"HEALTHLOCKER_PASSPHRASE": NEW})
    assert verified.returncode == 0, verified.stderr
    with Vault.open(home) as reopened:  # what the old keys sealed still opens
        assert len(reopened.resources("AllergyIntolerance")) == 8
        assert len(AuditLog(reopened).entries()) == 1


def test_rotation_keeps_the_keyring_unlocking(file_keyring: Path) -> None:
    tmp_path = file_keyring
    with Vault.create(tmp_path / "v", passphrase=PASSPHRASE, keyring=True) as vault:
        assert import_paths(vault, [PERSON]).ok
        vault.change_passphrase(NEW, rotate=True)
    with Vault.open(tmp_path / "v") as reopened:  # through the keyring slot, re-wrapped
        assert len(reopened.resources("AllergyIntolerance")) == 8
        assert reopened.check_passphrase(NEW)
        assert not reopened.check_passphrase(PASSPHRASE)


def test_the_cli_says_what_a_passphrase_change_did(home: Path) -> None:
    assert run_cli("init", home=home).returncode == 0
    plain = run_cli("passphrase", home=home, env={"HEALTHLOCKER_NEW_PASSPHRASE": NEW})
    assert plain.returncode == 0
    assert "the master key is the same (use --rotate" in plain.stdout
    rotated = run_cli(
        "passphrase",
        "--rotate",
        home=home,
        env={"HEALTHLOCKER_PASSPHRASE": NEW, "HEALTHLOCKER_NEW_PASSPHRASE": PASSPHRASE},
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "a new master key made" in rotated.stdout
    assert run_cli("verify", home=home).returncode == 0
