"""The wheel carries everything it needs, and runs installed by `uv tool` and `uvx` -- the
installed command, not this source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from distribution.offline import clean_env, uv
from healthlocker import __version__


def test_the_wheel_carries_its_data_and_its_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for data in ("records/lab_catalog.json", "records/glossary.json"):
            assert json.loads(z.read(f"healthlocker/{data}")), data
        person = json.loads(z.read("healthlocker/cli/demo_person/ehr.json"))
        assert person["resourceType"] == "Bundle"
        # The chart views' page shell and script (charts/apps), served as MCP Apps resources.
        assert b"<html" in z.read("healthlocker/charts/apps/shell.html").lower()
        assert z.read("healthlocker/charts/apps/charts.js")
        assert "healthlocker/py.typed" in names
        info = f"healthlocker-{__version__}.dist-info"
        entry_points = z.read(f"{info}/entry_points.txt").decode()
        assert "healthlocker = healthlocker.cli:main" in entry_points
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "samples/"))]


def test_uv_tool_install_runs_the_demo_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(
        UV_TOOL_DIR=str(tmp_path / "tools"),
        UV_TOOL_BIN_DIR=str(tmp_path / "bin"),
        UV_CACHE_DIR=str(tmp_path / "cache"),
    )
    installed = uv("tool", "install", "--python", sys.executable, str(wheel), env=env)
    assert installed.returncode == 0, installed.stderr
    command = tmp_path / "bin" / "healthlocker"
    run = subprocess.run(
        [str(command), "demo"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.rstrip().endswith("Done; the throwaway vault is deleted.")
    # It ran the installed copy: its package lives in the tool's environment.
    where = subprocess.run(
        [
            str(tmp_path / "tools" / "healthlocker" / "bin" / "python"),
            "-c",
            "import healthlocker.cli; print(healthlocker.cli.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert where.startswith(str(tmp_path / "tools"))


def test_uvx_runs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    env = clean_env(UV_CACHE_DIR=str(tmp_path / "cache"))
    ran = uv(
        "tool",
        "run",
        "--python",
        sys.executable,
        "--from",
        str(wheel),
        "healthlocker",
        "--version",
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"healthlocker {__version__}"
