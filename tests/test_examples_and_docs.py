"""Docs and examples stay true: every command, tool and setting is documented; configs are valid."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from healthlocker.cli import build_parser
from helpers import ROOT, run_cli

CONFIGS = sorted((ROOT / "examples").glob("*.json"))


def _servers(config: dict) -> dict:  # type: ignore[type-arg]
    return config.get("mcpServers") or config.get("servers") or {}


# Each example is what `setup CLIENT --print` prints for a person "you" who installed with
# pipx or `uv tool` on Linux and kept the vault in its default folder (examples/README.md).
EXAMPLE_OF = {
    "claude_desktop_config.json": "claude-desktop",
    "claude_code.claude.json": "claude-code",
    "vscode.mcp.json": "vscode",
    "cursor.mcp.json": "cursor",
    "generic.mcp.json": None,
}
YOUR_COMMAND = "/home/you/.local/bin/healthlocker"
YOUR_VAULT = "/home/you/.local/share/healthlocker"


def test_example_configs_are_what_setup_prints(tmp_path: Path) -> None:
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "keyring"),
    }
    home = tmp_path / "v"
    assert run_cli("init", "--keyring", home=home, env=env).returncode == 0
    assert sorted(EXAMPLE_OF) == [p.name for p in CONFIGS]
    for name, client in EXAMPLE_OF.items():
        printed = run_cli("setup", *([client] if client else []), "--print", home=home, env=env)
        assert printed.returncode == 0, printed.stderr
        config = json.loads(printed.stdout)
        [entry] = _servers(config).values()
        # The real one runs this installation by absolute path, with arguments serve accepts.
        assert os.access(entry["command"], os.X_OK)
        assert Path(entry["command"]).is_absolute()
        build_parser().parse_args(entry["args"])
        assert entry["env"] == {"HEALTHLOCKER_HOME": str(home)}
        entry |= {"command": YOUR_COMMAND, "env": {"HEALTHLOCKER_HOME": YOUR_VAULT}}
        assert json.loads((ROOT / "examples" / name).read_text()) == config, name


def test_every_example_config_is_listed() -> None:
    listed = (ROOT / "examples" / "README.md").read_text()
    assert {p.name for p in CONFIGS} <= set(re.findall(r"`([\w.]+\.json)`", listed))
    assert len(CONFIGS) >= 5


def test_every_cli_command_and_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [c for c in commands if f"healthlocker {c}" not in readme]
    assert missing == []
    for setting in ("HEALTHLOCKER_HOME", "HEALTHLOCKER_PASSPHRASE"):
        assert setting in readme


def test_every_serve_option_and_scope_is_in_the_remote_docs() -> None:
    from healthlocker.catalogue import TOOL_NAMES as TOOLS

    remote = (ROOT / "docs" / "remote.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    options = [
        o for a in commands["serve"]._actions for o in a.option_strings if o.startswith("--")
    ]
    missing = [o for o in options if o not in ("--help", "--home") and f"`{o}" not in remote]
    assert missing == []
    assert [t for t in TOOLS if f"`read:{t}`" not in remote] == []


def test_every_tool_is_in_the_readme() -> None:
    snapshot = json.loads((ROOT / "tests" / "server" / "tool_list.snapshot.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert [t["name"] for t in snapshot if f"`{t['name']}`" not in readme] == []


def test_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    assert lines == ["./scripts/demo", "./scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci


def test_the_demo_runs_and_is_about_one_person() -> None:
    """`healthlocker demo`, the README's main job (scripts/demo), end to end: one person's
    records, every tool call answered, the audit intact, nothing left behind."""
    done = run_cli("demo")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.startswith("One synthetic person's records")
    assert out.count("$ healthlocker import ") == 1
    assert "Imported 1 of 1 file(s)" in out
    assert out.count("\n>>> ") == 8
    assert "The audit log is intact: 8 entries" in out
    assert out.rstrip().endswith("Done; the throwaway vault is deleted.")
    [vault] = re.findall(r"Created an encrypted vault in (\S+) ", out)
    assert not Path(vault).exists()
