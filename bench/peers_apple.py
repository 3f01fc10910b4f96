"""Peer Apple Health importers, each in a throwaway venv, on the same generated export.xml.

Used by ``bench/bench_apple.py --peers``. Each peer is pip-installed from PyPI (pinned) into
its own venv under the bench's work folder (``<work>/peers/<name>``, made on first use, kept for
later runs; delete the folder to start afresh) and run as a subprocess on the same export.xml
as healthlocker, non-interactively:

- ``apple-health-mcp-server`` (DuckDB, Python ≥ 3.12): its CLI takes only an export.zip, which it
  extracts to a temporary folder before calling ``run_import(folder, db_path)``; that call, the
  whole import pipeline (SHA-256 of export.xml, lxml parse, DuckDB bulk load, dedup, ECG and
  GPX), is what is timed here, on a folder holding a link to the export.xml.
- ``healthkit-to-sqlite`` (sqlite-utils): its CLI, ``healthkit-to-sqlite export.xml out.db
  --xml --silent``.

Wall time, CPU time and the peak RSS (``ru_maxrss``) of the peer's process come from
``os.wait4``; a fresh database each run, removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Peer:
    name: str
    requirement: str
    min_python: tuple[int, int]
    what: str  # one line for the docs


PEERS = (
    Peer("apple-health-mcp-server", "apple-health-mcp-server==0.6.1", (3, 12),
         "DuckDB; `run_import` on a folder with export.xml"),
    Peer("healthkit-to-sqlite", "healthkit-to-sqlite==1.0.1", (3, 8),
         "sqlite-utils; `healthkit-to-sqlite export.xml out.db --xml --silent`"),
)  # fmt: skip

_AHMS = """
import sys
from pathlib import Path
from apple_health_mcp.importers.orchestrator import run_import
stats = run_import(Path(sys.argv[1]), db_path=Path(sys.argv[2]))
print(stats.records)
"""


class Unavailable(Exception):
    """The peer cannot be run here; the message says why."""


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.split()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out[0]), int(out[1])


def find_python(least: tuple[int, int], explicit: str | None = None) -> str | None:
    """An interpreter at least *least*: *explicit*, this one, python3.1x on PATH, or pyenv's."""
    candidates = [explicit] if explicit else []
    candidates += [sys.executable, *(shutil.which(f"python3.{m}") for m in (14, 13, 12))]
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python") for p in sorted(pyenv.iterdir(), reverse=True)]
    for python in candidates:
        if python and (v := _version(python)) is not None and v >= least:
            return python
    return None


def venv(peer: Peer, work: Path, explicit_python: str | None = None) -> Path:
    """The bin folder of *peer*'s venv, made (and its package installed) if need be."""
    home = work / "peers" / peer.name
    bin_dir = home / "bin"
    if (home / "installed").exists():
        return bin_dir
    python = find_python(peer.min_python, explicit_python)
    if python is None:
        need = ".".join(map(str, peer.min_python))
        raise Unavailable(f"needs Python ≥ {need}, and none was found (give --peer-python)")
    shutil.rmtree(home, ignore_errors=True)
    steps = [
        [python, "-m", "venv", str(home)],
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", peer.requirement],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {last[:200]}")
    (home / "installed").write_text(peer.requirement + "\n")
    return bin_dir


def _timed(
    cmd: list[str], env: dict[str, str], logs: Path, timeout: float
) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS KiB, stdout) of a command; raises Unavailable if it fails."""
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        wall = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - wall
        timer.cancel()
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if elapsed >= timeout:
        raise Unavailable(f"did not finish in {timeout:.0f} s (stopped)")
    if code:
        lines = err_path.read_text(errors="replace").strip().splitlines() or ["(no message)"]
        raise Unavailable(f"exit {code}: {lines[-1][:200]}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss, out_path.read_text(errors="replace")


def _rows(db: Path) -> int:
    """Rows in every table of a SQLite database (what healthkit-to-sqlite stored)."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def run(
    peer: Peer, xml: Path, work: Path, python: str | None = None, timeout: float = 1800
) -> dict[str, Any]:
    """One import of *xml* by *peer* into a fresh database: wall, cpu, peak_kib, rows."""
    bin_dir = venv(peer, work, python)
    scratch = work / "peers" / f"{peer.name}-run"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    env = {**os.environ, "XDG_DATA_HOME": str(scratch), "XDG_STATE_HOME": str(scratch)}
    env.pop("PYTHONPATH", None)
    try:
        if peer.name == "healthkit-to-sqlite":
            db = scratch / "healthkit.db"
            cmd = [str(bin_dir / "healthkit-to-sqlite"), str(xml), str(db), "--xml", "--silent"]
            wall, cpu, peak, _ = _timed(cmd, env, scratch, timeout)
            rows = _rows(db)
        else:
            folder = scratch / "apple_health_export"
            folder.mkdir()
            (folder / "export.xml").symlink_to(xml.resolve())
            cmd = [str(bin_dir / "python"), "-c", _AHMS, str(folder), str(scratch / "h.duckdb")]
            wall, cpu, peak, out = _timed(cmd, env, scratch, timeout)
            rows = int(out.split()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"wall": wall, "cpu": cpu, "peak_kib": peak, "rows": rows}


def measure(work: Path, xml: Path, python: str | None, timeout: float) -> dict[str, Any]:
    """Each peer once on *xml*: its figures, or {"error": why it could not run}."""
    out: dict[str, Any] = {}
    for peer in PEERS:
        try:
            out[peer.name] = run(peer, xml, work, python, timeout)
        except Unavailable as exc:
            out[peer.name] = {"error": str(exc)}
        print(peer.name, out[peer.name], file=sys.stderr, flush=True)
    return out


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(s[key] for s in samples))


def table(sizes: list[dict[str, Any]]) -> str:
    """Side by side, per size: the bare pass, healthlocker's import and each peer's."""
    lines = [
        "| export.xml | importer | wall | MB/s | ÷ bare pass | CPU | peak RSS | stored |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sizes:
        mb, b, x = r["mb"], r["bare"], r["xml"]
        size = f"{mb:,.0f} MB"
        lines.append(
            f"| {size} | bare lxml pass (counts records) | {b['wall']:.1f} s | "
            f"{mb / b['wall']:.0f} | 1.00× | {b['cpu']:.1f} s | — | {b['count']:,} records |"
        )
        lines.append(
            f"| {size} | **healthlocker** (daily aggregates, sealed) | {x['wall']:.1f} s | "
            f"{mb / x['wall']:.0f} | {x['wall'] / b['wall']:.2f}× | {x['cpu']:.1f} s | "
            f"{(r['memory']['peak'] + r['memory']['worker']) / 1024:.0f} MiB | "
            f"{x['count']:,} resources |"
        )
        for peer in PEERS:
            samples = r.get("peers", {}).get(peer.name, [])
            ok = [s for s in samples if "error" not in s]
            if not ok:
                why = samples[0]["error"] if samples else "not run at this size"
                lines.append(f"| {size} | {peer.name} | — | — | — | — | — | {why} |")
                continue
            wall, cpu = _median(ok, "wall"), _median(ok, "cpu")
            lines.append(
                f"| {size} | {peer.name} | {wall:.1f} s | {mb / wall:.0f} | "
                f"{wall / b['wall']:.2f}× | {cpu:.1f} s | {_median(ok, 'peak_kib') / 1024:.0f} MiB "
                f"| {ok[0]['rows']:,} rows |"
            )
    return "\n".join(lines)
