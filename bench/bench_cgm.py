"""CGM import at full resolution: time, memory and vault size for a year of 5-minute readings.

    .venv/bin/python bench/bench_cgm.py [--days 365] [--runs 3] [--work DIR] [--no-write]

A Dexcom Clarity export of ``--days`` days (``bench/gen_cgm.py``: 288 readings a day, a G7,
mg/dL, with its events and header rows; cached in ``--work``) is imported ``--runs`` times, each
into a fresh vault on disk (vault creation and its Argon2id KDF not timed). Per run: the wall
and CPU time of ``import_paths`` (read, validate once per shape, seal, store, commit), the vault's
size on disk after it is closed (the database file and its write-ahead log), and the bytes that
come to per reading. Then, once: the peak RSS of the importing process (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the import), and the consensus statistics of the whole
year from the vault (``records._glucose``: decrypt every reading, then compute), cold and warm.

Prints the figures and writes (or replaces) the ``## CGM import`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.bench_import import _status_kib, machine  # noqa: E402
from bench.bench_tools import write_section  # noqa: E402
from bench.gen_cgm import write_year  # noqa: E402

SECTION = "## CGM import"
PASSPHRASE = "benchmark passphrase"
ZONE = "America/New_York"


def one_import(export: Path, home: Path, *, memory: bool = False) -> dict[str, Any]:
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        if memory:
            Path("/proc/self/clear_refs").write_text("5")
        cpu, start = time.process_time(), time.perf_counter()
        report = import_paths(vault, [export], time_zone=ZONE)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = _status_kib("VmHWM") if memory else None
        assert report.ok, [f.error for f in report.files]
        stored = report.files[0].result.by_type
    size = sum(f.stat().st_size for f in home.iterdir() if f.is_file())
    return {"wall": wall, "cpu": cpu, "bytes": size, "stored": stored, "peak_kib": peak}


def glucose_times(home: Path) -> tuple[float, float, Any]:
    """Seconds for the year's statistics from the vault (opened once, not timed): the first
    call, then the median of 5."""
    from healthlocker.records._glucose import glucose_stats, reading_of
    from healthlocker.store import Vault

    with Vault.open(home, prompt=lambda _text: PASSPHRASE) as vault:

        def run() -> Any:
            found = (reading_of(s.resource) for s in vault.resources("Observation"))
            return glucose_stats(r for r in found if r is not None)

        start = time.perf_counter()
        stats = run()
        cold = time.perf_counter() - start
        warm = []
        for _ in range(5):
            start = time.perf_counter()
            run()
            warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm), stats


def report(days: int, readings: int, export_mib: float, runs: list[dict[str, Any]],
           peak_mib: float, cold: float, warm: float) -> str:  # fmt: skip
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    size = statistics.median(r["bytes"] for r in runs)
    m = machine()
    return "\n".join([
        SECTION,
        "",
        f"Measured {dt.date.today()} on {m['nproc']} × {m['cpu']} (`nproc` = {m['nproc']}), "
        f"Python {m['python']}, SQLite {m['sqlite']}. Command:",
        "",
        f"    python bench/bench_cgm.py --days {days} --runs {len(runs)}",
        "",
        f"A Dexcom Clarity export of {days} days made by `bench/gen_cgm.py` ({readings:,} readings "
        f"at 5 minutes, {export_mib:.1f} MiB), imported into a fresh vault on "
        f"disk; the median of {len(runs)} runs.",
        "",
        "| readings | import wall (CPU) | per reading | vault on disk | per reading | peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {readings:,} | {wall:.1f} s ({cpu:.1f} s) | {1e6 * wall / readings:.0f} µs | "
        f"{size / 2**20:.1f} MiB | {size / readings:.0f} B | {peak_mib:.0f} MiB |",
        "",
        f"- the year's consensus statistics from the vault (decrypt {readings:,} readings, then "
        f"compute): {1000 * cold:.0f} ms the first time, {1000 * warm:.0f} ms after (median of 5)",
    ]) + "\n"  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, help="where the export is cached (default: a temp dir)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        export = work / f"Clarity_Export_{args.days}d.csv"
        readings = write_year(export, args.days)
        export_mib = export.stat().st_size / 2**20
        print(f"{readings:,} readings, {export_mib:.1f} MiB: {export}")
        runs = []
        for i in range(args.runs):
            run = one_import(export, Path(tmp) / f"v{i}")
            print(f"run {i + 1}: {run['wall']:.1f} s (CPU {run['cpu']:.1f} s), "
                  f"{run['bytes'] / 2**20:.1f} MiB on disk, {run['stored']}")  # fmt: skip
            runs.append(run)
        peak = one_import(export, Path(tmp) / "memory", memory=True)["peak_kib"] / 1024
        cold, warm, stats = glucose_times(Path(tmp) / "v0")
        print(stats.render())
    text = report(args.days, readings, export_mib, runs, peak, cold, warm)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
