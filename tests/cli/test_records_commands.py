"""`export` and `forget` as a person runs them, and a damaged zip given to `import`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT, SAMPLES, run_cli, run_in_terminal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "v"
    assert run_cli("init", home=folder).returncode == 0
    assert run_cli("import", str(SAMPLES / "bluebutton"), home=folder).returncode == 0
    return folder


def _resources(home: Path) -> int:
    return int(json.loads(run_cli("status", "--json", home=home).stdout)["resources"])


def test_export_to_stdout(home: Path, tmp_path: Path) -> None:
    """Regression: `--out -` wrote a file named `-`."""
    done = run_cli("export", "--out", "-", home=home)
    assert done.returncode == 0, done.stderr
    bundle = json.loads(done.stdout)
    assert len(bundle["entry"]) == _resources(home) == 13
    assert "Exported 13 resources" in done.stderr
    assert not (Path.cwd() / "-").exists()


def test_export_does_not_overwrite_without_force(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.json"
    out.write_text("my notes\n")
    refused = run_cli("export", "--out", str(out), home=home)
    assert refused.returncode == 1
    assert (
        refused.stderr
        == f"healthlocker: {out} exists; give --force to replace it (nothing was written)\n"
    )
    assert out.read_text() == "my notes\n"
    forced = run_cli("export", "--out", str(out), "--force", home=home)
    assert forced.returncode == 0, forced.stderr
    assert len(json.loads(out.read_text())["entry"]) == 13


def test_forget_all_without_a_terminal_needs_yes(home: Path) -> None:
    refused = run_cli("forget", "--all", home=home)
    assert refused.returncode == 2
    assert refused.stderr == (
        "healthlocker forget: --all erases every source for good: add --yes "
        "(no terminal to ask on)\n"
    )
    assert _resources(home) == 13
    done = run_cli("forget", "--all", "--yes", home=home)
    assert done.returncode == 0, done.stderr
    assert _resources(home) == 0


@pytest.mark.parametrize("typed", ["no\n", "\x04", "Forget it\n"])
def test_forget_all_at_a_terminal_goes_on_only_for_the_word(home: Path, typed: str) -> None:
    code, out, err = run_in_terminal("forget", "--all", answers=(typed,), home=home)
    assert code == 1
    assert "Traceback" not in err
    assert "Type 'forget' to go on: " in err
    assert "Forgot" not in out
    assert _resources(home) == 13


def test_forget_all_at_a_terminal(home: Path) -> None:
    code, out, err = run_in_terminal("forget", "--all", answers=("forget\n",), home=home)
    assert code == 0, err
    assert "Forgot 1 source(s) for good" in out
    assert _resources(home) == 0


def test_a_truncated_zip_is_called_what_it_is(home: Path, tmp_path: Path) -> None:
    """Regression: a zip cut short (a download that stopped) was "not a format this version
    imports"."""
    whole = tmp_path / "export.zip"
    with zipfile.ZipFile(whole, "w") as z:
        z.write(
            ROOT / "samples" / "apple-health" / "dogsheep-export.xml",
            "apple_health_export/export.xml",
        )
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = run_cli("import", str(cut), home=home)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{cut}: a damaged or truncated zip archive" in result.stderr
    assert "not a format this version imports" not in result.stderr
    assert _resources(home) == 13
