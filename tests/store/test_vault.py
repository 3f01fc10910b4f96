"""The vault against the real files it writes: unlock, tampering, idempotency, export, forget."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from healthlocker.connectors import import_paths
from healthlocker.errors import (
    IntegrityError,
    SourceNotFoundError,
    UnlockError,
    VaultExistsError,
    VaultNotFoundError,
)
from healthlocker.store import Vault, export_bundle
from helpers import SAMPLES, load_json, sample_files, vault_file


def _expected_ids() -> set[tuple[str, str]]:
    ids = set()
    for path in sample_files():
        doc = load_json(path)
        entries = (
            [e["resource"] for e in doc.get("entry", [])]
            if doc["resourceType"] == "Bundle"
            else [doc]
        )
        ids |= {
            (r["resourceType"], r["id"]) for r in entries if r["resourceType"] != "OperationOutcome"
        }
    return ids


def _all_ids(vault: Vault) -> set[tuple[str, str]]:
    return {(r["resourceType"], r["id"]) for r in vault.iter_all()}


def test_every_sample_imports_with_its_ids(loaded_vault: Vault) -> None:
    assert _all_ids(loaded_vault) == _expected_ids()


def test_urn_uuid_references_resolve_to_stored_resources(loaded_vault: Vault) -> None:
    stored = _all_ids(loaded_vault)
    refs = []
    for r in loaded_vault.resources("Observation"):
        ref = r.resource["subject"]["reference"]
        assert not ref.startswith("urn:"), ref
        refs.append(tuple(ref.split("/")))
    assert refs
    assert all(ref in stored for ref in refs)


def _rows(vault: Vault, sql: str) -> list[tuple[object, ...]]:
    with vault_file(vault.path) as conn:
        return conn.execute(sql).fetchall()


def test_reimport_changes_nothing(vault: Vault) -> None:
    first = import_paths(vault, [SAMPLES / "synthea"])
    rows = _rows(vault, "SELECT id, digest, body FROM resources ORDER BY id")
    again = import_paths(vault, [SAMPLES / "synthea"])
    assert first.totals()["added"] > 1000
    assert again.totals()["added"] == again.totals()["updated"] == 0
    assert _rows(vault, "SELECT id, digest, body FROM resources ORDER BY id") == rows
    # The same records laid out differently are new bytes, but every resource is unchanged.
    copy = vault.path.parent.parent / "copy.json"  # type: ignore[union-attr]
    copy.write_text(json.dumps(load_json(SAMPLES / "synthea" / sample_files()[-1].name), indent=1))
    third = import_paths(vault, [copy], source="synthea")
    assert third.totals()["added"] == third.totals()["updated"] == 0
    assert third.totals()["unchanged"] > 0


def test_changed_resource_is_updated_in_place(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1.5, "unit": "mg/dL"},
    }
    path.write_text(json.dumps(obs))
    import_paths(vault, [path])
    obs["valueQuantity"]["value"] = 2.5
    path.write_text(json.dumps(obs))
    report = import_paths(vault, [path])
    assert report.totals()["updated"] == 1
    [stored] = vault.resources("Observation")
    assert stored.resource["valueQuantity"]["value"] == 2.5


def test_wrong_passphrase_is_refused(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", "not it")
    with pytest.raises(UnlockError, match="wrong passphrase"):
        Vault.open(vault.path.parent)  # type: ignore[union-attr]


def test_init_twice_and_open_missing(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(VaultExistsError):
        Vault.create(vault.path.parent, passphrase="x")  # type: ignore[union-attr]
    with pytest.raises(VaultNotFoundError, match="healthlocker init"):
        Vault.open(tmp_path / "nowhere")


def test_passphrase_change_rewraps_without_resealing(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_paths(vault, [SAMPLES / "bluebutton"])
    bodies = _rows(vault, "SELECT body FROM resources ORDER BY id")
    vault.change_passphrase("a new long passphrase")
    home = vault.path.parent  # type: ignore[union-attr]
    vault.close()
    with pytest.raises(UnlockError):
        Vault.open(home)
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", "a new long passphrase")
    with Vault.open(home) as reopened:
        assert _rows(reopened, "SELECT body FROM resources ORDER BY id") == bodies
        assert len(list(reopened.iter_all())) == len(bodies)


def test_keyring_unlock(file_keyring: Path) -> None:
    tmp_path = file_keyring
    with Vault.create(tmp_path / "v", passphrase=None, keyring=True) as v:
        import_paths(v, [SAMPLES / "bluebutton"])
    with Vault.open(tmp_path / "v") as v:
        assert len(list(v.iter_all())) == 13
    import keyring

    keyring.delete_password("healthlocker", f"vault-{v.vault_id}")
    with pytest.raises(UnlockError, match="keyring"):
        Vault.open(tmp_path / "v")


def _flip(db: Path, sql: str, mutate) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(db)
    rows = conn.execute(sql).fetchall()
    mutate(conn, rows)
    conn.commit()
    conn.close()


def test_flipped_byte_is_detected_on_read(vault: Vault) -> None:
    import_paths(vault, [SAMPLES / "bluebutton"])
    path = vault.path
    vault.close()

    def flip(conn: sqlite3.Connection, rows: list[tuple[int, bytes]]) -> None:
        rowid, body = rows[0]
        body = bytearray(body)
        body[len(body) // 2] ^= 0x40
        conn.execute("UPDATE resources SET body = ? WHERE id = ?", (bytes(body), rowid))

    _flip(path, "SELECT id, body FROM resources LIMIT 1", flip)  # type: ignore[arg-type]
    with Vault.open(path.parent) as v, pytest.raises(IntegrityError):  # type: ignore[union-attr]
        list(v.iter_all())


def test_swapped_rows_are_detected_on_read(vault: Vault) -> None:
    import_paths(vault, [SAMPLES / "bluebutton"])
    path = vault.path
    vault.close()

    def swap(conn: sqlite3.Connection, rows: list[tuple[int, bytes]]) -> None:
        (a, body_a), (b, body_b) = rows
        conn.execute("UPDATE resources SET body = ? WHERE id = ?", (body_b, a))
        conn.execute("UPDATE resources SET body = ? WHERE id = ?", (body_a, b))

    _flip(path, "SELECT id, body FROM resources LIMIT 2", swap)  # type: ignore[arg-type]
    with Vault.open(path.parent) as v, pytest.raises(IntegrityError):  # type: ignore[union-attr]
        list(v.iter_all())


def test_export_round_trip_validates(loaded_vault: Vault, tmp_path: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "export.json"
    count = export_bundle(loaded_vault, out)
    bundle = json.loads(out.read_text())
    Bundle.model_validate(bundle)
    exported = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert count == len(exported) == len(_expected_ids())
    assert exported == _expected_ids()
    assert out.stat().st_mode & 0o077 == 0


def test_forget_leaves_nothing_of_the_source(vault: Vault) -> None:
    import_paths(vault, [SAMPLES / "synthea", SAMPLES / "bluebutton"])
    bodies = [
        r[0]
        for r in _rows(
            vault,
            "SELECT body FROM resources WHERE source_id = (SELECT source_id FROM resources "
            "ORDER BY id DESC LIMIT 1)",
        )
    ]
    assert len(bodies) == 13  # the bluebutton source, imported last
    assert vault.forget("bluebutton") == ["bluebutton"]
    assert {s.label for s in vault.sources()} == {"synthea"}
    assert not any(r["resourceType"] == "Coverage" for r in vault.iter_all())
    files = [p for p in vault.path.parent.iterdir() if p.is_file()]  # type: ignore[union-attr]
    blob = b"".join(p.read_bytes() for p in files)
    # Not one ciphertext (nor a 32-byte piece of one) survives anywhere in the files.
    assert not [b for b in bodies if b[40:72] in blob]
    with pytest.raises(SourceNotFoundError):
        vault.forget("bluebutton")
    vault.forget(None)
    assert list(vault.iter_all()) == []


def test_date_and_code_queries_match_a_full_scan(loaded_vault: Vault) -> None:
    everything = [r for r in loaded_vault.iter_all() if r["resourceType"] == "Observation"]
    labs = loaded_vault.resources("Observation", terms=["cat||laboratory"])
    expected = [
        r
        for r in everything
        if any(
            c.get("code") == "laboratory"
            for cat in r.get("category", [])
            for c in cat.get("coding", [])
        )
    ]
    assert {r.id for r in labs} == {r["id"] for r in expected}
    window = loaded_vault.resources("Observation", since="2015-03-01", until="2016-06-30")
    assert {r.id for r in window} == {
        r["id"]
        for r in everything
        if "2015-03-01" <= r.get("effectiveDateTime", "")[:10] <= "2016-06-30"
    }
    glucose = loaded_vault.resources("Observation", terms=["code|http://loinc.org|2339-0"])
    assert glucose
    assert all(r.resource["code"]["coding"][0]["code"] == "2339-0" for r in glucose)


def test_version_moves_with_resource_writes_only_also_from_another_process(vault: Vault) -> None:
    """A multi-worker server keeps its views while other workers only audit or grant, and
    drops them when any process imports or forgets (regression: data_version moved on every
    other connection's audit entry)."""
    from healthlocker.consent import AuditEvent, ConsentGate

    other = Vault.open(vault.path.parent)
    try:
        start = vault.version()
        ConsentGate(other).record(
            AuditEvent(client="c", tool="list_labs", arguments={}, outcome="refused")
        )
        assert vault.version() == start
        other.import_batch(
            iter([("x", {"resourceType": "Patient", "id": "p1"})]),
            source="s",
            kind="fhir-json",
            name="x.json",
            file_digest=b"d" * 32,
        )
        assert vault.version() != start
        moved = vault.version()
        other.forget("s")
        assert vault.version() != moved
    finally:
        other.close()
