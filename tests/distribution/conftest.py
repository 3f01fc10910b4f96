"""The built wheel, shared by the distribution tests (built once per run, offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from distribution.offline import WHEELHOUSE
from helpers import ROOT


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert WHEELHOUSE.is_dir(), "run scripts/setup --test: it fills .venv/wheelhouse"
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [found] = out.glob("healthlocker-*-py3-none-any.whl")
    return found
