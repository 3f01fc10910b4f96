"""Tool-call latency on ten years of one person's records (goal: p95 < 20 ms per tool call).

Builds a vault once from ``bench/synth.py`` (≈ 10,900 resources: 2,148 lab results,
43 prescriptions, 318 claims, five years of daily steps, weight, resting heart rate and sleep),
grants a benchmark client every tool (``healthlocker grant all``), then calls every tool with
realistic arguments in-process, three ways, interleaved round by round so machine noise hits
them alike:

- **SDK** -- ``Client(build_server(vault), mode="legacy")``, the SDK's in-memory transport, with
  the default consent gate: the live grant is checked and every call appends one entry to the
  encrypted, hash-chained audit log in the vault (a committed SQLite write). This is what an
  assistant gets. The Python client checks each result against the tool's output schema
  (``jsonschema``); that check is timed apart, and the goal is checked on the rest of the call
  (the server's share: "server" in the report), since the check is the client's own work.
- **SDK, open gate** -- the same with ``gate=OpenGate()`` (no grant lookup, audit kept in memory),
  to show what consent and audit cost.
- **direct** -- the ``healthlocker.records`` function alone, no server: what is left is SDK and
  gate overhead.

Each call is measured warm (after 5 warm-up calls, ``--calls`` times), "cold" (the vault's
decrypted-resource and query caches emptied before each call, ``--cold-runs`` times: the cost of
the first call after the server starts or new data arrives), and once as the very first call on
a freshly opened vault and server.

    .venv/bin/python bench/bench_tools.py [--calls 200] [--cold-runs 10] [--write-docs] [--profile]

Writes (or replaces) the ``## Tool calls`` section of docs/benchmarks.md with ``--write-docs``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synth import write_person  # noqa: E402

PASSPHRASE = "bench-tools-passphrase"
CLIENT = "bench-tools"
GOAL_MS = 20.0
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Tool calls"

PLANS = [
    {
        "name": "Silver HMO",
        "premium": 420,
        "deductible": 1500,
        "coinsurance": 0.2,
        "out_of_pocket_max": 6000,
        "copays": {"primary_care": 30, "specialist": 60, "pharmacy": 10},
    },
    {
        "name": "Bronze HDHP",
        "premium": 290,
        "deductible": 5000,
        "coinsurance": 0.3,
        "out_of_pocket_max": 8000,
    },
]


@dataclass
class Scenario:
    tool: str
    args: dict[str, Any]
    direct: Callable[[Any], Any]
    label: str = ""
    sdk: list[float] = field(default_factory=list)
    sdk_cpu: list[float] = field(default_factory=list)  # CPU time of the same calls
    sdk_server: list[float] = field(default_factory=list)  # minus client-side validation
    validation: list[float] = field(default_factory=list)  # client-side output validation
    sdk_open: list[float] = field(default_factory=list)
    direct_ms: list[float] = field(default_factory=list)
    cold_sdk: list[float] = field(default_factory=list)
    cold_direct: list[float] = field(default_factory=list)
    first_sdk: float | None = None
    first_direct: float | None = None
    size: int = 0  # bytes of structured content

    def __post_init__(self) -> None:
        if not self.label:
            self.label = ", ".join(f"{k}={_short(v)}" for k, v in self.args.items()) or "(none)"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"[{len(value)} plans]"
    if isinstance(value, str) and len(value) > 24:
        return repr(value[:21] + "...")
    return repr(value) if isinstance(value, str) else str(value)


def scenarios() -> list[Scenario]:
    # The very functions the tools call: each catalogued tool's view.
    from healthlocker.catalogue import tool

    list_labs, get_meds, explain_coverage = (
        tool("list_labs").view,
        tool("get_meds").view,
        tool("explain_coverage").view,
    )
    summarize_trends, list_conditions = tool("summarize_trends").view, tool("list_conditions").view
    list_immunizations, list_encounters = tool("list_immunizations").view, tool("list_visits").view
    search_records, health_summary = tool("search_records").view, tool("health_summary").view

    question = "How much did my plan pay for my care last year?"
    return [
        Scenario("list_labs", {}, lambda v: list_labs(v)),
        Scenario("list_labs", {"test": "glucose"}, lambda v: list_labs(v, test="glucose")),
        Scenario(
            "list_labs",
            {"test": "4548-4", "since": "2021-01-01"},
            lambda v: list_labs(v, test="4548-4", since="2021-01-01"),
        ),
        Scenario(
            "list_labs",
            {"abnormal_only": True, "since": "2025-09-30"},
            lambda v: list_labs(v, abnormal_only=True, since="2025-09-30"),
        ),
        Scenario("list_labs", {"limit": 200}, lambda v: list_labs(v, limit=200)),
        Scenario("get_meds", {}, lambda v: get_meds(v)),
        Scenario("get_meds", {"status": "all"}, lambda v: get_meds(v, status="all")),
        Scenario("explain_coverage", {}, lambda v: explain_coverage(v)),
        Scenario(
            "explain_coverage",
            {"question": question, "since": "2025-01-01", "until": "2025-12-31"},
            lambda v: explain_coverage(
                v, question=question, since="2025-01-01", until="2025-12-31"
            ),
        ),
        Scenario("explain_coverage", {"plans": PLANS}, lambda v: explain_coverage(v, plans=PLANS)),
        Scenario(
            "summarize_trends", {"metric": "steps"}, lambda v: summarize_trends(v, metric="steps")
        ),
        Scenario(
            "summarize_trends",
            {"metric": "steps", "since": "2026-07-01", "granularity": "day"},
            lambda v: summarize_trends(v, metric="steps", since="2026-07-01", granularity="day"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "body_weight", "since": "2025-09-30"},
            lambda v: summarize_trends(v, metric="body_weight", since="2025-09-30"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "sleep", "granularity": "week"},
            lambda v: summarize_trends(v, metric="sleep", granularity="week"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "resting_heart_rate"},
            lambda v: summarize_trends(v, metric="resting_heart_rate"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "blood_pressure"},
            lambda v: summarize_trends(v, metric="blood_pressure"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "4548-4"},
            lambda v: summarize_trends(v, metric="4548-4"),
        ),
        Scenario(
            "summarize_trends",
            {"metric": "cholesterol"},
            lambda v: summarize_trends(v, metric="cholesterol"),
        ),
        Scenario("list_conditions", {}, lambda v: list_conditions(v)),
        Scenario("list_conditions", {"status": "all"}, lambda v: list_conditions(v, status="all")),
        Scenario("list_immunizations", {}, lambda v: list_immunizations(v)),
        Scenario("list_visits", {}, lambda v: list_encounters(v)),
        Scenario("list_visits", {"limit": 200}, lambda v: list_encounters(v, limit=200)),
        Scenario(
            "search_records", {"query": "statin"}, lambda v: search_records(v, query="statin")
        ),
        Scenario(
            "search_records", {"query": "glucose"}, lambda v: search_records(v, query="glucose")
        ),
        Scenario("health_summary", {}, lambda v: health_summary(v)),
    ]


# -- set-up ------------------------------------------------------------------------------------


def build_vault(work: Path, seed: int) -> tuple[Path, dict[str, Any], float]:
    """The synthetic person in a fresh vault under *work*, plus a grant for CLIENT."""
    from healthlocker import cli
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    data, home = work / "person", work / "home"
    info = write_person(data, seed=seed)
    start = time.perf_counter()
    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        report = import_paths(vault, [data])
    elapsed = time.perf_counter() - start
    errors = [f"{f.path}: {f.error}" for f in report.files if f.error]
    if errors or report.totals()["added"] != info["total"]:
        raise SystemExit(f"import failed: {errors or report.totals()}")
    # The person's consent, as a user gives it outside the assistant.
    rc = cli.main(["--home", str(home), "grant", "all", "--client", CLIENT, "--for", "30d"])
    if rc != 0:
        raise SystemExit(f"`healthlocker grant all --client {CLIENT}` failed ({rc})")
    return home, info, elapsed


def open_vault(home: Path) -> Any:
    from healthlocker.store import Vault

    return Vault.open(home, prompt=None)


def gate_name(home: Path) -> str:
    """The class of the gate ``build_server`` uses by default, for the report."""
    from healthlocker.server import build_server

    vault = open_vault(home)
    try:
        gate = build_server(vault).state.gate
        return f"`{type(gate).__name__}`"
    except Exception as exc:  # only for the report
        return f"unknown ({type(exc).__name__})"
    finally:
        vault.close()


def reset_caches(vault: Any) -> None:
    """Forget every decrypted resource and query result, as right after Vault.open."""
    vault.drop_caches()


class Connected:
    """An in-memory SDK client session whose output validation is timed.

    The Python SDK's client checks every result's structured content against the tool's
    output schema with ``jsonschema``; that is client-side work (an assistant's own SDK does
    it its own way), so it is timed apart from the rest of the call.
    """

    def __init__(self, server: Any) -> None:
        from mcp import Client
        from mcp.client import advertise
        from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
        from mcp.types import Implementation

        # The client shows MCP Apps views, so a charted call is the call alone: the PNG a
        # client without Apps also gets is drawn by vl-convert and timed in bench_charts.py.
        self.client = Client(
            server,
            mode="legacy",
            client_info=Implementation(name=CLIENT, version="0"),
            extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})],
        )
        self.validation_ns = 0

    async def __aenter__(self) -> Connected:
        await self.client.__aenter__()
        session = self.client.session
        validate = session.validate_tool_result

        async def timed(name: str, result: Any) -> None:
            t0 = time.perf_counter_ns()
            try:
                await validate(name, result)
            finally:
                self.validation_ns += time.perf_counter_ns() - t0

        session.validate_tool_result = timed
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)


def client_for(server: Any) -> Connected:
    return Connected(server)


def _ms(ns: int) -> float:
    return ns / 1e6


async def _sdk_call(conn: Connected, s: Scenario) -> tuple[float, int, float, float]:
    """(ms of the whole call, bytes of structured content, ms of client-side validation,
    ms of CPU time the process spent on the call)."""
    conn.validation_ns = 0
    c0 = time.process_time_ns()
    t0 = time.perf_counter_ns()
    result = await conn.client.call_tool(s.tool, s.args)
    elapsed = _ms(time.perf_counter_ns() - t0)
    cpu = _ms(time.process_time_ns() - c0)
    if result.is_error:
        text = result.content[0].text if result.content else "?"
        raise SystemExit(f"{s.tool}({s.label}) failed: {text}")
    return elapsed, len(json.dumps(result.structured_content)), _ms(conn.validation_ns), cpu


def _direct_call(vault: Any, s: Scenario) -> float:
    t0 = time.perf_counter_ns()
    s.direct(vault)
    return _ms(time.perf_counter_ns() - t0)


# -- the measurements --------------------------------------------------------------------------


async def first_calls(home: Path, items: list[Scenario]) -> float:
    """Each scenario's first call on a freshly opened vault and a fresh server.

    Returns the very first call of the process (lazy imports, schema compilation), made on
    a separate vault before the others so that no scenario carries it.
    """
    from healthlocker.server import build_server

    vault = open_vault(home)
    try:
        async with client_for(build_server(vault)) as client:
            process_first = (await _sdk_call(client, items[-1]))[0]
        _direct_call(vault, items[0])
    finally:
        vault.close()
    for s in items:
        vault = open_vault(home)
        try:
            async with client_for(build_server(vault)) as client:
                s.first_sdk, s.size, _, _ = await _sdk_call(client, s)
        finally:
            vault.close()
        vault = open_vault(home)
        try:
            s.first_direct = _direct_call(vault, s)
        finally:
            vault.close()
    return process_first


async def steady(
    home: Path, items: list[Scenario], calls: int, warmup: int, cold: int, open_every: int
) -> None:
    from healthlocker.consent import OpenGate
    from healthlocker.server import build_server

    vault = open_vault(home)
    try:
        async with (
            client_for(build_server(vault)) as sdk,
            client_for(build_server(vault, gate=OpenGate())) as sdk_open,
        ):
            # Cold: caches emptied before each call.
            for _ in range(cold):
                for s in items:
                    reset_caches(vault)
                    s.cold_sdk.append((await _sdk_call(sdk, s))[0])
                    reset_caches(vault)
                    s.cold_direct.append(_direct_call(vault, s))
            # Warm.
            for s in items:
                for _ in range(warmup):
                    await _sdk_call(sdk, s)
                    await _sdk_call(sdk_open, s)
                    _direct_call(vault, s)
            started = time.perf_counter()
            for i in range(calls):
                if i and i % 20 == 0:
                    print(
                        f"  round {i}/{calls}, {time.perf_counter() - started:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                for s in items:
                    total, _size, validation, cpu = await _sdk_call(sdk, s)
                    s.sdk.append(total)
                    s.sdk_cpu.append(cpu)
                    s.validation.append(validation)
                    s.sdk_server.append(total - validation)
                    if i % open_every == 0:
                        s.sdk_open.append((await _sdk_call(sdk_open, s))[0])
                    s.direct_ms.append(_direct_call(vault, s))
    finally:
        vault.close()


def profile(home: Path, items: list[Scenario], top: int = 18) -> str:
    """cProfile of the slowest scenarios: the records function plus what the server adds
    around it (render, model_dump, cited), i.e. the tool body minus consent and transport."""
    from healthlocker.server._state import cited

    worst = sorted(items, key=lambda s: -pct(s.sdk, 95))[:3]
    vault = open_vault(home)
    out = io.StringIO()
    try:
        for s in worst:
            for _ in range(3):
                s.direct(vault)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(30):
                view = s.direct(vault)
                view.render()
                view.model_dump(mode="json")
                cited(view)
            prof.disable()
            out.write(f"\n### {s.tool}({s.label}), warm, 30 calls (records + render + dump)\n")
            stats = pstats.Stats(prof, stream=out)
            stats.sort_stats("cumulative").print_stats(top)
            reset_caches(vault)
            prof = cProfile.Profile()
            prof.enable()
            s.direct(vault)
            prof.disable()
            out.write(f"\n### {s.tool}({s.label}), cold (caches emptied), 1 call\n")
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    finally:
        vault.close()
    return re.sub(r"/\S*/site-packages/", "", out.getvalue().replace(str(ROOT) + "/", ""))


# -- report ------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "mcp": version("mcp"),
        "pydantic": version("pydantic"),
        "date": dt.date.today().isoformat(),
    }


def f1(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def table(items: list[Scenario]) -> str:
    rows = [
        "| tool | arguments | first call | cold p50 | SDK p50 | SDK p95 | SDK max "
        "| SDK CPU p50 | SDK CPU p95 | client validation p50 | **server p95** "
        "| open gate p50 | direct p50 | result KiB | server p95 < 20 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | :---: |",
    ]
    for s in items:
        p95 = pct(s.sdk_server, 95)
        rows.append(
            f"| {s.tool} | {s.label} | {f1(s.first_sdk)} | {f1(statistics.median(s.cold_sdk))} "
            f"| {f1(pct(s.sdk, 50))} | {f1(pct(s.sdk, 95))} | {f1(max(s.sdk))} "
            f"| {f1(pct(s.sdk_cpu, 50))} | {f1(pct(s.sdk_cpu, 95))} "
            f"| {f1(pct(s.validation, 50))} | **{f1(p95)}** "
            f"| {f1(pct(s.sdk_open, 50))} | {f1(pct(s.direct_ms, 50))} "
            f"| {s.size / 1024:.0f} | {'yes' if p95 < GOAL_MS else '**no**'} |"
        )
    return "\n".join(rows)


def per_tool(items: list[Scenario]) -> str:
    tools: dict[str, list[Scenario]] = {}
    for s in items:
        tools.setdefault(s.tool, []).append(s)
    rows = [
        "| tool | calls | SDK p50 | SDK p95 | SDK max | SDK CPU p95 "
        "| **server p95** | direct p50 | direct p95 | worst cold p50 "
        "| server p95 < 20 ms | SDK p95 < 20 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for tool, group in tools.items():
        sdk = [x for s in group for x in s.sdk]
        cpu = [x for s in group for x in s.sdk_cpu]
        server = [x for s in group for x in s.sdk_server]
        direct = [x for s in group for x in s.direct_ms]
        p95 = pct(server, 95)
        rows.append(
            f"| {tool} | {len(sdk)} | {f1(pct(sdk, 50))} | {f1(pct(sdk, 95))} | {f1(max(sdk))} "
            f"| {f1(pct(cpu, 95))} | **{f1(p95)}** | {f1(pct(direct, 50))} "
            f"| {f1(pct(direct, 95))} | {f1(max(statistics.median(s.cold_sdk) for s in group))} "
            f"| {'yes' if p95 < GOAL_MS else '**no**'} "
            f"| {'yes' if pct(sdk, 95) < GOAL_MS else '**no**'} |"
        )
    return "\n".join(rows)


def section(
    items: list[Scenario], info: dict[str, Any], args: argparse.Namespace, extra: dict[str, Any]
) -> str:
    m = machine()
    worst = max(items, key=lambda s: pct(s.sdk_server, 95))
    met = all(pct(s.sdk_server, 95) < GOAL_MS for s in items)
    over = [s for s in items if pct(s.sdk, 95) >= GOAL_MS]
    cold_over = [s for s in items if statistics.median(s.cold_sdk) >= GOAL_MS]
    counts = info["counts"]
    return f"""{SECTION}

