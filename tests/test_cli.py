"""The `healthlocker` command as a user runs it: exit codes, one-line errors, summaries."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import SAMPLES, run_cli


def test_first_run_to_forget(tmp_path: Path) -> None:
    home = tmp_path / "v"
    init = run_cli("init", home=home)
    assert init.returncode == 0, init.stderr
    assert "Created an encrypted vault" in init.stdout
    imported = run_cli("import", str(SAMPLES / "synthea"), str(SAMPLES / "bluebutton"), home=home)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("Imported 14 of 14 file(s): 1714 added, 0 updated")
    again = run_cli("import", str(SAMPLES / "synthea"), "--json", home=home)
    summary = json.loads(again.stdout)
    assert summary["ok"]
    assert summary["added"] == 0
    assert summary["skipped_files"] == 6
    sources = json.loads(run_cli("sources", "--json", home=home).stdout)
    assert {s["label"]: s["resources"] for s in sources} == {"bluebutton": 13, "synthea": 1701}
    table = run_cli("sources", home=home).stdout
    assert "synthea" in table
    assert "Observation 890" in table
    status = json.loads(run_cli("status", "--json", home=home).stdout)
    assert status["resources"] == 1714
    assert status["sources"] == 2
    out = tmp_path / "all.json"
    assert run_cli("export", "--out", str(out), home=home).returncode == 0
    assert len(json.loads(out.read_text())["entry"]) == 1714
    gone = run_cli("forget", "bluebutton", home=home)
    assert gone.returncode == 0
    assert "Forgot 1 source" in gone.stdout
    assert json.loads(run_cli("status", "--json", home=home).stdout)["resources"] == 1701


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    home = tmp_path / "v"
    missing = run_cli("status", home=home)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "healthlocker init" in missing.stderr
    run_cli("init", home=home)
    wrong = run_cli("status", home=home, env={"HEALTHLOCKER_PASSPHRASE": "nope"})
    assert wrong.returncode == 1
    assert (
        wrong.stderr
        == "healthlocker: wrong passphrase for this vault (check HEALTHLOCKER_PASSPHRASE)\n"
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Observation", "status": ')
    failed = run_cli("import", str(bad), home=home)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert f"{bad}: malformed JSON at line 1" in failed.stderr
    assert "0 of 1 file(s)" in failed.stdout
    unknown = run_cli("forget", "nothing-here", home=home)
    assert unknown.returncode == 1
    assert "no source named" in unknown.stderr
    again = run_cli("init", home=home)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_wrong_usage_exits_2(tmp_path: Path) -> None:
    for args in (
        (),
        ("import",),
        ("forget",),
        ("no-such-command",),
        ("import", "x", "--format", "pdf"),
    ):
        result = run_cli(*args, home=tmp_path)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_locked_vault_without_terminal_says_how_to_unlock(tmp_path: Path) -> None:
    home = tmp_path / "v"
    run_cli("init", home=home)
    result = run_cli("status", home=home, env={"HEALTHLOCKER_PASSPHRASE": ""})
    assert result.returncode == 1
    assert "HEALTHLOCKER_PASSPHRASE" in result.stderr


def test_passphrase_change(tmp_path: Path) -> None:
    home = tmp_path / "v"
    run_cli("init", home=home)
    changed = run_cli(
        "passphrase", home=home, env={"HEALTHLOCKER_NEW_PASSPHRASE": "new secret words"}
    )
    assert changed.returncode == 0, changed.stderr
    assert run_cli("status", home=home).returncode == 1
    assert (
        run_cli("status", home=home, env={"HEALTHLOCKER_PASSPHRASE": "new secret words"}).returncode
        == 0
    )


def test_the_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    from healthlocker import __version__

    assert __version__ == version("healthlocker")
    done = run_cli("--version")
    assert done.stdout.strip() == f"healthlocker {__version__}"
