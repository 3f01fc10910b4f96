"""Chart PNGs: how long ``healthlocker.charts.png`` takes (goal: five years of daily points in
< 150 ms), and how big the MCP Apps views are (goal: < 400 KB gzipped).

Builds an in-memory vault from ``bench/synth.py`` (ten years of one person's records with five
years of DAILY steps, weight, resting heart rate and sleep), reads each chart's real view with
the records function its tool calls, and renders each chart's PNG ``--runs`` times after one
warm-up (the first PNG in a process also starts vl-convert's JavaScript engine: shown apart).
Prints the figures; writes nothing.

    .venv/bin/python bench/bench_charts.py [--runs 20] [--scale 1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synth import write_person  # noqa: E402

GOAL_MS = 150.0
GOAL_GZIP = 400_000
PLANS = json.loads((ROOT / "examples" / "plans" / "example-plans.json").read_text())


def views() -> dict[str, tuple[str, Any]]:
    """chart name → (tool, the view its tool returns), from a synthetic person's vault."""
    from healthlocker import records
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    vault = Vault.ephemeral()
    with tempfile.TemporaryDirectory() as folder:
        write_person(Path(folder))
        report = import_paths(vault, [Path(folder)])
        assert report.ok, [f.error for f in report.files if f.error]
    daily = records.summarize_trends(vault, metric="body_weight", granularity="day")
    return {
        "weight, 5 years daily": ("summarize_trends", daily),
        "steps, 5 years daily": (
            "summarize_trends",
            records.summarize_trends(vault, metric="steps", granularity="day"),
        ),
        "blood pressure, monthly": (
            "summarize_trends",
            records.summarize_trends(vault, metric="blood_pressure", granularity="month"),
        ),
        "lab history (cholesterol)": (
            "list_labs",
            records.list_labs(vault, test="2093-3", limit=200),
        ),
        "plan comparison (3 plans)": (
            "explain_coverage",
            records.explain_coverage(vault, plans=PLANS),
        ),
        "medication timeline": ("get_meds", records.get_meds(vault, status="all")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)

    from healthlocker import charts

    started = time.perf_counter()
    import vl_convert  # noqa: F401

    print(f"import vl_convert: {(time.perf_counter() - started) * 1000:.0f} ms")
    cases = views()
    first = True
    # CPU: the process's CPU time per PNG (all its threads), steadier than wall time on a
    # busy machine; the goal is on wall time, measured on a quiet one.
    print(f"{'chart':32} {'points':>7} {'first':>8} {'median':>8} {'p95':>8} {'CPU':>8} {'PNG':>9}")
    worst = 0.0
    for name, (tool, view) in cases.items():
        t0 = time.perf_counter()
        image = charts.png(tool, view, scale=args.scale)
        cold = (time.perf_counter() - t0) * 1000
        assert image is not None, f"{name}: nothing to draw"
        times, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            charts.png(tool, view, scale=args.scale)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        times.sort()
        median, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        points = len(getattr(view, "points", None) or [])
        if points >= 1500:
            worst = max(worst, median)
        label = "first (engine)" if first else "first"
        first = False
        print(
            f"{name:32} {points:>7} {cold:>7.0f}ms {median:>7.0f}ms {p95:>7.0f}ms "
            f"{statistics.median(cpu):>7.0f}ms {len(image) / 1024:>7.0f}KB  ({label})"
        )
    print(f"goal: five years of daily points < {GOAL_MS:.0f} ms: median {worst:.0f} ms")
    for chart in charts.VIEWS.values():
        page = charts.html(chart.uri).encode()
        packed = len(gzip.compress(page, 9))
        print(f"{chart.uri}: {len(page) / 1024:.0f} KB, {packed / 1024:.0f} KB gzipped")
        assert packed < GOAL_GZIP
    return 0 if worst < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
