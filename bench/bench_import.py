"""Import throughput and memory: bare JSON parsing, bare FHIR validation, end-to-end import.

    .venv/bin/python bench/bench_import.py [--resources 20000] [--runs 5] [--no-write]
    .venv/bin/python bench/bench_import.py --profile [--resources 5000]

On a corpus made by ``bench/corpus.py`` (distinct Synthea-derived transaction bundles), measures
in one process, interleaved round by round so machine noise hits all three alike, the median of
``--runs`` runs of:

(a) ``json.loads`` of every bundle file (bytes already read);
(b) ``fhir.resources.R4B`` ``get_fhir_model_class(rt).model_validate(resource)`` of every
    resource (JSON already parsed; models imported and warmed up beforehand);
(c) ``import_paths`` into a fresh vault: read, parse, validate, seal, store, one transaction
    per file (vault creation and its Argon2id KDF are not timed).

Then, in a fresh subprocess per corpus size (``--resources`` and three times that), the
end-to-end import's peak memory as RSS high-water: the kernel's ``VmHWM``, reset through
``/proc/self/clear_refs`` just before the import (so it is the import's own peak, not the
KDF's 64 MiB), and the whole process's (start-up and vault creation included).

Writes (or replaces) the ``## Import of FHIR bundles`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.corpus import make_corpus  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Import of FHIR bundles"
PASSPHRASE = "benchmark passphrase"
GOAL_RATIO = 0.60
GOAL_MIB = 200


# -- the three measurements --------------------------------------------------------------------


def time_json(datas: list[bytes]) -> float:
    start = time.perf_counter()
    for data in datas:
        json.loads(data)
    return time.perf_counter() - start


CPU: dict[str, list[float]] = {"validate": [], "import_main": [], "import_worker": []}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_validate(resources: list[dict[str, Any]]) -> float:
    from fhir.resources.R4B import get_fhir_model_class

    cpu = time.process_time()
    start = time.perf_counter()
    for res in resources:
        get_fhir_model_class(res["resourceType"]).model_validate(res)
    elapsed = time.perf_counter() - start
    CPU["validate"].append(time.process_time() - cpu)
    return elapsed


def time_import(corpus: Path, work: Path, expected: int) -> float:
    """Wall time of one import; its CPU time (this process, and the validation worker, which
    has exited when import_paths returns) goes to CPU."""
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    home = work / "vault"
    shutil.rmtree(home, ignore_errors=True)
    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        cpu, children = time.process_time(), _children_cpu()
        start = time.perf_counter()
        report = import_paths(vault, [corpus], source="bench")
        elapsed = time.perf_counter() - start
        CPU["import_main"].append(time.process_time() - cpu)
        CPU["import_worker"].append(_children_cpu() - children)
    _check(report, expected)
    shutil.rmtree(home)
    return elapsed


def _check(report: Any, expected: int) -> None:
    errors = [f.error for f in report.files if f.error]
    if errors or report.totals()["added"] != expected:
        raise SystemExit(f"import failed: {report.totals()} {errors[:3]}")


# -- memory, in a fresh process ----------------------------------------------------------------


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else -1


def memory_child(corpus: Path, home: Path, expected: int) -> None:
    """Runs in the subprocess: create a vault, reset the RSS high-water mark, import."""
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        setup_hwm = _status_kib("VmHWM")  # interpreter, imports and the Argon2id KDF
        before = _status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        start = time.perf_counter()
        report = import_paths(vault, [corpus], source="bench")
        elapsed = time.perf_counter() - start
        peak = _status_kib("VmHWM")
    _check(report, expected)
    # Not ru_maxrss: Linux carries the forking parent's RSS over exec into it.
    out = {
        "rss_before_kib": before,
        "import_hwm_kib": peak,
        "elapsed": elapsed,
        "process_hwm_kib": max(setup_hwm, peak),
    }
    print(json.dumps(out))


def measure_memory(corpus: Path, work: Path, expected: int) -> dict[str, Any]:
    home = work / "vault-mem"
    shutil.rmtree(home, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(corpus), str(home), str(expected)],
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(home, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"memory run failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- profile -----------------------------------------------------------------------------------


def profile_import(corpus: Path, work: Path, expected: int, top: int = 25) -> str:
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    time_import(corpus, work, expected)  # warm: model imports, caches
    home = work / "vault-prof"
    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        prof = cProfile.Profile()
        prof.enable()
        report = import_paths(vault, [corpus], source="bench")
        prof.disable()
    _check(report, expected)
    stats: Any = pstats.Stats(prof)  # .stats and .total_tt are undocumented but stable
    total = max(stats.total_tt, 1e-9)
    lines = [f"profile of import_paths, {expected} resources, {total:.2f} s under cProfile"]
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative")):
        lines.append(f"\n-- top by {title} --")
        rows = sorted(
            stats.stats.items(),
            key=lambda kv: kv[1][2 if key == "tottime" else 3],
            reverse=True,
        )
        for (file, line, func), (_cc, calls, tt, ct, _callers) in rows[:top]:
            value = tt if key == "tottime" else ct
            where = f"{Path(file).name}:{line}" if line else file
            lines.append(
                f"{100 * value / total:6.1f}%  {value:7.2f}s  {calls:>9}  {func}  ({where})"
            )
    return "\n".join(lines)


def describe_cpu(n: int) -> str:
    """CPU time per resource: bare validation, and the import's two processes."""
    per = {k: 1e3 * statistics.median(v) / n for k, v in CPU.items() if v}
    total = per["import_main"] + per["import_worker"]
    return (
        f"CPU time per resource (medians): bare validation {per['validate']:.2f} ms; the "
        f"import {total:.2f} ms, of which {per['import_main']:.2f} ms in the importing process "
        f"and {per['import_worker']:.2f} ms in the validation worker. On CPU time alone, end "
        f"to end is **{per['validate'] / total:.0%}** of bare validation: the rate the import "
        "would keep if it had only one core"
    )