Measured {m["date"]} on {m["nproc"]} × {m["cpu"]} (`nproc` = {m["nproc"]}), Python {m["python"]},
SQLite {m["sqlite"]}, mcp {m["mcp"]}, pydantic {m["pydantic"]}; load average {extra["load"]}
at the start (other work shared the machine). Command:

    python bench/bench_tools.py --calls {args.calls} --cold-runs {args.cold_runs} --write-docs

Vault: one synthetic person from `bench/synth.py` (seed {args.seed}), ten years to {info["end"]}:
{info["total"]:,} resources — {info["lab_results"]:,} lab results, {counts["MedicationRequest"]}
prescriptions, {counts["ExplanationOfBenefit"]} claims (ExplanationOfBenefit),
{info["wearable_observations"]:,} daily wearable observations over five years (steps, weight,
resting heart rate, sleep), {counts["Encounter"]} visits with vital signs, conditions,
immunizations. Import took {extra["import_s"]:.1f} s (not part of the goal).

Each call goes through the SDK's in-memory transport,
`Client(build_server(vault), mode="legacy")`, announcing MCP Apps (so the four charted calls
carry no PNG: a client without Apps also waits for the picture, whose time is in the charts
figures of `bench/bench_charts.py`), with the server's default gate
({extra["gate"]}): a live grant (`healthlocker grant all --client {CLIENT}`) is checked and each
call is audited. Times are milliseconds, wall clock per `call_tool`, client side. The
{args.calls} warm calls per scenario (after {args.warmup} warm-up calls) are interleaved
round-robin over all scenarios and the ways of calling, so load from other processes hits
them alike.

