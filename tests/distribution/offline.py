"""What the distribution tests share: the wheelhouse, uv offline, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

# Filled by `scripts/setup --test`: healthlocker's dependencies and what builds it, so that
# these tests install offline what a user's machine installs online.
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
UV = Path(sys.executable).parent / "uv"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without healthlocker's settings or a PYTHONPATH that could reach the
    source tree: what runs must be the installed copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALTHLOCKER_", "UV_"))}
    env.pop("PYTHONPATH", None)
    return env | extra


def uv(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """uv, offline: packages come from the built files and the wheelhouse only."""
    offline = ("--offline", "--no-index", "--find-links", str(WHEELHOUSE))
    return subprocess.run(
        [str(UV), *args[:2], *offline, *args[2:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