# -- report ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    import cryptography
    import fhir.resources
    import pydantic

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "libs": f"fhir.resources {fhir.resources.__version__}, pydantic {pydantic.VERSION}, "
        f"cryptography {cryptography.__version__}",
        "date": dt.date.today().isoformat(),
    }


_ROWS = (
    ("json", "(a) bare JSON", "`json.loads` of each bundle file (bytes already in memory)"),
    (
        "validate",
        "(b) bare validation",
        "`fhir.resources.R4B` `get_fhir_model_class(rt).model_validate(r)` per resource "
        "(JSON parsed, models warm)",
    ),
    (
        "import",
        "(c) end to end",
        "`import_paths` into a fresh vault: read, parse, validate, seal, store "
        "(vault creation not timed)",
    ),
)


def render(info: dict[str, Any]) -> str:
    m, rates = info["machine"], info["rates"]
    ratio = rates["import"] / rates["validate"]
    rate_rows = "\n".join(
        f"| {label} | {what} | {rates[key]:,.0f} | {info['times'][key]} |"
        for key, label, what in _ROWS
    )
    mem_rows = "\n".join(
        f"| {r['resources']:,} ({r['files']} files) | {r['import_hwm_kib'] / 1024:.0f} MiB "
        f"| {r['rss_before_kib'] / 1024:.0f} MiB | {r['process_hwm_kib'] / 1024:.0f} MiB "
        f"| {r['resources'] / r['elapsed']:,.0f} |"
        for r in info["memory"]
    )
    peak = max(r["import_hwm_kib"] for r in info["memory"]) / 1024
    ratio_ok = "met" if ratio >= GOAL_RATIO else "not met"
    peak_ok = "met" if peak < GOAL_MIB else "not met"
    return f"""{SECTION}

Measured {m["date"]} on {m["nproc"]} × {m["cpu"]} (`nproc` = {m["nproc"]}), Python {m["python"]},
SQLite {m["sqlite"]}, {m["libs"]}. Command:

    {info["command"]}

Corpus: {info["resources"]:,} resources in {info["files"]} distinct FHIR R4 transaction bundles
({info["mib"]:.1f} MiB) made by `bench/corpus.py` from the six Synthea samples (every UUID
rewritten per copy). Rates are resources per second, the median of {info["runs"]} runs; the three
measurements are interleaved round by round, so load from other processes hits them alike.

| measurement | what is timed | resources/s | runs (s) |
| --- | --- | ---: | --- |
{rate_rows}

**(c)/(b) = {ratio:.0%}** (goal ≥ {GOAL_RATIO:.0%}: {ratio_ok}).

The import validates on both cores (`connectors/_ahead.py`): a worker process takes the next
file nobody has taken, and the importing process, whenever the file it must store next is still
with the worker, validates a later one; it also reads, parses, seals and stores every file, in
order. So end to end can pass one core's bare validation rate when the second core is free, and
falls towards the CPU-time ratio below when other work takes it (wall-clock ratios above are
from a machine shared with other work: load average {info["load"]} at the end).
{info["cpu"]}. The rest of the importing process's time is reading and parsing, canonical JSON,
keyed tags, sealing and SQLite; `bench/bench_import.py --profile` prints a cProfile of one
import (the importing process only).

Peak memory of the end-to-end import, each size in a fresh process. "Import peak" is the RSS
high-water mark (`VmHWM`) reset through `/proc/self/clear_refs` just before `import_paths`, so it
covers the import alone; "whole process" is the larger of that and the high-water mark before the
reset, which covers start-up and the vault's creation (Argon2id with 64 MiB). RSS rather than
tracemalloc, because RSS also counts what SQLite, OpenSSL and pydantic-core allocate outside
Python's allocator. (Not `ru_maxrss`: Linux carries the forking parent's RSS into it.)

| corpus | import peak RSS | RSS before import | whole process peak RSS | resources/s (this run) |
| --- | ---: | ---: | ---: | ---: |
{mem_rows}

Import peak {peak:.0f} MiB (goal < {GOAL_MIB} MiB: {peak_ok}). It does not grow with the
corpus: one bundle file is parsed whole, so the peak follows the largest file, not the total.
"""


