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
