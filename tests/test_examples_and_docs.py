"""Docs and examples stay true: every command, tool and setting is documented; configs are valid."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from healthlocker.cli import build_parser
from helpers import ROOT

CONFIGS = sorted((ROOT / "examples").glob("*.json"))


def _servers(config: dict) -> dict:  # type: ignore[type-arg]
    return config.get("mcpServers") or config.get("servers") or {}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_configs_are_valid_and_name_a_real_command(path: Path) -> None:
    config = json.loads(path.read_text())
    [entry] = _servers(config).values()
    assert entry["command"] == "healthlocker"
    assert entry["args"][0] == "serve"
    build_parser().parse_args(entry["args"])  # the arguments are ones `serve` accepts
    assert shutil.which("healthlocker") or (ROOT / ".venv" / "bin" / "healthlocker").exists()


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
