"""The rules of the house, read from the source's syntax trees (no import runs)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

SRC = ROOT / "src" / "healthlocker"
STORE = SRC / "store"


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(SRC.rglob("*.py"))]


def _sqlite_doors(tree: ast.Module) -> list[str]:
    """Where a module reaches the SQLite connection: `.conn` / `._conn`, or sqlite imports."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("conn", "_conn"):
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [
                f"{node.lineno}: imports {name}"
                for name in names
                if (name or "").split(".")[0] in ("sqlite3", "sqlite_utils")
            ]
    return found


def test_only_the_store_touches_the_sqlite_connection() -> None:
    """Other packages use the vault's API (its transaction helper, its sealed tables)."""
    found = [
        f"{path.relative_to(SRC)}:{where}"
        for path, tree in _modules()
        if STORE not in path.parents
        for where in _sqlite_doors(tree)
    ]
    assert found == []


def test_the_store_check_sees_each_door_it_forbids() -> None:
    code = "import sqlite3\nfrom sqlite3 import Row\nvault.conn.execute('x')\nv._conn.close()\n"
    assert _sqlite_doors(ast.parse(code)) == [
        "1: imports sqlite3",
        "2: imports sqlite3",
        "3: .conn",
        "4: ._conn",
    ]


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module a module imports, as (line, dotted name); `from a import b` gives a and a.b."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _package(path: Path) -> str:
    """The top-level package of healthlocker a source file belongs to ('' for the root)."""
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else ""


def _reach_ins(path: Path, tree: ast.Module) -> list[str]:
    """Imports of another package's private module (`healthlocker.pkg._mod`, at any depth)."""
    found = []
    for line, name in _imports(tree):
        parts = name.split(".")
        if parts[0] != "healthlocker" or len(parts) < 3:
            continue
        private = any(p.startswith("_") and not p.startswith("__") for p in parts[2:])
        if private and parts[1] != _package(path):
            found.append(f"{line}: {name}")
    return found


def test_only_the_server_imports_mcp() -> None:
    """connectors, store, records, consent, catalogue, charts and the CLI stay usable as a
    library and testable without a server."""
    found = [
        f"{path.relative_to(SRC)}:{line}: {name}"
        for path, tree in _modules()
        if _package(path) != "server"
        for line, name in _imports(tree)
        if name.split(".")[0] == "mcp"
    ]
    assert found == []


def test_only_the_crypto_module_imports_cryptography() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {name}"
        for path, tree in _modules()
        if path != STORE / "_crypto.py"
        for line, name in _imports(tree)
        if name.split(".")[0] == "cryptography"
    ]
    assert found == []


def test_no_package_reaches_into_another_packages_private_modules() -> None:
    """A package's door is its `__init__` (and its public `__all__`); `_module`s are its own."""
    found = [
        f"{path.relative_to(SRC)}:{where}"
        for path, tree in _modules()
        for where in _reach_ins(path, tree)
    ]
    assert found == []


def test_the_import_checks_see_what_they_forbid() -> None:
    code = (
        "import mcp\nfrom cryptography.hazmat import x\n"
        "from healthlocker.records._metrics import METRICS\nfrom healthlocker.store import Vault\n"
    )
    tree = ast.parse(code)
    names = [name for _, name in _imports(tree)]
    assert "mcp" in names
    assert "cryptography.hazmat" in names
    assert _reach_ins(SRC / "server" / "_x.py", tree) == [
        "3: healthlocker.records._metrics",
        "3: healthlocker.records._metrics.METRICS",
    ]
    assert _reach_ins(SRC / "records" / "_x.py", tree) == []
