"""The tamper suite: each attack made on a real vault file, without any key, and where it is
caught -- by a read, by ``healthlocker audit --verify`` or by ``healthlocker verify``.

The attacker here holds a copy of the vault folder and SQLite, nothing else: they delete,
relabel and write back rows, whole files and the counter beside the vault. The tests use the
owner's key only to pick the rows an attacker would find by counting and comparing.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import Implementation

from healthlocker.connectors import import_paths
from healthlocker.consent import AuditEvent, AuditLog, ConsentGate, GrantStore
from healthlocker.errors import IntegrityError, RollbackError
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import SAMPLES, run_cli, vault_file

PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"
INFO = Implementation(name="tester", version="1")


def _home(vault: Vault) -> Path:
    assert vault.path is not None
    return vault.path.parent


def _loaded(vault: Vault) -> Path:
    """The person's records as source 'clinic'; the vault closed, as a copy would be."""
    assert import_paths(vault, [PERSON], source="clinic").ok
    vault.close()
    return _home(vault)


def _verify(home: Path) -> str:
    """``healthlocker verify`` as a user runs it: exit 1, one line per problem, no traceback."""
    result = run_cli("verify", home=home)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines
    assert all(line.startswith("healthlocker verify: ") for line in lines), lines
    return result.stderr


def _call(records: int = 1) -> AuditEvent:
    return AuditEvent(client="tester", tool="list_labs", arguments={}, outcome="allowed",
                      records=records)  # fmt: skip


def test_every_kind_of_write_keeps_the_vault_verifiable(vault: Vault, tmp_path: Path) -> None:
    """The manifests follow every legitimate write: imports and updates, grants made and
    revoked, audit entries, OAuth rows replaced, deleted and expired, links, shares, people
    linked, split, renamed and made owner, and forget (which drops the shares holding the
    forgotten source's records and the people placed from it)."""
    from healthlocker.connectors import Link, LinkStore
    from healthlocker.people import People
    from healthlocker.sharing import Shares, records_of_types

    assert import_paths(vault, [PERSON], source="clinic").ok
    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok
    _edit_people(vault)
    assert vault.verify() == []
    grants = GrantStore(vault)
    grants.revoke(grants.add(client="tester", tool="all", duration=timedelta(hours=1)).id)
    grants.add(client="tester", tool="get_meds", duration=timedelta(hours=1))
    ids = {label: sid for sid, label in vault.source_labels().items()}
    for sid in ids.values():
        AuditLog(vault).append(_call(), [sid])
    oauth = vault.table("oauth")
    oauth.put(("code", "a"), expires=time.time() - 1, body=b"{}")
    oauth.put(("code", "b"), expires=time.time() + 60, body=b"{}")
    oauth.put(("code", "b"), expires=time.time() + 90, body=b'{"again": 1}')
    assert oauth.purge_expired() == 1
    assert oauth.delete(("code", "b"))
    link = Link("clinic", "https://ehr.example.com/fhir", "hl", "https://a", "https://t", "p", "s")
    LinkStore(vault).save(link)
    LinkStore(vault).save(link)  # the same name again: its row replaced
    shares, month = Shares(vault), timedelta(days=30)
    medicare = _patient_of(vault, "clinic", other=True)
    for types, whom in ((["Patient"], None), (["Coverage"], medicare)):  # clinic; bluebutton
        summary = records_of_types(vault, types, patient=whom)
        shares.create(summary, base_url="http://127.0.0.1:1", label="x", duration=month,
                      passcode=None, what="records")  # fmt: skip
    obs = json.loads(PERSON.read_text())["entry"][5]["resource"]
    obs["status"] = "amended"
    (tmp_path / "changed.json").write_text(json.dumps(obs))
    assert import_paths(vault, [tmp_path / "changed.json"], source="clinic").totals()["updated"]
    assert vault.verify() == []
    assert vault.forget("clinic") == ["clinic"]
    assert len(shares.list()) == 1
    assert not People.load(vault).owner.patients  # the clinic's placements went with it
    assert vault.verify() == []
    assert AuditLog(vault).verify() == []
    home = _home(vault)
    vault.close()
    result = run_cli("verify", home=home)
    assert result.returncode == 0, result.stderr
    assert "The vault is intact: 13 resources from 1 source(s) and 2 audit entries" in result.stdout


