"""No plaintext health data in any file the vault writes, nor in the temp folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from helpers import SAMPLES, load_json, run_cli, sample_files


def _walk(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    else:
        yield key, value


def _sensitive_strings() -> set[str]:
    """Names, birth dates, code displays, medication names and value strings of the fixtures."""
    found: set[str] = set()
    for path in sample_files():
        for key, value in _walk(load_json(path)):
            if key in {"family", "given", "birthDate", "display", "text", "value", "city", "line"}:
                text = str(value)
                if len(text) >= 6 and not text.startswith(("http", "urn:")):
                    found.add(text)
    return found


def test_no_plaintext_in_vault_files_or_temp(tmp_path: Path) -> None:
    home, tmp = tmp_path / "vault", tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    assert run_cli("init", home=home, env=env).returncode == 0
    result = run_cli(
        "import", str(SAMPLES / "synthea"), str(SAMPLES / "bluebutton"), home=home, env=env
    )
    assert result.returncode == 0, result.stderr
    assert run_cli("status", home=home, env=env).returncode == 0
    needles = _sensitive_strings()
    assert len(needles) > 500  # the scan is meaningful only if it looks for many things
    assert {"Adalberto", "Hartmann", "Body Height"} <= needles | {n[:-3] for n in needles}
    files = [p for p in [*home.rglob("*"), *tmp.rglob("*")] if p.is_file()]
    assert any(p.name == "vault.db" for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    leaked = sorted(n for n in needles if n.encode() in blob)
    assert leaked == []
    # The output a user sees is a summary: no record content in it either.
    assert not [n for n in needles if n in result.stdout + result.stderr]
    assert os.listdir(tmp) == []