- *first call*: the first call on a freshly opened vault and a fresh server (caches empty;
  the process's imports already done). The very first tool call of the process took
  {extra["process_first"]:.0f} ms (lazy imports, schema compilation).
- *cold p50*: median of {args.cold_runs} calls with the vault's decrypted-resource and query
  caches emptied before each: the first call of a session, or the first after new data.
- *SDK*: warm calls as an assistant makes them, through the Python SDK's client.
- *SDK CPU*: the CPU time the process (client and server both run in it) spent on those same
  calls. Wall time on a machine shared with other work includes waiting for a core; CPU time
  hardly does, so it is the closer figure to what a call costs on an idle machine.
- *client validation*: the part of an SDK call spent in the Python SDK client checking the
  result against the tool's output schema (`jsonschema`, pure Python: about 0.2 ms per lab
  result). It is the client's own work, done the client's way: other clients check with a
  compiled validator, or not at all. The output schemas are written to make it cheap while
  accepting exactly the same values (`records/_view.py`: nullable fields as
  `type: [T, "null"]`, nested views inline).
- ***server***: the same SDK calls without the client's validation, call by call: the tool
  call in-process as the server handles it (request, arguments, consent check, view, audit
  commit, serialization) and the client's parsing of the answer. **The goal is checked on
  its p95.**
