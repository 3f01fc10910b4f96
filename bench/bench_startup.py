"""Server start-up: process start to the first ``tools/list`` answer, against a bare MCPServer.

Goal: ``healthlocker serve`` costs no more than 200 ms beyond a bare one-tool ``MCPServer``
measured beside it (importing ``mcp.server`` alone takes about half a second here, so that is
the floor).

Each run spawns one server process and speaks raw JSON-RPC over its stdin/stdout, as an
assistant does: ``initialize`` is written as soon as the process is spawned; on its answer,
``notifications/initialized`` and ``tools/list``. The time is from just before spawning to the
``tools/list`` answer. Servers measured, interleaved round by round so machine noise hits
them alike:

- **bare**: a script with one ``MCPServer`` and one tool, ``server.run("stdio")``;
- **serve**: ``python -m healthlocker.cli serve`` on a vault (``HEALTHLOCKER_HOME`` and
  ``HEALTHLOCKER_PASSPHRASE`` set) holding the synthetic person of ``bench/synth.py``; after
  the tool list it also sends one ``tools/call`` (``list_conditions``), whose answer needs the
  vault, which opens (Argon2id) on a background thread;
- **serve, no vault**: the same with ``HEALTHLOCKER_HOME`` pointing at an empty folder, so
  opening fails at once and no key derivation runs. If ``tools/list`` waited for the vault,
  *serve* would be slower than this by the key derivation's time.

Then ``python -X importtime`` over the same exchange for *bare* and *serve*: the modules only
*serve* imports, largest first, so it shows what the extra time is spent on.

    .venv/bin/python bench/bench_startup.py [--runs 12] [--write-docs]

Writes (or replaces) the ``## Server start-up`` section of docs/benchmarks.md with
``--write-docs``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_tools import machine, write_section  # noqa: E402
from bench.synth import write_person  # noqa: E402

PASSPHRASE = "bench-startup-passphrase"
CLIENT = "bench-startup"
GOAL_MS = 200.0
SECTION = "## Server start-up"
PROTOCOL = "2025-11-25"

BARE = '''\
"""A bare MCP server: one tool, stdio."""
from mcp.server import MCPServer

server = MCPServer("bare", log_level="WARNING")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    server.run("stdio")
'''


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj) + "\n").encode()


INITIALIZE = _line(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": CLIENT, "version": "0"},
        },
    }
)
INITIALIZED = _line({"jsonrpc": "2.0", "method": "notifications/initialized"})
TOOLS_LIST = _line({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
TOOLS_CALL = _line(
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "list_conditions", "arguments": {}},
    }
)


def _await(stdout: Any, want: int) -> dict[str, Any]:
    while True:
        raw = stdout.readline()
        if not raw:
            raise RuntimeError(f"the server closed its output before answering request {want}")
        try:
            msg = json.loads(raw)
        except ValueError:
            raise RuntimeError(f"not JSON-RPC on stdout: {raw[:200]!r}") from None
        if msg.get("id") == want:
            if "error" in msg:
                raise RuntimeError(f"request {want} failed: {msg['error']}")
            return msg


def cpu_ms(pid: int) -> tuple[float, float]:
    """CPU time (ms) a process has used so far: its main thread, and all its threads.

    From the scheduler's own accounting (``/proc/PID/task/TID/schedstat``, nanoseconds on a
    CPU), so unlike wall time it barely moves when other processes load the machine.
    """
    main = total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        total += ns / 1e6
        if task.name == str(pid):
            main = ns / 1e6
    return main, total


def exchange(
    cmd: list[str],
    env: dict[str, str],
    *,
    call: bool,
    timeout: float = 60.0,
    stderr_path: Path | None = None,
) -> dict[str, float | int | bool]:
    """Spawn *cmd*, speak JSON-RPC; times (ms) from spawn to each answer."""
    err = open(stderr_path or os.devnull, "wb")  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT, bufsize=0
    )
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(INITIALIZE)
        _await(proc.stdout, 1)
        t_init = time.perf_counter()
        proc.stdin.write(INITIALIZED + TOOLS_LIST)
        listed = _await(proc.stdout, 2)
        t_list = time.perf_counter()
        cpu_main, cpu_all = cpu_ms(proc.pid)
        out: dict[str, float | int | bool] = {
            "init_ms": (t_init - t0) * 1e3,
            "list_ms": (t_list - t0) * 1e3,
            "cpu_main_ms": cpu_main,
            "cpu_all_ms": cpu_all,
            "tools": len(listed["result"]["tools"]),
        }
        if call:
            proc.stdin.write(TOOLS_CALL)
            answer = _await(proc.stdout, 3)
            out["call_ms"] = (time.perf_counter() - t0) * 1e3
            out["call_error"] = bool(answer["result"].get("isError"))
        proc.stdin.close()
        proc.wait(timeout=timeout)
        return out
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()


# -- set-up ------------------------------------------------------------------------------------


def build_vault(work: Path, seed: int) -> Path:
    from healthlocker import cli
    from healthlocker.connectors import import_paths
    from healthlocker.store import Vault

    data, home = work / "person", work / "home"
    info = write_person(data, seed=seed)
    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        report = import_paths(vault, [data])
    if not report.ok or report.totals()["added"] != info["total"]:
        raise SystemExit(f"import failed: {report.totals()}")
    # So the one tools/call is allowed (a tree without grants has nothing to do).
    with contextlib.suppress(SystemExit):
        cli.main(["--home", str(home), "grant", "all", "--client", CLIENT, "--for", "1d"])
    return home


def environments(work: Path, home: Path) -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode, as an installed package has
    empty = work / "no-vault"
    empty.mkdir(exist_ok=True)
    return {
        "bare": base,
        "serve": {**base, "HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE},
        "serve_novault": {
            **base,
            "HEALTHLOCKER_HOME": str(empty),
            "HEALTHLOCKER_PASSPHRASE": PASSPHRASE,
        },
    }


def commands(bare: Path) -> dict[str, list[str]]:
    py = sys.executable
    serve = [py, "-m", "healthlocker.cli", "serve"]
    return {"bare": [py, str(bare)], "serve": serve, "serve_novault": serve}


LABELS = {
    "bare": "bare one-tool `MCPServer` script",
    "serve": "`python -m healthlocker.cli serve` (vault opens in the background)",
    "serve_novault": "`… serve`, no vault in `HEALTHLOCKER_HOME` (no key derivation)",
}


# -- in-process checks ----------------------------------------------------------------------


def inprocess_checks(home: Path) -> dict[str, float]:
    """Key derivation alone, and tools/list of a server whose vault takes 2 s to open."""
    import anyio
    from mcp import Client

    from healthlocker.server import build_server
    from healthlocker.store import Vault

    os.environ["HEALTHLOCKER_PASSPHRASE"] = PASSPHRASE
    opens = []
    for _ in range(3):
        t = time.perf_counter()
        Vault.open(home, prompt=None).close()
        opens.append((time.perf_counter() - t) * 1e3)

    def slow_opener() -> Any:
        time.sleep(2.0)
        return Vault.open(home, prompt=None)

    async def listing() -> float:
        server = build_server(slow_opener)
        async with Client(server, mode="legacy") as client:
            gc.collect()  # this process's own heap (the vault it built) is not the server's
            t = time.perf_counter()
            tools = await client.list_tools()
            elapsed = (time.perf_counter() - t) * 1e3
            assert tools.tools
            return elapsed

    return {"vault_open_ms": statistics.median(opens), "slow_vault_list_ms": anyio.run(listing)}


# -- import-time breakdown ---------------------------------------------------------------------

_IMPORT = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(text: str) -> dict[str, dict[str, Any]]:
    """module -> {self, cum, parent} from ``-X importtime`` output (children print first)."""
    mods: dict[str, dict[str, Any]] = {}
    pending: list[tuple[int, str]] = []
    for line in text.splitlines():
        m = _IMPORT.match(line)
        if not m:
            continue
        self_us, cum_us, indent, name = int(m[1]), int(m[2]), len(m[3]), m[4]
        level = (indent - 1) // 2
        while pending and pending[-1][0] > level:
            child_level, child = pending.pop()
            if child_level == level + 1 and child in mods:
                mods[child]["parent"] = name
        pending.append((level, name))
        mods.setdefault(name, {"self": self_us, "cum": cum_us, "parent": None})
    return mods


def importtime(
    cmd: list[str], env: dict[str, str], runs: int, work: Path, call: bool
) -> dict[str, dict[str, Any]]:
    samples: list[dict[str, dict[str, Any]]] = []
    for i in range(runs):
        path = work / f"importtime-{i}.txt"
        exchange([cmd[0], "-X", "importtime", *cmd[1:]], env, call=call, stderr_path=path)
        samples.append(parse_importtime(path.read_text(errors="replace")))
    out: dict[str, dict[str, Any]] = {}
    for name in samples[0]:
        if all(name in s for s in samples):
            out[name] = {
                "self": statistics.median(s[name]["self"] for s in samples),
                "cum": statistics.median(s[name]["cum"] for s in samples),
                "parent": samples[0][name]["parent"],
            }
    return out


def extra_imports(
    serve: dict[str, dict[str, Any]], bare: dict[str, dict[str, Any]], top: int
) -> tuple[list[tuple[str, float, str | None]], float, dict[str, float]]:
    """Modules only *serve* imports: each with the time of the serve-only modules in its
    subtree (its own and those it pulled in first), largest first; their total; and the
    self time per top-level package."""
    only = {n for n in serve if n not in bare}
    children: dict[str, list[str]] = {}
    for n in only:
        parent = serve[n]["parent"]
        if parent is not None:
            children.setdefault(parent, []).append(n)

    def own(n: str) -> float:
        return serve[n]["self"] / 1e3 + sum(own(c) for c in children.get(n, ()))

    ranked = sorted(((n, own(n), serve[n]["parent"]) for n in only), key=lambda r: -r[1])
    total = sum(serve[n]["self"] for n in only) / 1e3
    by_package: dict[str, float] = {}
    for n in only:
        pkg = n.split(".")[0]
        by_package[pkg] = by_package.get(pkg, 0.0) + serve[n]["self"] / 1e3
    return ranked[:top], total, dict(sorted(by_package.items(), key=lambda kv: -kv[1]))


# -- report ------------------------------------------------------------------------------------


def f0(x: float) -> str:
    return f"{x:.0f}"


def report(
    results: dict[str, list[dict[str, Any]]],
    checks: dict[str, float],
    imports: tuple[Any, ...],
    args: argparse.Namespace,
    tree_note: str,
) -> str:
    m = machine()
    med = {k: statistics.median(r["list_ms"] for r in v) for k, v in results.items()}
    diff = med["serve"] - med["bare"]
    paired = [
        s["list_ms"] - b["list_ms"] for s, b in zip(results["serve"], results["bare"], strict=True)
    ]
    rows = [
        "| server | runs | initialize answered (median ms) | tools/list answered: median "
        "| min | max | CPU to tools/list: main thread | all threads | tools |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    cpu = {k: statistics.median(r["cpu_main_ms"] for r in v) for k, v in results.items()}
    for key, runs in results.items():
        lst = [r["list_ms"] for r in runs]
        rows.append(
            f"| {LABELS[key]} | {len(runs)} | {f0(statistics.median(r['init_ms'] for r in runs))}"
            f" | **{f0(med[key])}** | {f0(min(lst))} | {f0(max(lst))} | {f0(cpu[key])} "
            f"| {f0(statistics.median(r['cpu_all_ms'] for r in runs))} | {runs[0]['tools']} |"
        )
    calls = [r["call_ms"] for r in results["serve"] if "call_ms" in r]
    call_errors = sum(bool(r.get("call_error")) for r in results["serve"])
    ranked, extra_total, by_pkg, bare_mcp = imports
    imp_rows = ["| module (imported by) | ms of serve-only imports under it |", "| --- | ---: |"]
    imp_rows += [f"| `{n}` ({p or 'top level'}) | {c:.0f} |" for n, c, p in ranked]
    pkgs = ", ".join(f"{k} {v:.0f} ms" for k, v in list(by_pkg.items())[:10])
    met = diff <= GOAL_MS
    novault = med["serve_novault"]
    return f"""{SECTION}