def _patient_of(vault: Vault, label: str, *, other: bool = False) -> str:
    """The reference of the Patient source *label* holds (or, with other, one it does not)."""
    return next(s.ref for s in vault.resources("Patient") if (s.source == label) != other)


def _edit_people(vault: Vault) -> None:
    """Every edit ``healthlocker people`` makes, as it makes them (People.save): the two
    sources' people linked, split again, named, and the other one made owner and back."""
    from healthlocker.people import People

    people = People.load(vault)
    assert len(people.all) == 2  # the clinic's Alexis and Medicare's beneficiary
    owner, other = people.all
    people.link(owner, other)
    people.save(vault)
    people = People.load(vault)
    assert len(people.all) == 1
    people.split([_patient_of(vault, "clinic", other=True)])
    people.save(vault)
    people = People.load(vault)
    owner, other = people.all
    people.rename(other, "Medicare")
    people.make_owner(other)
    people.save(vault)
    people = People.load(vault)
    people.make_owner(people.get(owner.id))
    people.save(vault)
    assert People.load(vault).owner.id == owner.id


# -- index columns ------------------------------------------------------------------------


def test_deleting_every_allergy_by_its_type_tag_is_caught_on_read(vault: Vault) -> None:
    tag = vault.tag("type|AllergyIntolerance")
    home = _loaded(vault)
    with vault_file(home / "vault.db") as conn:
        assert conn.execute("DELETE FROM resources WHERE type_tag = ?", (tag,)).rowcount == 8
    with Vault.open(home) as opened:
        with pytest.raises(IntegrityError, match="integrity check"):
            opened.resources("AllergyIntolerance")

        async def meds() -> None:
            GrantStore(opened).add(client="tester", tool="all", duration=timedelta(hours=1))
            async with Client(build_server(opened), mode="legacy", client_info=INFO) as client:
                result = await client.call_tool("get_meds", {"status": "all"})
            assert result.is_error  # never an answer with no allergies in it
            assert "integrity" in result.content[0].text  # type: ignore[union-attr]

        import anyio

        anyio.run(meds)
    assert "AllergyIntolerance rows of source 'clinic': 0 held, its manifest says 8" in _verify(
        home
    )


def test_a_later_import_does_not_launder_deleted_rows(vault: Vault, tmp_path: Path) -> None:
    """The manifest a write makes vouches for what is there: it is checked before."""
    tag = vault.tag("type|AllergyIntolerance")
    home = _loaded(vault)
    with vault_file(home / "vault.db") as conn:
        conn.execute("DELETE FROM resources WHERE type_tag = ?", (tag,))
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": "new-one",
        "patient": {"reference": "Patient/x"},
        "code": {"text": "cat dander"},
    }
    (tmp_path / "more.json").write_text(json.dumps(allergy))
    result = run_cli("import", str(tmp_path / "more.json"), "--source", "clinic", home=home)
    assert result.returncode == 1
    assert "do not match their manifest; nothing was imported" in result.stderr
    assert "0 held, its manifest says 8" in _verify(home)


def test_relabelling_an_allergy_as_a_condition_is_caught_on_read(vault: Vault) -> None:
    allergy, condition = vault.tag("type|AllergyIntolerance"), vault.tag("type|Condition")
    home = _loaded(vault)
    with vault_file(home / "vault.db") as conn:
        conn.execute(
            "UPDATE resources SET type_tag = ? WHERE id = "
            "(SELECT min(id) FROM resources WHERE type_tag = ?)",
            (condition, allergy),
        )
    with Vault.open(home) as opened, pytest.raises(IntegrityError):
        opened.resources("Condition")
    problems = _verify(home)
    assert "Condition rows of source 'clinic': 3 held, its manifest says 2" in problems
    assert "does not open (edited, moved or relabelled)" in problems


