"""``setup CLIENT``: an assistant's MCP config, written (merged) or printed.

Each client's user-scope file and format, as its documentation gives them: Claude Desktop's
``claude_desktop_config.json`` and Cursor's ``~/.cursor/mcp.json`` (``mcpServers``), Claude
Code's user scope in ``~/.claude.json`` (``mcpServers``, ``"type": "stdio"``; never the project's
``.mcp.json``: a personal vault does not belong in a repository), VS Code's user ``mcp.json``
(``servers``, ``"type": "stdio"``). The entry runs this installation's own executable by its
absolute path (a desktop app does not see the shell's PATH) and names the vault folder; it
unlocks with the OS keyring, so no passphrase is ever written into a config file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthlocker.cli._command import Result, Said, arg, command
from healthlocker.cli._common import open_vault
from healthlocker.errors import HealthLockerError, StoreError


def _app_folder(app: str) -> Path:
    """The per-user settings folder of a desktop app (Electron's ``appData``)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / app
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / app
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / app


@dataclass(frozen=True)
class Client:
    label: str
    key: str  # the object that maps server names to entries
    typed: bool  # whether an entry says "type": "stdio"
    file: Callable[[], Path] | None  # its user-scope config file on this machine
    then: str  # what to do once the file is written


CLIENTS = {
    "claude-desktop": Client(
        "Claude Desktop",
        "mcpServers",
        False,
        lambda: _app_folder("Claude") / "claude_desktop_config.json",
        "quit and reopen Claude Desktop",
    ),
    "claude-code": Client(
        "Claude Code",
        "mcpServers",
        True,
        lambda: Path.home() / ".claude.json",
        "start a new Claude Code session (`/mcp` lists it)",
    ),
    "vscode": Client(
        "VS Code",
        "servers",
        True,
        lambda: _app_folder("Code") / "User" / "mcp.json",
        "in VS Code, run `MCP: List Servers` and start it",
    ),
    "cursor": Client(
        "Cursor",
        "mcpServers",
        False,
        lambda: Path.home() / ".cursor" / "mcp.json",
        "restart Cursor (Settings → MCP lists it)",
    ),
}
GENERIC = Client("any MCP client", "mcpServers", False, None, "")


def executable() -> list[str]:
    """This installation's command, by absolute path: its ``healthlocker`` script, else its
    Python running the package."""
    python = Path(os.path.abspath(sys.executable))
    script = python.parent / ("healthlocker.exe" if sys.platform == "win32" else "healthlocker")
    if script.is_file():
        return [str(script)]
    return [str(python), "-m", "healthlocker.cli"]


def server_entry(client: Client, home: Path) -> dict[str, Any]:
    command, *args = executable()
    entry: dict[str, Any] = {"type": "stdio"} if client.typed else {}
    return entry | {
        "command": command,
        "args": [*args, "serve"],
        "env": {"HEALTHLOCKER_HOME": str(home)},
    }


@command(
    "setup",
    "configure an assistant to start this server (its config file, merged; or --print)",
    arg(
        "client",
        nargs="?",
        choices=tuple(CLIENTS),
        metavar="CLIENT",
        help=f"one of: {', '.join(CLIENTS)} (leave it out with --print for any other client)",
    ),
    arg("--print", action="store_true", help="print the config instead of writing it"),
    arg("--config", metavar="FILE", help="write this file instead of the client's usual one"),
    arg("--name", default="healthlocker", help="the server's name in the config"),
)
def setup(args: argparse.Namespace) -> Result:
    from healthlocker.store import vault_home

    if args.client is None and not args.print:
        raise HealthLockerError(f"name the assistant ({', '.join(CLIENTS)}), or give --print")
    client = CLIENTS[args.client] if args.client else GENERIC
    home = vault_home(args.home).expanduser().absolute()
    with open_vault(args) as vault:
        if not vault.keyring_unlocks():
            raise StoreError(
                "an assistant starts the server without your passphrase, so the OS keyring must "
                "unlock the vault: run `healthlocker keyring add` first (never put the "
                "passphrase in a config file)"
            )
    entry = server_entry(client, home)
    if args.print:
        return Said(json.dumps({client.key: {args.name: entry}}, indent=2))
    if args.config:
        path = Path(args.config).expanduser()
    elif client.file is not None:
        path = client.file()
    done, backup = merge_entry(path, client.key, args.name, entry)
    if done == "unchanged":
        return Said(f"{client.label} already starts {args.name!r} this way ({path}).")
    kept = f"; the previous file is kept as {backup}" if backup else ""
    where = "to" if done == "added" else "in"
    return Said(f"{done.capitalize()} {args.name!r} {where} {path}{kept}. Next: {client.then}.")


def merge_entry(path: Path, key: str, name: str, entry: dict[str, Any]) -> tuple[str, Path | None]:
    """Put *entry* under ``key.name`` in the JSON file *path*, keeping everything else there
    (other servers, other settings). The file is backed up, then replaced whole (a temporary
    file renamed over it). Returns what happened (added, replaced, unchanged) and the backup."""
    config = _read_config(path, key)
    servers = config.setdefault(key, {})
    if servers.get(name) == entry:
        return "unchanged", None
    done = "replaced" if name in servers else "added"
    servers[name] = entry
    backup = None
    if path.exists():
        import shutil
        from datetime import datetime

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        shutil.copy2(path, backup)
    _write_json(path, config)
    return done, backup


def _read_config(path: Path, key: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as exc:
        raise HealthLockerError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HealthLockerError(
            f"{path}: not plain JSON at line {exc.lineno}, column {exc.colno} (comments?); "
            "nothing was changed. Add the entry of `healthlocker setup --print` by hand"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get(key, {}), dict):
        raise HealthLockerError(f"{path}: {key!r} is not an object; nothing was changed")
    return config


def _write_json(path: Path, config: dict[str, Any]) -> None:
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(config, f, indent=2, ensure_ascii=False)
                f.write("\n")
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise HealthLockerError(f"cannot write {path}: {exc.strerror or exc}") from None


COMMANDS = (setup,)
