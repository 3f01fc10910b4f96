"""`init`, `passphrase`, `status` and `keyring` as a person runs them: at a terminal (a real
pseudo-terminal), from a script, and on a damaged vault. A user error is one line, exit 1 or 2,
and nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import PASSPHRASE, SAMPLES, run_cli, run_in_terminal

NEW = "a brand new passphrase"


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


def _unlocks(home: Path, passphrase: str) -> bool:
    return run_cli("status", home=home, env={"HEALTHLOCKER_PASSPHRASE": passphrase}).returncode == 0


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "v"
    assert run_cli("init", home=folder).returncode == 0
    return folder


# -- passphrase -------------------------------------------------------------------------------


def test_passphrase_never_takes_the_current_one_from_the_environment(home: Path) -> None:
    """Regression: with HEALTHLOCKER_PASSPHRASE set (as the README says), `passphrase` took it
    as the new one, said "Passphrase changed" and left a leaked passphrase in place."""
    result = run_cli("passphrase", home=home)
    assert result.returncode == 1
    assert "HEALTHLOCKER_NEW_PASSPHRASE" in _one_line(result.stderr)
    assert "changed" not in result.stdout
    assert _unlocks(home, PASSPHRASE)


def test_the_new_passphrase_must_differ_and_be_long_enough(home: Path) -> None:
    same = run_cli("passphrase", home=home, env={"HEALTHLOCKER_NEW_PASSPHRASE": PASSPHRASE})
    assert same.returncode == 1
    assert "that is the current passphrase" in _one_line(same.stderr)
    short = run_cli("passphrase", home=home, env={"HEALTHLOCKER_NEW_PASSPHRASE": "short"})
    assert short.returncode == 1
    assert "at least 8 characters" in _one_line(short.stderr)
    assert _unlocks(home, PASSPHRASE)
    assert not _unlocks(home, "short")


def test_passphrase_at_a_terminal_asks_for_the_new_one_twice(home: Path) -> None:
    code, out, err = run_in_terminal("passphrase", answers=(f"{NEW}\n", f"{NEW}\n"), home=home)
    assert code == 0, err
    assert "Passphrase changed" in out
    assert _unlocks(home, NEW)
    assert not _unlocks(home, PASSPHRASE)
    # Without HEALTHLOCKER_PASSPHRASE it asks for the current one first.
    code, out, err = run_in_terminal(
        "passphrase",
        answers=(f"{NEW}\n", f"{PASSPHRASE}\n", f"{PASSPHRASE}\n"),
        home=home,
        env={"HEALTHLOCKER_PASSPHRASE": ""},
    )
    assert code == 0, err
    assert _unlocks(home, PASSPHRASE)


def test_passphrases_that_differ_change_nothing(home: Path) -> None:
    code, _out, err = run_in_terminal(
        "passphrase", answers=(f"{NEW}\n", "other words\n"), home=home
    )
    assert code == 1
    assert "the two passphrases differ; nothing was changed" in err
    assert _unlocks(home, PASSPHRASE)


# -- init -------------------------------------------------------------------------------------


def test_init_refuses_a_one_character_passphrase_from_the_environment(tmp_path: Path) -> None:
    result = run_cli("init", home=tmp_path / "v", env={"HEALTHLOCKER_PASSPHRASE": "x"})
    assert result.returncode == 1
    assert "HEALTHLOCKER_PASSPHRASE is too short" in _one_line(result.stderr)
    assert not (tmp_path / "v").exists()


def test_ctrl_d_at_the_init_prompt_creates_nothing(tmp_path: Path) -> None:
    code, _out, err = run_in_terminal(
        "init", answers=("\x04",), home=tmp_path / "v", env={"HEALTHLOCKER_PASSPHRASE": ""}
    )
    assert code == 1
    assert "Traceback" not in err
    assert (
        err.strip().splitlines()[-1]
        == "healthlocker: no answer (end of input); nothing was changed"
    )
    assert not (tmp_path / "v" / "vault.db").exists()


def test_init_at_a_terminal(tmp_path: Path) -> None:
    code, out, err = run_in_terminal(
        "init",
        answers=(f"{NEW}\n", f"{NEW}\n"),
        home=tmp_path / "v",
        env={"HEALTHLOCKER_PASSPHRASE": ""},
    )
    assert code == 0, err
    assert "Created an encrypted vault" in out
    assert _unlocks(tmp_path / "v", NEW)


def test_init_with_a_file_as_home(tmp_path: Path) -> None:
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n")
    result = run_cli("--home", str(a_file), "init")
    assert result.returncode == 1
    assert f"{a_file} is a file, not a folder" in _one_line(result.stderr)
    assert a_file.read_text() == "root:x:0:0\n"


# -- a damaged vault ---------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "not a database"])
@pytest.mark.parametrize("command", [("status",), ("sources",), ("export", "--out", "x.json")])
def test_a_damaged_vault_is_one_clear_line(
    tmp_path: Path, damage: str, command: tuple[str, ...]
) -> None:
    home = tmp_path / "v"
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("import", str(SAMPLES / "bluebutton"), home=home).returncode == 0
    db = home / "vault.db"
    whole = db.read_bytes()
    db.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"hello, not SQLite\n")
    result = run_cli(*command, home=home)
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert f"{db} is damaged (truncated or overwritten) or not a vault" in line
    assert not (tmp_path / "x.json").exists()


# -- the OS keyring ---------------------------------------------------------------------------


def keyring_env(
    tmp_path: Path, backend: str = "keyrings.alt.file.PlaintextKeyring"
) -> dict[str, str]:
    """A keyring of this test's own (a file under tmp_path), never the machine's."""
    return {"PYTHON_KEYRING_BACKEND": backend, "XDG_DATA_HOME": str(tmp_path / "keyring")}


def test_keyring_add_then_remove(home: Path, tmp_path: Path) -> None:
    env = keyring_env(tmp_path)
    added = run_cli("keyring", "add", home=home, env=env)
    assert added.returncode == 0, added.stderr
    assert "The OS keyring now unlocks this vault" in added.stdout
    status = json.loads(run_cli("status", "--json", home=home, env=env).stdout)
    assert status["unlock"] == ["keyring", "passphrase"]
    # No passphrase at all: the keyring alone opens it, as for an assistant's spawned server.
    assert run_cli("status", home=home, env={**env, "HEALTHLOCKER_PASSPHRASE": ""}).returncode == 0
    removed = run_cli("keyring", "remove", home=home, env=env)
    assert removed.returncode == 0, removed.stderr
    alone = run_cli("status", home=home, env={**env, "HEALTHLOCKER_PASSPHRASE": ""})
    assert alone.returncode == 1
    assert "HEALTHLOCKER_PASSPHRASE" in _one_line(alone.stderr)
    again = run_cli("keyring", "remove", home=home, env=env)
    assert again.returncode == 1
    assert "does not unlock this vault; nothing to remove" in _one_line(again.stderr)


def test_the_only_way_to_unlock_is_not_removed(tmp_path: Path) -> None:
    env = keyring_env(tmp_path) | {"HEALTHLOCKER_PASSPHRASE": ""}
    home = tmp_path / "v"
    assert run_cli("init", "--keyring", home=home, env=env).returncode == 0
    refused = run_cli("keyring", "remove", home=home, env=env)
    assert refused.returncode == 1
    assert "only way to unlock" in _one_line(refused.stderr)
    assert run_cli("status", home=home, env=env).returncode == 0


def test_no_keyring_backend_is_a_refusal_that_says_what_to_do(home: Path, tmp_path: Path) -> None:
    env = keyring_env(tmp_path, "keyring.backends.fail.Keyring")
    result = run_cli("keyring", "add", home=home, env=env)
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "no usable OS keyring here" in line
    assert "Secret Service" in line
    assert "MCP bundle" in line
    assert json.loads(run_cli("status", "--json", home=home).stdout)["unlock"] == ["passphrase"]