@pytest.mark.parametrize("with_digest", [True, False], ids=["body-and-digest", "body-only"])
def test_writing_back_an_older_lab_value_is_caught_on_read(
    vault: Vault, tmp_path: Path, with_digest: bool
) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "a1c",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "effectiveDateTime": "2024-03-01",
        "valueQuantity": {"value": 9.1, "unit": "%"},
    }
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(obs))
    assert import_paths(vault, [path], source="lab").ok
    with vault_file(vault.path) as conn:
        old = conn.execute("SELECT id, digest, body FROM resources").fetchone()
    obs["valueQuantity"]["value"] = 6.2
    path.write_text(json.dumps(obs))
    assert import_paths(vault, [path], source="lab").totals()["updated"] == 1
    home = _home(vault)
    vault.close()
    with vault_file(home / "vault.db") as conn:
        if with_digest:
            conn.execute(
                "UPDATE resources SET digest = ?, body = ? WHERE id = ?", old[1:] + old[:1]
            )
        else:
            conn.execute("UPDATE resources SET body = ? WHERE id = ?", (old[2], old[0]))
    with Vault.open(home) as opened, pytest.raises(IntegrityError):
        opened.resources("Observation", terms=["code|http://loinc.org|4548-4"])
    expected = (
        "Observation rows of source 'lab' differ from its manifest"
        if with_digest
        else "row 1 of source 'lab' does not open"
    )
    assert expected in _verify(home)


def test_hiding_lab_results_by_deleting_their_category_terms_is_caught(vault: Vault) -> None:
    labs = vault.tag("Observation|cat||laboratory")
    home = _loaded(vault)
    with vault_file(home / "vault.db") as conn:
        assert conn.execute("DELETE FROM resource_terms WHERE tag = ?", (labs,)).rowcount > 10
    with Vault.open(home) as opened, pytest.raises(IntegrityError):
        opened.resources("Observation", terms=["cat||laboratory"])
    assert "index terms do not follow from its content" in _verify(home)


def test_moving_a_result_out_of_a_window_by_its_month_tag_is_caught(vault: Vault) -> None:
    home = _loaded(vault)
    with Vault.open(home) as opened:
        [first, *_] = opened.resources("Observation")
        month = first.resource["effectiveDateTime"][:7]
        other = opened.tag(f"month|Observation|{int(month[:4]) - 30}-01")
    with vault_file(home / "vault.db") as conn:
        conn.execute("UPDATE resources SET month_tag = ? WHERE id = ?", (other, first.rowid))
    with Vault.open(home) as opened, pytest.raises(IntegrityError):
        opened.resources("Observation", since=f"{month}-01", until=f"{month}-28")
    assert "does not open (edited, moved or relabelled)" in _verify(home)


def test_a_source_removed_with_all_its_rows_is_caught(vault: Vault) -> None:
    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok
    home = _loaded(vault)
    with vault_file(home / "vault.db") as conn:
        [(sid,)] = conn.execute(
            "SELECT source_id FROM resources GROUP BY source_id ORDER BY count(*) LIMIT 1"
        ).fetchall()
        conn.execute(
            "DELETE FROM resource_terms WHERE resource_id IN "
            "(SELECT id FROM resources WHERE source_id = ?)",
            (sid,),
        )
        for table, column in (("resources", "source_id"), ("batches", "source_id"),
                              ("keys", "owner"), ("sources", "id")):  # fmt: skip
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (sid,))
    with Vault.open(home) as opened, pytest.raises(IntegrityError, match="a source was removed"):
        opened.resources("Coverage")
    assert f"source {sid} is gone" in _verify(home)


# -- sealed tables ------------------------------------------------------------------------


def test_a_revoked_grant_written_back_live_is_refused(vault: Vault) -> None:
    store = GrantStore(vault)
    grant = store.add(client="tester", tool="all", duration=timedelta(hours=1))
    with vault_file(vault.path) as conn:
        [(live,)] = conn.execute("SELECT body FROM grants").fetchall()
    store.revoke(grant.id)
    home = _home(vault)
    vault.close()
    with vault_file(home / "vault.db") as conn:
        conn.execute("UPDATE grants SET body = ? WHERE id = ?", (live, grant.id))
    with Vault.open(home) as opened, pytest.raises(IntegrityError, match="grants table"):
        ConsentGate(opened).decide(client="tester", tool="list_labs", arguments={})
    listed = run_cli("grants", home=home)
    assert listed.returncode == 1
    assert "grants table does not match its manifest" in listed.stderr
    assert "grants: rows differ from its manifest" in _verify(home)


