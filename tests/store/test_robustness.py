"""Local robustness: imports side by side, a long import beside a running server's writes, a
vault kept busy, a full disk, and an export into a folder someone else can write to."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from healthlocker.consent import AuditEvent, AuditLog, GrantStore
from healthlocker.errors import StoreError
from healthlocker.store import Vault, _schema, export_bundle
from helpers import PASSPHRASE, SAMPLES, run_cli, vault_file

PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"


def _observations(path: Path, count: int) -> Path:
    """One NDJSON file of *count* small vital-sign Observations (one batch)."""
    with path.open("w") as f:
        for i in range(count):
            f.write(
                json.dumps(
                    {
                        "resourceType": "Observation",
                        "id": f"hr-{i}",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                        "effectiveDateTime": f"20{10 + i % 14:02d}-{1 + i % 12:02d}-01",
                        "valueQuantity": {"value": 60 + i % 40, "unit": "/min"},
                    }
                )
                + "\n"
            )
    return path


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    return {**env, "HEALTHLOCKER_PASSPHRASE": PASSPHRASE, "HEALTHLOCKER_HOME": str(home)}


def _import(home: Path, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "healthlocker.cli", "import", *map(str, paths)],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _staging(home: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until *proc* holds the import lock and is staging its batch."""
    deadline = time.monotonic() + 120
    while not list(home.glob(".stage-*.db")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.fixture
def made(home: Path) -> Iterator[Path]:
    Vault.create(home, passphrase=PASSPHRASE).close()
    return home


def test_a_second_import_waits_for_the_first_and_both_finish(made: Path, tmp_path: Path) -> None:
    """Regression: the second of two imports died with a `database is locked` traceback."""
    big = _observations(tmp_path / "big.ndjson", 6000)
    first = _import(made, big)
    _staging(made, first)
    second = _import(made, PERSON)
    out2, err2 = second.communicate(timeout=300)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert err2 == "healthlocker: waiting for another import or forget in this vault to finish\n"
    assert "6000 added" in out1
    assert "176 added" in out2
    assert list(made.glob(".stage-*")) == []
    assert run_cli("verify", home=made).returncode == 0


@pytest.mark.slow
def test_a_long_import_never_holds_up_a_running_servers_audit(made: Path, tmp_path: Path) -> None:
    """Regression: importing 34k resources made a running server's calls wait 10 s and fail
    unaudited. Now the batch is staged aside and moved in with one short transaction."""
    big = _observations(tmp_path / "big.ndjson", 34_000)
    proc = _import(made, big)
    waits = []
    with Vault.open(made) as server:  # as a running server: one audit entry per call
        log = AuditLog(server)
        _staging(made, proc)
        while proc.poll() is None:
            start = time.monotonic()
            log.append(
                AuditEvent(client="c", tool="list_labs", arguments={}, outcome="allowed"), []
            )
            waits.append(time.monotonic() - start)
            time.sleep(0.02)
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert "34000 added" in out
        assert len(log.entries()) == len(waits) > 20
        assert AuditLog(server).verify() == []
        assert len(server.resources("Observation")) == 34_000
    assert max(waits) < 8, sorted(waits)[-5:]  # the move alone, never the reading of the file


def test_a_write_kept_waiting_too_long_ends_in_one_line(
    made: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_schema, "BUSY_SECONDS", 1)
    with Vault.open(made) as vault, vault_file(vault.path) as other:
        other.execute("BEGIN IMMEDIATE")  # another process, writing and not letting go
        with pytest.raises(StoreError, match=r"^the vault is busy: .*try again$"):
            GrantStore(vault).add(client="c", tool="all", duration=timedelta(hours=1))
        other.rollback()
        assert GrantStore(vault).all() == []


def test_a_full_disk_is_one_line_and_leaves_the_vault_whole(made: Path) -> None:
    """Regression: a full disk printed raw sqlite3 tracebacks. The file-size limit makes every
    write past it fail as on a full disk (SQLite sees the write refused)."""
    assert run_cli("import", str(PERSON), home=made).returncode == 0
    size = sum(p.stat().st_size for p in made.iterdir())

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64 * 1024, size + 64 * 1024))

    result = subprocess.run(
        [sys.executable, "-m", "healthlocker.cli", "import", str(SAMPLES / "synthea")],
        env=_env(made),
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors
    assert all("cannot write the vault" in line for line in errors), result.stderr
    assert "nothing of this write was stored" in errors[0]
    verified = run_cli("verify", home=made)
    assert verified.returncode == 0, verified.stderr
    with Vault.open(made) as vault:  # whole batches only: each file all or nothing
        ids = {r.id for r in vault.resources("Patient")}
        assert ids <= {json.loads(p.read_text())["entry"][0]["resource"]["id"]
                       for p in (SAMPLES / "synthea").glob("*.json")}  # fmt: skip


def test_an_export_never_writes_through_a_planted_partial_file(
    vault: Vault, tmp_path: Path
) -> None:
    """Regression: `export` into a shared folder wrote through a pre-created `.NAME.partial`
    (a link to someone else's file, or their file itself)."""
    from healthlocker.connectors import import_paths

    assert import_paths(vault, [PERSON]).ok
    shared = tmp_path / "shared"
    shared.mkdir()
    theirs = shared / "theirs.txt"
    theirs.write_text("")
    theirs.chmod(0o666)
    (shared / ".export.json.partial").symlink_to(theirs)
    count = export_bundle(vault, shared / "export.json")
    assert count == 176
    assert theirs.read_text() == ""
    out = shared / "export.json"
    assert out.stat().st_mode & 0o777 == 0o600
    assert len(json.loads(out.read_text())["entry"]) == 176
    assert sorted(p.name for p in shared.iterdir()) == [".export.json.partial", "export.json",
                                                        "theirs.txt"]  # fmt: skip