Measured {m["date"]} on {m["nproc"]} × {m["cpu"]} (`nproc` = {m["nproc"]}), Python {m["python"]},
mcp {m["mcp"]}{tree_note}. Command:

    python bench/bench_startup.py --runs {args.runs} --write-docs

Each run spawns a server and speaks raw JSON-RPC on its stdin/stdout: `initialize` as soon as
it is spawned, then `notifications/initialized` and `tools/list`; the time runs from just
before spawning to the `tools/list` answer. {args.runs} runs of each, interleaved round by
round (after one unmeasured warm-up round), medians reported. The vault holds the synthetic
person of `bench/synth.py` (10,880 resources).

{chr(10).join(rows)}

**serve − bare = {diff:.0f} ms** (median of each; median of the paired per-round differences
{statistics.median(paired):.0f} ms). **Goal (≤ 200 ms beyond the bare server): {
        "met" if met else "not met"
    }.**

Wall times swing with the load other work puts on the machine. The CPU time the server's
main thread used up to its `tools/list` answer (the kernel's per-thread accounting) is far
less sensitive to it: serve − bare = **{cpu["serve"] - cpu["bare"]:.0f} ms** of main-thread
CPU (medians). "All threads" adds the background thread that opens the vault (Argon2id).

Does `tools/list` wait for the vault? Not for it to open: in-process, a server whose vault
takes 2 s to open lists its tools in {checks["slow_vault_list_ms"]:.1f} ms. Opening it
(Argon2id, {checks["vault_open_ms"]:.0f} ms in-process, one core busy) starts on a thread in
`build_server`, while the main thread is still registering tools and starting the transport.
*serve* with a vault answered `tools/list` {med["serve"] - novault:+.0f} ms (median) from *serve*
with no vault at all (no key derivation){_contention(med["serve"] - novault)}. The first
`tools/call` (`list_conditions`) waits for the vault: answered
{statistics.median(calls):.0f} ms after spawn (median){
        f"; {call_errors} of {len(calls)} answered with an error" if call_errors else ""
    }.

Where the extra time goes: `python -X importtime` over the same exchange up to the tool list
(median of
{args.import_runs} runs each): the modules that *serve* imports and the bare server does not,
{extra_total:.0f} ms of import time in all (inflated by `-X importtime` itself). Each row counts
the module and the serve-only modules imported beneath it, so rows nest (a parent includes its
children); modules both servers import are not counted.

{chr(10).join(imp_rows)}

By package (self time of the extra modules): {pkgs}. For scale: `import mcp.server`
takes {bare_mcp:.0f} ms of the bare server's start under `-X importtime`.
"""


def _contention(delta: float) -> str:
    if delta < 50:
        return (
            ", so in this run the key derivation did not measurably delay the tool list; "
            "on a busier machine it competes for the second core"
        )
    return (
        ": on this 2-core machine, with other load, the key derivation competes with "
        "start-up for CPU"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)

    os.environ["HEALTHLOCKER_PASSPHRASE"] = PASSPHRASE  # for the set-up (grant) only
    work = Path(tempfile.mkdtemp(prefix="hl-bench-startup-"))
    try:
        print("building the vault ...", file=sys.stderr, flush=True)
        home = build_vault(work, args.seed)
        bare = work / "bare_server.py"
        bare.write_text(BARE)
        envs, cmds = environments(work, home), commands(bare)
        order = list(cmds)
        results: dict[str, list[dict[str, Any]]] = {k: [] for k in order}
        for rnd in range(args.runs + 1):
            for key in order if rnd % 2 else reversed(order):
                r = exchange(
                    cmds[key], envs[key], call=key == "serve", stderr_path=work / f"{key}.stderr"
                )
                if rnd:  # round 0 warms the page cache and bytecode
                    results[key].append(r)
            if rnd:
                print(
                    f"round {rnd}: "
                    + ", ".join(f"{k} {results[k][-1]['list_ms']:.0f} ms" for k in order),
                    file=sys.stderr,
                    flush=True,
                )
        print("in-process checks and importtime ...", file=sys.stderr, flush=True)
        checks = inprocess_checks(home)
        imp_serve = importtime(cmds["serve"], envs["serve"], args.import_runs, work, False)
        imp_bare = importtime(cmds["bare"], envs["bare"], args.import_runs, work, False)
        imports = (
            *extra_imports(imp_serve, imp_bare, args.top),
            imp_bare.get("mcp.server", {}).get("cum", 0) / 1e3,
        )
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        text = report(results, checks, imports, args, f"; load average {load} at the end")
        print(text)
        if args.write_docs:
            write_section(text)
            print(f"wrote the {SECTION!r} section of docs/benchmarks.md", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