def test_a_revoked_share_written_back_live_is_refused(vault: Vault) -> None:
    from healthlocker.sharing import Shares, records_of_types

    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok
    shares = Shares(vault)
    made = shares.create(
        records_of_types(vault, ["Coverage"]),
        base_url="http://127.0.0.1:1",
        label="x",
        duration=timedelta(days=1),
        passcode=None,
        what="records",
    )
    with vault_file(vault.path) as conn:
        [live] = conn.execute("SELECT * FROM shares").fetchall()
    shares.revoke(made.id)
    home = _home(vault)
    vault.close()
    with vault_file(home / "vault.db") as conn:
        conn.execute(f"INSERT INTO shares VALUES ({', '.join('?' * len(live))})", live)
    with Vault.open(home) as opened, pytest.raises(IntegrityError, match="shares table"):
        Shares(opened).list()
    listed = run_cli("share", "--list", home=home)
    assert listed.returncode == 1
    assert "shares table does not match its manifest" in listed.stderr
    assert "shares: 1 rows, its manifest says 0 (rows deleted or added)" in _verify(home)


def test_two_people_linked_again_by_writing_back_the_people_table_are_refused(
    vault: Vault,
) -> None:
    """Two people the owner split apart, put together again by writing back the table as it
    was while linked, would pool their records in every answer: refused instead."""
    from healthlocker.people import People

    assert import_paths(vault, [PERSON], source="clinic").ok
    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok
    people = People.load(vault)
    people.link(*people.all)
    people.save(vault)
    with vault_file(vault.path) as conn:
        linked = conn.execute("SELECT * FROM people").fetchall()
    people = People.load(vault)
    people.split([_patient_of(vault, "clinic", other=True)])
    people.save(vault)
    home = _home(vault)
    vault.close()
    with vault_file(home / "vault.db") as conn:
        conn.execute("DELETE FROM people")
        conn.executemany(f"INSERT INTO people VALUES ({', '.join('?' * len(linked[0]))})", linked)
    with Vault.open(home) as opened:
        with pytest.raises(IntegrityError, match="people table"):
            People.load(opened)

        async def meds() -> None:
            GrantStore(opened).add(client="tester", tool="all", duration=timedelta(hours=1))
            async with Client(build_server(opened), mode="legacy", client_info=INFO) as client:
                result = await client.call_tool("get_meds", {"status": "all"})
            assert result.is_error  # never an answer pooling two people
            assert "people table does not match" in result.content[0].text  # type: ignore[union-attr]

        import anyio

        anyio.run(meds)
    listed = run_cli("people", home=home)
    assert listed.returncode == 1
    assert "people table does not match its manifest" in listed.stderr
    assert "people: 3 rows, its manifest says 4 (rows deleted or added)" in _verify(home)


def test_a_token_row_whose_expiry_was_moved_is_refused(vault: Vault) -> None:
    oauth = vault.table("oauth")
    oauth.put(("refresh", "r1"), expires=time.time() + 60, body=b"{}")
    with vault_file(vault.path) as conn:
        conn.execute("UPDATE oauth SET expires = expires + 86400")
    with pytest.raises(IntegrityError, match="oauth table"):
        oauth.body(("refresh", "r1"))
    vault.close()
    assert "oauth: rows differ from its manifest" in _verify(_home(vault))


# -- the audit log and rollback -----------------------------------------------------------


def _audited(vault: Vault, n: int) -> Path:
    log = AuditLog(vault)
    for i in range(n):
        log.append(_call(i), [])
    vault.close()
    return _home(vault)