def write_section(text: str, doc: Path = DOC) -> None:
    """Replace this benchmark's section of *doc* (up to the next ``## ``), keeping the others."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    body = text.rstrip("\n") + "\n"
    if pattern.search(old):
        new = pattern.sub(lambda _m: body + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + body
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--memory-factor",
        type=int,
        default=3,
        help="memory is also measured at this many times --resources",
    )
    parser.add_argument("--no-write", action="store_true", help=f"don't update {DOC.name}")
    parser.add_argument("--profile", action="store_true", help="cProfile one end-to-end import")
    parser.add_argument(
        "--memory-child", nargs=3, metavar=("CORPUS", "HOME", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(
            Path(args.memory_child[0]), Path(args.memory_child[1]), int(args.memory_child[2])
        )
        return 0
    os.environ.pop("HEALTHLOCKER_HOME", None)

    with tempfile.TemporaryDirectory(prefix="hl-bench-") as tmp:
        work = Path(tmp)
        corpus_dir = work / "corpus"
        corpus = make_corpus(corpus_dir, args.resources)
        n = corpus["resources"]
        if args.profile:
            print(profile_import(corpus_dir, work, n))
            return 0
        datas = [p.read_bytes() for p in corpus["files"]]
        resources = [e["resource"] for d in datas for e in json.loads(d)["entry"]]
        assert len(resources) == n
        # Warm-up, untimed: import every model class and validate each type once.
        time_validate(list({r["resourceType"]: r for r in resources}.values()))
        CPU["validate"].clear()

        times: dict[str, list[float]] = {"json": [], "validate": [], "import": []}
        for run in range(args.runs):
            times["json"].append(time_json(datas))
            times["validate"].append(time_validate(resources))
            times["import"].append(time_import(corpus_dir, work, n))
            print(
                f"run {run + 1}/{args.runs}: "
                + ", ".join(f"{k} {n / v[-1]:,.0f}/s" for k, v in times.items()),
                file=sys.stderr,
            )
        del resources
        rates = {k: n / statistics.median(v) for k, v in times.items()}
        cpu = describe_cpu(n)
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(cpu, file=sys.stderr)

        memory = []
        for size in (args.resources, args.resources * args.memory_factor):
            if size == args.resources:
                mcorpus, mdir = corpus, corpus_dir
            else:
                mdir = work / f"corpus-{size}"
                mcorpus = make_corpus(mdir, size)
            result = measure_memory(mdir, work, mcorpus["resources"])
            result.update(resources=mcorpus["resources"], files=len(mcorpus["files"]))
            memory.append(result)
            print(
                f"memory at {mcorpus['resources']:,}: import peak "
                f"{result['import_hwm_kib'] / 1024:.0f} MiB",
                file=sys.stderr,
            )

        info = {
            "machine": machine(),
            "command": f".venv/bin/python bench/bench_import.py --resources {args.resources} "
            f"--runs {args.runs}",
            "resources": n,
            "files": len(corpus["files"]),
            "mib": sum(len(d) for d in datas) / 2**20,
            "runs": args.runs,
            "rates": rates,
            "times": {k: ", ".join(f"{t:.2f}" for t in v) for k, v in times.items()},
            "memory": memory,
            "cpu": cpu,
            "load": load,
        }
    text = render(info)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
