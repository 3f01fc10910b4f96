"""Apple Health import: throughput against a bare lxml pass, zip against XML, peak memory.

    .venv/bin/python bench/bench_apple.py [--sizes 100 1000 2000] [--runs 3] [--work DIR]
        [--no-write] [--peers [--peer-runs 1] [--peer-sizes 100 1000] [--peer-python PY]]

For each size (MB of export.xml), made by ``bench/gen_apple.py`` (cached in ``--work``), in one
process, interleaved round by round so load from other processes hits them alike, the median of
``--runs`` runs of:

(a) a bare lxml target parser over export.xml that only counts ``Record`` elements (the same
    parser options as the importer, 1 MiB chunks): the floor for any lxml-based importer;
(b) ``import_paths`` of export.xml into a fresh vault: parse, aggregate, validate, seal, store,
    commit (vault creation not timed);
(c) the same from ``export.zip`` (the same export.xml, deflated as the iPhone does);
(d) with ``--peers``, in the first ``--peer-runs`` rounds (and for ``--peer-sizes`` only, if
    given): the peer importers on the same export.xml, each in a throwaway venv that this
    command makes (``bench/peers_apple.py``).

The goals on speed are checked at the size nearest 1,000 MB; the one on memory at every size.

Wall time and CPU time (this process and its children: the reader process) are both given;
the machine is shared, so CPU time is the steadier figure. Then, in a fresh subprocess per size,
the import's peak memory: the importing process's RSS high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the import) and the reader process's (its own ``VmHWM``,
which it reports when it is done). Last, ``summarize_trends(metric="steps")`` over five years of
daily steps. Writes (or replaces) the ``## Apple Health import`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench import peers_apple  # noqa: E402
from bench.bench_import import _status_kib, machine  # noqa: E402
from bench.bench_tools import write_section  # noqa: E402
from bench.gen_apple import span  # noqa: E402
from bench.gen_apple import write as generate  # noqa: E402
from healthlocker.connectors.apple._proc import OUTBOX  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Apple Health import"
PASSPHRASE = "benchmark passphrase"
GOAL_RATIO, GOAL_ZIP, GOAL_MIB, GOAL_TREND_MS = 2.0, 1.15, 150, 20


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def exports(work: Path, mb: int) -> tuple[Path, Path]:
    xml, zipped = work / f"export-{mb}.xml", work / f"export-{mb}.zip"
    if not xml.exists():
        generate(xml, mb)
    if not zipped.exists():
        generate(zipped, mb)
    return xml, zipped


# -- the measurements ---------------------------------------------------------------------------


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def start(self, tag: str, attrib: Any) -> None:
        if tag == "Record":
            self.n += 1

    def close(self) -> int:
        return self.n


def bare(xml: Path) -> tuple[float, float, int]:
    """(wall s, cpu s, records) of a bare lxml target-parser pass."""
    from lxml import etree

    parser = etree.XMLParser(
        target=_Count(), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    wall, cpu = time.perf_counter(), _cpu()
    with xml.open("rb") as f:
        while chunk := f.read(1 << 20):
            parser.feed(chunk)
    records: int = parser.close()
    return time.perf_counter() - wall, _cpu() - cpu, records


def imported(path: Path, work: Path) -> tuple[float, float, int]:
    """(wall s, cpu s, resources) of import_paths into a fresh vault."""
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    home = Path(tempfile.mkdtemp(dir=work))
    try:
        with Vault.create(home, passphrase=PASSPHRASE) as vault:
            wall, cpu = time.perf_counter(), _cpu()
            report = import_paths(vault, [path], source="bench")
            elapsed, used = time.perf_counter() - wall, _cpu() - cpu
        if not report.ok:
            raise SystemExit(f"import failed: {[f.error for f in report.files]}")
        return elapsed, used, report.totals()["added"]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def parsed(xml: Path) -> tuple[float, float, int]:
    """(wall s, cpu s, resources) of making the resources alone, in this process: the reader's
    part of an import, without validating or storing."""
    from healthlocker.connectors.apple._reader import produce

    wall, cpu = time.perf_counter(), _cpu()
    n = sum(1 for _ in produce(xml, None, {}))
    return time.perf_counter() - wall, _cpu() - cpu, n


def rounds(xml: Path, zipped: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, list[tuple[float, float, int]]] = {"bare": [], "xml": [], "zip": [], "parse": []}
    peers: dict[str, list[dict[str, Any]]] = {}
    load = [os.getloadavg()[0]]
    for n in range(args.runs):
        out["bare"].append(bare(xml))
        out["xml"].append(imported(xml, work))
        out["zip"].append(imported(zipped, work))
        out["parse"].append(parsed(xml))
        mb = round(xml.stat().st_size / 1e6)
        wanted = args.peer_sizes is None or any(abs(mb - s) <= 0.05 * s for s in args.peer_sizes)
        if args.peers and n < args.peer_runs and wanted:
            found = peers_apple.measure(work, xml, args.peer_python, args.peer_timeout)
            for name, figures in found.items():
                peers.setdefault(name, []).append(figures)
        load.append(os.getloadavg()[0])
    size = xml.stat().st_size / 1e6
    result: dict[str, Any] = {
        "mb": size, "zip_mb": zipped.stat().st_size / 1e6, "load": load, "peers": peers,
        "days": span(xml.stat().st_size),
    }  # fmt: skip
    for key, samples in out.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        result[key] = {
            "wall": wall,
            "cpu": cpu,
            "mbs": size / wall,
            "count": samples[0][2],
            "walls": [round(s[0], 2) for s in samples],
        }
    return result


def memory_child(path: str, home: str) -> None:
    """In a fresh process: the import's peak RSS, and its reader process's."""
    from healthlocker.connectors import import_paths
    from healthlocker.connectors.apple import _proc as _apple_proc
    from healthlocker.store import Vault

    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        before = _status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        report = import_paths(vault, [Path(path)], source="bench")
        peak = _status_kib("VmHWM")
    if not report.ok:
        raise SystemExit(f"import failed: {[f.error for f in report.files]}")
    reader = _apple_proc.last_reader_peak_kib or 0
    print(json.dumps({"before": before, "peak": peak, "worker": reader}))


def memory(path: Path, work: Path) -> dict[str, int]:
    home = Path(tempfile.mkdtemp(dir=work)) / "vault"
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path), str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(home.parent, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"memory run failed:\n{proc.stderr}")
    result: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def trend_speed(work: Path, years: int = 5) -> dict[str, float]:
    """summarize_trends over *years* of daily steps: first call, then the median of 20."""
    import datetime as dt

    from healthlocker.connectors import import_paths
    from healthlocker.records._trends import summarize_trends
    from healthlocker.store import Vault

    start = dt.date(2020, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range(years * 365 + 1)]
    rows = "".join(
        f'<Record type="HKQuantityTypeIdentifierStepCount" sourceName="iPhone" unit="count"'
        f' startDate="{d} 12:00:00 +0000" endDate="{d} 12:05:00 +0000"'
        f' value="{5000 + i % 3000}"/>\n'
        for i, d in enumerate(days)
    )
    xml = work / "steps.xml"
    xml.write_text(f'<HealthData locale="en_US">\n{rows}</HealthData>\n', encoding="utf-8")
    home = Path(tempfile.mkdtemp(dir=work))
    try:
        with Vault.create(home, passphrase=PASSPHRASE) as vault:
            assert import_paths(vault, [xml]).ok
            t = time.perf_counter()
            view = summarize_trends(vault, metric="steps")
            first = time.perf_counter() - t
            assert len(view.points) >= 50
            warm = []
            for _ in range(20):
                t = time.perf_counter()
                summarize_trends(vault, metric="steps")
                warm.append(time.perf_counter() - t)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"days": len(days), "first_ms": first * 1000, "warm_ms": statistics.median(warm) * 1000}


# -- report -------------------------------------------------------------------------------------


_HEADER = (
    "| export.xml | (a) bare lxml pass | (b) import from XML | (b) ÷ (a) wall (CPU) "
    "| (c) import from zip | (c) ÷ (b) | resources |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def render(info: dict[str, Any]) -> str:
    m = info["machine"]
    rows, mem_rows, verdicts = [], [], []
    for r in info["sizes"]:
        b, x, z = r["bare"], r["xml"], r["zip"]
        rows.append(
            f"| {r['mb']:,.0f} MB ({b['count']:,} records) | {b['mbs']:.0f} MB/s "
            f"({b['wall']:.1f} s; CPU {b['cpu']:.1f} s) | {x['mbs']:.0f} MB/s ({x['wall']:.1f} s; "
            f"CPU {x['cpu']:.1f} s) | {x['wall'] / b['wall']:.2f}× ({x['cpu'] / b['cpu']:.2f}×) "
            f"| {z['wall']:.1f} s; CPU {z['cpu']:.1f} s | {z['wall'] / x['wall']:.2f}× "
            f"| {x['count']:,} |"
        )
        mm = r["memory"]
        reader = f"{mm['worker'] / 1024:.0f} MiB" if mm["worker"] else "none (read in-process)"
        mem_rows.append(
            f"| {r['mb']:,.0f} MB | {r.get('days', 0):,} | {mm['peak'] / 1024:.0f} MiB "
            f"| {mm['before'] / 1024:.0f} MiB | {reader} |"
        )
    big = min(info["sizes"], key=lambda r: abs(r["mb"] - 1000))  # the goals name about 1 GB
    loads = [x for r in info["sizes"] for x in r["load"]]
    parse_cpu = big["parse"]["cpu"] / big["bare"]["cpu"]
    paired = statistics.median(
        x / b for x, b in zip(big["xml"]["walls"], big["bare"]["walls"], strict=True)
    )
    ratio = big["xml"]["wall"] / big["bare"]["wall"]
    cpu_ratio = big["xml"]["cpu"] / big["bare"]["cpu"]
    zip_ratio = big["zip"]["wall"] / big["xml"]["wall"]
    zip_cpu = big["zip"]["cpu"] / big["xml"]["cpu"]
    peak = max(r["memory"]["peak"] for r in info["sizes"]) / 1024
    both = [(r["memory"]["peak"] + r["memory"]["worker"]) / 1024 for r in info["sizes"]]
    t = info["trend"]

    def ok(good: bool) -> str:
        return "met" if good else "not met"

    verdicts = [
        f"import ÷ bare pass at {big['mb']:,.0f} MB: **{ratio:.2f}×** wall (medians; the median of "
        f"each round's own ratio: {paired:.2f}×), {cpu_ratio:.2f}× CPU "
        f"(goal ≤ {GOAL_RATIO:.0f}×: {ok(max(ratio, paired) <= GOAL_RATIO)} by both wall figures)",
        f"zip ÷ XML: **{zip_ratio:.2f}×** wall, {zip_cpu:.2f}× CPU "
        f"(goal ≤ {GOAL_ZIP:.2f}×: {ok(zip_ratio <= GOAL_ZIP)})",
        f"peak RSS, the importing process and the reader process together: "
        f"**{' → '.join(f'{b:.0f}' for b in both)} MiB** from the smallest size to the largest "
        f"(goal < {GOAL_MIB} MiB at every size: {ok(max(both) < GOAL_MIB)}); the importing "
        f"process alone at most {peak:.0f} MiB",
        f'`summarize_trends(metric="steps")` over {t["days"]:,} days (five years): '
        f"**{t['warm_ms']:.1f} ms** (median of 20 calls; goal < {GOAL_TREND_MS} ms: "
        f"{ok(t['warm_ms'] < GOAL_TREND_MS)}); the first call after the import, which opens and "
        f"decrypts the {t['days']:,} rows: {t['first_ms']:.0f} ms",
    ]
    verdict_lines = "\n".join(f"- {v}" for v in verdicts)
    peer_text = _peer_text(info)
    return f"""{SECTION}

