"""`healthlocker setup CLIENT`: each client's own file, in its format and user scope, merged
without losing what was there, and then really started the way the client starts it (its
command and environment only, no passphrase: the OS keyring unlocks the vault)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from helpers import PASSPHRASE, SAMPLES, run_cli

# Where each client keeps its user-scope config on Linux, under $HOME (XDG_CONFIG_HOME unset).
FILES = {
    "claude-desktop": ".config/Claude/claude_desktop_config.json",
    "claude-code": ".claude.json",
    "vscode": ".config/Code/User/mcp.json",
    "cursor": ".cursor/mcp.json",
}
KEY = {"claude-desktop": "mcpServers", "claude-code": "mcpServers", "vscode": "servers"}
# What else such a file holds, which setup must keep as it is.
OTHER: dict[str, dict[str, Any]] = {
    "claude-desktop": {"globalShortcut": "Ctrl+Space"},
    "claude-code": {"numStartups": 12, "projects": {"/src/app": {"mcpServers": {}}}},
    "vscode": {"inputs": [{"type": "promptString", "id": "token", "password": True}]},
    "cursor": {},
}


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A person's machine: a home folder, a keyring of its own (a file), and a vault in the
    default place that the keyring unlocks."""
    root = tmp_path_factory.mktemp("machine")
    env = {
        "HOME": str(root / "home"),
        "XDG_CONFIG_HOME": "",
        "XDG_DATA_HOME": str(root / "home" / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }
    (root / "home").mkdir()
    home = root / "vault"
    for args in (
        ("init",),
        ("import", str(SAMPLES / "bluebutton")),
        ("keyring", "add"),
        ("grant", "all", "--client", "setup-test"),
    ):
        done = run_cli(*args, home=home, env=env)
        assert done.returncode == 0, (args, done.stderr)
    return env | {"HEALTHLOCKER_HOME": str(home)}


def _setup(machine: dict[str, str], *args: str) -> Any:
    return run_cli("setup", *args, env=machine)


def _config_file(machine: dict[str, str], client: str) -> Path:
    return Path(machine["HOME"]) / FILES[client]


@pytest.mark.parametrize("client", list(FILES))
def test_setup_merges_into_the_clients_file(machine: dict[str, str], client: str) -> None:
    path = _config_file(machine, client)
    key = KEY.get(client, "mcpServers")
    other_server = {"command": "/opt/other/bin/other-mcp", "args": ["--stdio"]}
    before = {key: {"other": other_server}, **OTHER[client]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(before, indent=4))
    original = path.read_bytes()

    done = _setup(machine, client)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Added 'healthlocker' to {path}; the previous file is kept as ")

    after = json.loads(path.read_text())
    assert after[key]["other"] == other_server
    assert {k: v for k, v in after.items() if k != key} == OTHER[client]
    entry = after[key]["healthlocker"]
    assert entry["command"] == str(Path(entry["command"]).absolute())
    assert os.access(entry["command"], os.X_OK)
    assert entry["args"][-1] == "serve"
    assert entry["env"] == {"HEALTHLOCKER_HOME": machine["HEALTHLOCKER_HOME"]}
    assert ("type" in entry) == (client in ("claude-code", "vscode"))
    assert entry.get("type", "stdio") == "stdio"
    assert PASSPHRASE not in path.read_text()
    assert "PASSPHRASE" not in path.read_text()
    [backup] = path.parent.glob(f"{path.name}.*.bak")
    assert backup.read_bytes() == original

    again = _setup(machine, client)
    assert again.returncode == 0
    assert "already starts 'healthlocker' this way" in again.stdout
    assert list(path.parent.glob(f"{path.name}.*.bak")) == [backup]


@pytest.mark.anyio
@pytest.mark.parametrize("client", list(FILES))
async def test_the_written_config_starts_a_server_that_unlocks(
    machine: dict[str, str], client: str
) -> None:
    """Started as the client starts it: its command, its arguments, its environment (plus
    what any process of the person's session has: HOME, PATH, the keyring), no passphrase."""
    path = _config_file(machine, client)
    if not path.exists():
        assert _setup(machine, client).returncode == 0
    entry = json.loads(path.read_text())[KEY.get(client, "mcpServers")]["healthlocker"]
    session = {k: machine[k] for k in ("HOME", "XDG_DATA_HOME", "PYTHON_KEYRING_BACKEND")}
    params = StdioServerParameters(
        command=entry["command"], args=entry["args"], env={**session, **entry["env"]}
    )
    assert "HEALTHLOCKER_PASSPHRASE" not in params.env  # type: ignore[operator]
    info = Implementation(name="setup-test", version="1")
    async with Client(params, mode="legacy", client_info=info) as mcp_client:
        result = await mcp_client.call_tool("explain_coverage", {})
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert result.structured_content["claims"]["count"] > 0


def test_print_writes_nothing(machine: dict[str, str]) -> None:
    printed = _setup(machine, "vscode", "--print", "--config", str(Path(machine["HOME"]) / "x"))
    assert printed.returncode == 0
    config = json.loads(printed.stdout)
    assert list(config["servers"]) == ["healthlocker"]
    assert config["servers"]["healthlocker"]["type"] == "stdio"
    assert not (Path(machine["HOME"]) / "x").exists()
    generic = json.loads(_setup(machine, "--print").stdout)
    assert "type" not in generic["mcpServers"]["healthlocker"]


def test_setup_refuses_a_vault_the_keyring_cannot_unlock(
    machine: dict[str, str], tmp_path: Path
) -> None:
    home = str(tmp_path / "v")
    assert run_cli("--home", home, "init", env=machine).returncode == 0
    target = tmp_path / "config.json"
    for args in (("cursor", "--config", str(target)), ("--print",)):
        refused = run_cli("--home", home, "setup", *args, env=machine)
        assert refused.returncode == 1
        assert "run `healthlocker keyring add` first" in refused.stderr
        assert refused.stderr.count("\n") == 1
        assert refused.stdout == ""
    assert not target.exists()


def test_a_config_that_is_not_plain_json_is_left_alone(
    machine: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "mcp.json"
    jsonc = '{\n  // my servers\n  "servers": {}\n}\n'
    target.write_text(jsonc)
    refused = _setup(machine, "vscode", "--config", str(target))
    assert refused.returncode == 1
    assert f"{target}: not plain JSON at line 2, column 3 (comments?)" in refused.stderr
    assert "healthlocker setup --print" in refused.stderr
    assert target.read_text() == jsonc
    assert list(tmp_path.iterdir()) == [target]


def test_setup_names_the_client_or_prints(machine: dict[str, str]) -> None:
    neither = _setup(machine)
    assert neither.returncode == 1
    assert "name the assistant (claude-desktop, claude-code, vscode, cursor)" in neither.stderr
    wrong = _setup(machine, "notepad")
    assert wrong.returncode == 2
    assert "invalid choice: 'notepad'" in wrong.stderr