def test_wiping_the_audit_log_and_its_head_is_caught(vault: Vault) -> None:
    home = _audited(vault, 5)
    with vault_file(home / "vault.db") as conn:
        conn.execute("DELETE FROM audit")
        conn.execute("DELETE FROM meta WHERE name = 'state'")
    result = run_cli("audit", "--verify", home=home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "state record is missing" in result.stderr
    assert "state record:" in _verify(home)


def test_wiping_the_audit_rows_alone_is_caught(vault: Vault) -> None:
    home = _audited(vault, 5)
    with vault_file(home / "vault.db") as conn:
        conn.execute("DELETE FROM audit")
    result = run_cli("audit", "--verify", home=home)
    assert result.returncode == 1
    assert "ends at entry 0 but its head says 5" in result.stderr
    assert "audit entry 1: the log ends at entry 0" in _verify(home)


def test_cutting_the_tail_and_writing_back_an_older_head_is_caught(vault: Vault) -> None:
    log = AuditLog(vault)
    for i in range(3):
        log.append(_call(i), [])
    with vault_file(vault.path) as conn:
        [(older,)] = conn.execute("SELECT value FROM meta WHERE name = 'state'").fetchall()
    home = _audited(vault, 2)
    with vault_file(home / "vault.db") as conn:
        conn.execute("DELETE FROM audit WHERE seq > 3")
        conn.execute("UPDATE meta SET value = ? WHERE name = 'state'", (older,))
    result = run_cli("audit", "--verify", home=home)
    assert result.returncode == 1
    assert "rolled back or restored from a backup" in result.stderr
    assert "Traceback" not in result.stderr
    assert "rollback: the vault is at epoch" in _verify(home)


def test_a_whole_vault_file_rolled_back_is_caught_and_a_restore_can_be_accepted(
    vault: Vault, tmp_path: Path
) -> None:
    grant = GrantStore(vault).add(client="tester", tool="all", duration=timedelta(hours=1))
    home = _home(vault)
    vault.close()
    shutil.copy(home / "vault.db", tmp_path / "backup.db")
    assert run_cli("revoke", "--all", home=home).returncode == 0
    shutil.copy(tmp_path / "backup.db", home / "vault.db")
    with pytest.raises(RollbackError):
        Vault.open(home)
    listed = run_cli("grants", home=home)
    assert listed.returncode == 1
    assert "verify --accept-restore" in listed.stderr
    assert "rollback:" in _verify(home)
    accepted = run_cli("verify", "--accept-restore", home=home)
    assert accepted.returncode == 0, accepted.stderr
    assert "review `healthlocker grants`" in accepted.stdout
    with Vault.open(home) as opened:  # the person chose this state: the grant is back
        assert [g.id for g in GrantStore(opened).all()] == [grant.id]


def test_the_keyring_catches_a_rollback_that_took_the_counter_file_too(file_keyring: Path) -> None:
    tmp_path = file_keyring
    home = tmp_path / "v"
    with Vault.create(home, passphrase=None, keyring=True) as vault:
        AuditLog(vault).append(_call(), [])
    shutil.copytree(home, tmp_path / "copy")
    with Vault.open(home) as vault:
        AuditLog(vault).append(_call(), [])
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "copy", home)  # the vault and its counter file, both older
    with pytest.raises(RollbackError):
        Vault.open(home)
    (home / "vault.counter").unlink()
    with pytest.raises(RollbackError):
        Vault.open(home)


def test_without_a_keyring_a_rollback_of_the_file_and_its_counter_is_not_seen(
    vault: Vault, tmp_path: Path
) -> None:
    """The documented limit (docs/security.md): the counter file is only as safe as where it
    is kept. Rolled back together with the vault, it cannot tell."""
    home = _audited(vault, 1)
    shutil.copytree(home, tmp_path / "copy")
    with Vault.open(home) as opened:
        AuditLog(opened).append(_call(), [])
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "copy", home)
    with Vault.open(home) as opened:
        assert AuditLog(opened).verify() == []
        assert len(AuditLog(opened).entries()) == 1


# -- leakage ------------------------------------------------------------------------------


def test_the_same_records_under_two_labels_share_no_tag_or_digest(
    vault: Vault, tmp_path: Path
) -> None:
    # The same file under a second label is the one source it is already (its content is
    # what it is); the same records in another file (here: spelled out again) are a second.
    again = tmp_path / "again.json"
    again.write_text(json.dumps(json.loads(PERSON.read_text()), indent=1))
    assert import_paths(vault, [PERSON], source="first").ok
    assert import_paths(vault, [PERSON], source="second").totals()["added"] == 0
    assert list(vault.source_labels().values()) == ["first"]
    assert import_paths(vault, [again], source="second").ok
    with vault_file(vault.path) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM sources ORDER BY id")]
        columns = {}
        for column, table in (("rkey", "resources"), ("digest", "resources"),
                              ("file_tag", "batches")):  # fmt: skip
            columns[column] = [
                {r[0] for r in conn.execute(
                    f"SELECT {column} FROM {table} WHERE source_id = ?", (sid,))}
                for sid in ids
            ]  # fmt: skip
    for column, (first, second) in columns.items():
        assert first, column
        assert not first & second, column
    assert len(vault.resources("AllergyIntolerance")) == 8  # one copy of each, as before


def test_an_audit_entry_names_its_sources_only_sealed(vault: Vault) -> None:
    assert import_paths(vault, [PERSON], source="clinic").ok
    [sid] = vault.source_labels()
    AuditLog(vault).append(_call(), [sid])
    with vault_file(vault.path) as conn:
        [(sources,)] = conn.execute("SELECT sources FROM audit").fetchall()
    assert sid.encode() not in sources
    assert json.loads(vault.table("audit").open(1, sources, "sources")) == [sid]