Measured {m["date"]} on {m["nproc"]} × {m["cpu"]} (`nproc` = {m["nproc"]}), Python {m["python"]},
SQLite {m["sqlite"]}, {m["libs"]}. Command:

    {info["command"]}

Exports made by `bench/gen_apple.py` (about 1,700 records a day from an iPhone and an Apple Watch:
heart rate with metadata, overlapping steps/distance/energy, HRV lists, sleep stages, weekly
blood pressure as correlations, workouts with statistics, activity summaries). The median of
{info["runs"]} runs, interleaved round by round; the machine is shared with other work, so
wall times vary from run to run and CPU time (both processes: the importing one and the reader)
is given too. (a) is a bare lxml target parser that only counts `Record`s, same parser options,
1 MiB chunks; (b) is `import_paths` of export.xml into a fresh vault (parse, aggregate, validate,
seal, store, commit; vault creation not timed); (c) the same export as `export.zip`.

{_HEADER}
{chr(10).join(rows)}

{verdict_lines}

Peak memory, each size in a fresh process: the importing process's RSS high-water mark
(`VmHWM`, reset through `/proc/self/clear_refs` just before `import_paths`; it validates, seals
and stores), its RSS before (the interpreter and a vault after Argon2id), and the reader
process's high-water mark (it parses and aggregates; it exits when the import ends).

