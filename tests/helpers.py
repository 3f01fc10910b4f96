"""Helpers shared by the tests (import as ``from helpers import ...``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "fhir"
PASSPHRASE = "correct horse battery staple"


def sample_files() -> list[Path]:
    return sorted(SAMPLES.rglob("*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run_cli(
    *args: str,
    home: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``healthlocker`` as a real process, the way a user does."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    full_env["HEALTHLOCKER_PASSPHRASE"] = PASSPHRASE
    if home is not None:
        full_env["HEALTHLOCKER_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "healthlocker.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=300,
        check=False,
    )
