"""Build healthlocker's MCP bundle (``dist/healthlocker-VERSION.mcpb``) for Claude Desktop and
other hosts of MCP bundles. Run it as ``scripts/build-mcpb [--out FOLDER]``.

The bundle is a zip of ``manifest.json`` (MCPB manifest 0.4), this project's ``pyproject.toml``
and ``src/`` (data files included), and ``server/main.py``, which runs ``healthlocker serve``.
Its server type is ``uv``: the host installs the dependencies ``pyproject.toml`` declares with
uv, for the machine it runs on, so one bundle serves every platform. The person gives the vault
folder and the passphrase when installing it; the passphrase is a sensitive setting, which the
host keeps in its own secure storage and passes to the server in its environment only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import anyio

from healthlocker import __version__
from healthlocker.catalogue import tool
from healthlocker.server import build_server
from healthlocker.store import Vault

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_VERSION = "0.4"
MAIN = '''"""The bundle's entry point: `healthlocker serve` over stdio, in the environment the host
made with uv from pyproject.toml."""

import sys

from healthlocker.cli import main

sys.exit(main(["serve"]))
'''


def tools() -> list[dict[str, str]]:
    """The server's own tool list, from the server itself, each said as the consent prompt
    says it to the person installing: what it reads (the catalogue's ``purpose``)."""
    with Vault.ephemeral() as vault:
        listed = anyio.run(build_server(vault).list_tools)
    return [{"name": t.name, "description": f"Reads {tool(t.name).purpose}"} for t in listed]


def manifest() -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": "healthlocker",
        "display_name": "healthlocker",
        "version": __version__,
        "description": "Your health records, encrypted on your machine, for your assistant to "
        "read only what you allow, for as long as you allow it.",
        "long_description": (
            "Labs, medications, insurance claims, wearable and nutrition data in an encrypted "
            "vault on your own machine. Each tool reads only what you consented to, for as long "
            "as you consented, and every read is audited. It explains and summarises; it never "
            "diagnoses. Create the vault and import your records with the `healthlocker` "
            "command first (`healthlocker init`, `healthlocker import`)."
        ),
        "author": {"name": "healthlocker developers"},
        "license": "Apache-2.0",
        "keywords": ["health", "medical records", "FHIR", "labs", "privacy", "local"],
        "server": {
            "type": "uv",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "server/main.py"],
                "env": {
                    "HEALTHLOCKER_HOME": "${user_config.vault_folder}",
                    "HEALTHLOCKER_PASSPHRASE": "${user_config.passphrase}",
                },
            },
        },
        "tools": tools(),
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": ">=3.11"},
        },
        "user_config": {
            "vault_folder": {
                "type": "directory",
                "title": "Vault folder",
                "description": "The folder of your healthlocker vault (`healthlocker status` "
                "shows it).",
                "required": True,
            },
            "passphrase": {
                "type": "string",
                "title": "Vault passphrase",
                "description": "Unlocks the vault. Kept in this app's secure storage and given "
                "to the server only; never written into a file.",
                "sensitive": True,
                "required": True,
            },
        },
    }


def pyproject() -> str:
    """The bundle's ``pyproject.toml``: this project's, less the test tools and settings (the
    host's uv resolves every extra a project declares) and with its version written out."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    project, q = config["project"], json.dumps

    def strings(items: list[str]) -> str:
        return "[" + ", ".join(q(i) for i in items) + "]"

    package_data = config["tool"]["setuptools"]["package-data"]["healthlocker"]
    return "\n".join(
        [
            "[build-system]",
            f"requires = {strings(config['build-system']['requires'])}",
            f"build-backend = {q(config['build-system']['build-backend'])}",
            "",
            "[project]",
            f"name = {q(project['name'])}",
            f"version = {q(__version__)}",
            f"description = {q(project['description'])}",
            'readme = "README.md"',
            f"requires-python = {q(project['requires-python'])}",
            f"license = {q(project['license'])}",
            f"dependencies = {strings(project['dependencies'])}",
            "",
            "[project.scripts]",
            *(f"{name} = {q(target)}" for name, target in project["scripts"].items()),
            "",
            "[tool.setuptools.packages.find]",
            'where = ["src"]',
            "",
            "[tool.setuptools.package-data]",
            f"healthlocker = {strings(package_data)}",
            "",
        ]
    )


def _sources() -> list[tuple[str, Path]]:
    """The project files the bundle carries, by their name in it (links resolved)."""
    files = [("README.md", ROOT / "README.md")]
    package = ROOT / "src" / "healthlocker"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append((path.relative_to(ROOT).as_posix(), path))
    return files


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    bundle = out / f"healthlocker-{__version__}.mcpb"
    partial = bundle.with_name(f".{bundle.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest(), indent=2) + "\n")
        z.writestr("pyproject.toml", pyproject())
        z.writestr("server/main.py", MAIN)
        for name, path in _sources():
            z.writestr(name, path.read_bytes())
    partial.replace(bundle)
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description="Build healthlocker's MCP bundle (.mcpb).")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder (default dist/)")
    print(build(parser.parse_args().out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