| export.xml | days it covers | import peak RSS | RSS before import | reader process peak RSS |
| --- | ---: | ---: | ---: | ---: |
{chr(10).join(mem_rows)}

What either process holds does not follow the file: the importing process holds the batch it is
storing; the reader, the accumulators of the one record type it is reading (its days × sources:
about 0.6 KB a day and source) and at most {OUTBOX} batches of pickled resources
waiting for the importing process. A type's accumulators, and workouts and summaries, are
dropped as soon as their resources have left (`apple/_flow.py`). From the smallest size to the
next, the queue of batches fills (the importing process falls behind during the bursts of a
type's days, which a small export has few of); above that, what grows is the days of the
type being read.

Where the time goes, at {big["mb"]:,.0f} MB: the reader's part alone (parse, aggregate, build
the {big["parse"]["count"]:,} resources: `apple._reader.produce` in one process, no validation or
storage) takes {big["parse"]["wall"]:.1f} s, CPU {big["parse"]["cpu"]:.1f} s:
**{parse_cpu:.2f}×** the bare pass's CPU. lxml makes a Python call per element and builds its
attribute dict (the bare pass pays that too); the collector's own work on a record is a few
dict look-ups, slices and an add, about a microsecond. The importing process meanwhile checks
each resource (`apple/_check.py`: every resource shape validated in full with fhir.resources once,
then about 20 µs a resource instead of 0.2–0.3 ms) and seals and stores it (about 0.2 ms) on
the other core. So an import takes about as long as its reader's part plus the reader process's
start, when each process has a core. Load average during the runs:
{min(loads):.1f}–{max(loads):.1f} on {m["nproc"]} cores, shared with other sessions' tests and
benchmarks: above 2, the import's two processes wait for a core while the bare pass needs one,
so wall-clock ratios come out worse than the CPU ratios, and vary from round to round.