- *open gate*: the same server with `gate=OpenGate()` (no grant lookup, audit kept in
  memory), every {args.open_every}th round.
- *direct*: the `healthlocker.records` function alone (no server, no render, no JSON).

{table(items)}

Per tool (all scenarios of the tool together):

{per_tool(items)}

**Goal (p95 < 20 ms per tool call in-process): {"met" if met else "not met"}** — the worst
server p95 is {pct(worst.sdk_server, 95):.1f} ms ({worst.tool}, {worst.label}).
{_sdk_sentence(over)} {_cold_sentence(cold_over)}
"""


def _sdk_sentence(over: list[Scenario]) -> str:
    if not over:
        return "With the Python SDK client's validation included, every p95 is under 20 ms too."
    parts = [
        f"{s.tool} ({s.label}: {pct(s.sdk, 95):.0f} ms, of which client validation "
        f"{pct(s.validation, 50):.0f} ms at the median, for {s.size / 1024:.0f} KiB)"
        for s in over
    ]
    return (
        "With the Python SDK client's validation included, the p95 is over 20 ms for "
        + "; ".join(parts)
        + "."
    )


def _cold_sentence(cold_over: list[Scenario]) -> str:
    if not cold_over:
        return "Cold calls (caches emptied) are under 20 ms too."
    colds = [statistics.median(s.cold_sdk) for s in cold_over]
    worst = max(cold_over, key=lambda s: statistics.median(s.cold_sdk))
    return (
        f"Cold calls (once per session, or after new data; not in the warm p95): "
        f"{len(cold_over)} scenario(s) over 20 ms, medians {min(colds):.0f}–{max(colds):.0f} ms "
        f"(worst: {worst.tool}, {worst.label})."
    )


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace (or append) this benchmark's own ``## ...`` section; leave the others alone."""
    doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    heading = text.splitlines()[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    body = text.rstrip() + "\n\n"
    if pattern.search(doc):
        doc = pattern.sub(lambda _m: body, doc, count=1)
    else:
        doc = doc.rstrip() + "\n\n" + body
    path.write_text(doc.rstrip() + "\n", encoding="utf-8")


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="warm calls per scenario")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument(
        "--open-every", type=int, default=4, help="measure the open-gate server every Nth round"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="only scenarios of this tool")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the slowest three")
    parser.add_argument("--json", type=Path, help="also write raw timings here")
    args = parser.parse_args(argv)

    import anyio

    os.environ["HEALTHLOCKER_PASSPHRASE"] = PASSPHRASE
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="hl-bench-tools-"))
    try:
        print("building the vault ...", file=sys.stderr, flush=True)
        home, info, import_s = build_vault(work, args.seed)
        print(
            f"{info['total']:,} resources ({info['lab_results']:,} lab results, "
            f"{info['medication_requests']} prescriptions, {info['claims']} claims, "
            f"{info['wearable_observations']:,} wearable observations) imported in "
            f"{import_s:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        items = [s for s in scenarios() if not args.only or s.tool == args.only]
        print("first calls ...", file=sys.stderr, flush=True)
        process_first = anyio.run(first_calls, home, items)
        print("cold and warm calls ...", file=sys.stderr, flush=True)
        gc.collect()
        anyio.run(steady, home, items, args.calls, args.warmup, args.cold_runs, args.open_every)
        extra = {
            "import_s": import_s,
            "process_first": process_first,
            "load": load,
            "gate": gate_name(home),
        }
        text = section(items, info, args, extra)
        print(text)
        if args.json:
            args.json.write_text(
                json.dumps(
                    [
                        {
                            "tool": s.tool,
                            "args": s.label,
                            "first_sdk": s.first_sdk,
                            "first_direct": s.first_direct,
                            "cold_sdk": s.cold_sdk,
                            "cold_direct": s.cold_direct,
                            "sdk": s.sdk,
                            "validation": s.validation,
                            "sdk_open": s.sdk_open,
                            "direct": s.direct_ms,
                        }
                        for s in items
                    ]
                )
            )
        if args.profile:
            print(profile(home, items))
        if args.write_docs:
            write_section(text)
            print(f"wrote the {SECTION!r} section of {DOCS}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