{peer_text}
"""


def _peer_text(info: dict[str, Any]) -> str:
    if not info["peer_runs"]:
        return "Peers: not run (`--peers` runs them, each in a throwaway venv)."
    how = "\n".join(f"- `{p.requirement}`: {p.what}" for p in peers_apple.PEERS)
    runs = info["peer_runs"]
    return f"""Peers on the same export.xml, each pip-installed into a throwaway venv that the
command makes (`bench/peers_apple.py` says how each is run); {runs} run(s) each (median), in the
same rounds as the figures above. healthlocker's peak RSS is the importing process's plus the
reader process's; a peer's is its process's `ru_maxrss`.

{how}

{peers_apple.table(info["sizes"])}"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="MB of export.xml")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "hl-bench-apple")
    ap.add_argument("--no-write", action="store_true", help=f"don't update {DOC.name}")
    ap.add_argument("--peers", action="store_true", help="also run the peer importers")
    ap.add_argument("--peer-runs", type=int, default=1, help="rounds that run the peers")
    ap.add_argument("--peer-sizes", type=int, nargs="+", help="sizes to run the peers on")
    ap.add_argument("--peer-python", help="a Python ≥ 3.12 for the peers' venvs")
    ap.add_argument("--peer-timeout", type=float, default=1800, help="seconds per peer run")
    ap.add_argument("--render", type=Path, help="re-render a saved <work>/bench_apple.json")
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    if args.render:  # e.g. after a change to the text: the figures of that run, unchanged
        write_section(render(json.loads(args.render.read_text())))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = []
    for mb in args.sizes:
        xml, zipped = exports(args.work, mb)
        result = rounds(xml, zipped, args.work, args)
        result["memory"] = memory(xml, args.work)
        print(json.dumps(result), flush=True)
        sizes.append(result)
    info = {
        "machine": machine(),
        "runs": args.runs,
        "sizes": sizes,
        "trend": trend_speed(args.work),
        "command": "python bench/bench_apple.py "
        + " ".join(["--sizes", *map(str, args.sizes), "--runs", str(args.runs)])
        + (f" --peers --peer-runs {args.peer_runs}" if args.peers else "")
        + (f" --peer-sizes {' '.join(map(str, args.peer_sizes))}" if args.peer_sizes else ""),
        "peer_runs": args.peer_runs if args.peers else 0,
    }
    print(json.dumps(info["trend"]))
    (args.work / "bench_apple.json").write_text(json.dumps(info))
    text = render(info)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
