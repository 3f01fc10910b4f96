"""What the assistant reads: characters and tokens of each tool's default call, both channels.

A client passes the model either the text content or the structured content (some only one of
them), so each is measured on its own: the text as it is, the structure as compact JSON (no
spaces, keys in the order given). Tokens are estimated by one documented rule,
``healthlocker.catalogue.estimate_tokens`` (a quarter of the characters, rounded up): no
tokenizer of any one model, so the figures compare across versions rather than predict a bill.

Two vaults: one synthetic person from ``bench/synth.py`` (seed 0: ten years of records) and the
bundled samples (six Synthea patients and a Blue Button beneficiary). Each tool is called with
its catalogued default arguments (``ToolSpec.default_call``) through the SDK's in-memory client.

    .venv/bin/python bench/bench_reads.py [--write-docs] [--json FILE]

``--json`` writes the figures as JSON (``bench/reads_baseline.json`` holds those of the version
before the renderings were redesigned); ``--write-docs`` writes (or replaces) the
``## What the assistant reads`` section of docs/benchmarks.md, before and after side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synth import write_person  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
BASELINE = ROOT / "bench" / "reads_baseline.json"
SECTION = "## What the assistant reads"
PASSPHRASE = "bench-reads-passphrase"
# The default calls of the version before the redesign (it had no ToolSpec.default_call).
OLD_DEFAULTS: dict[str, dict[str, Any]] = {
    "summarize_trends": {"metric": "body_weight"},
    "search_records": {"query": "glucose"},
}


def tokens(text: str) -> int:
    """The project's rule when it has one; else the same rule written here (the baseline)."""
    try:
        from healthlocker.catalogue import estimate_tokens
    except ImportError:
        return math.ceil(len(text) / 4)
    return estimate_tokens(text)


def default_calls() -> dict[str, dict[str, Any]]:
    from healthlocker.catalogue import TOOLS

    return {t.name: dict(getattr(t, "default_call", OLD_DEFAULTS.get(t.name, {}))) for t in TOOLS}


async def measure(paths: list[Path]) -> dict[str, dict[str, int]]:
    """Per tool: characters and tokens of its default call's text and structure."""
    from mcp import Client

    from healthlocker.connectors import import_paths
    from healthlocker.consent import OpenGate
    from healthlocker.server import build_server
    from healthlocker.store import Vault

    out: dict[str, dict[str, int]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Vault.create(Path(tmp) / "vault", passphrase=PASSPHRASE) as vault,
    ):
        report = import_paths(vault, paths)
        assert report.ok, [f.error for f in report.files if f.error]
        async with Client(build_server(vault, gate=OpenGate())) as client:
            for name, args in default_calls().items():
                result = await client.call_tool(name, args)
                assert not result.is_error, (name, result.content)
                text = "\n".join(c.text for c in result.content if c.type == "text")
                structure = json.dumps(
                    result.structured_content, separators=(",", ":"), ensure_ascii=False
                )
                out[name] = {
                    "text_chars": len(text),
                    "text_tokens": tokens(text),
                    "structure_chars": len(structure),
                    "structure_tokens": tokens(structure),
                }
    return out


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        person = Path(tmp) / "person"
        write_person(person)
        synthetic = asyncio.run(measure([person]))
    samples = asyncio.run(
        measure([ROOT / "samples" / "fhir" / "synthea", ROOT / "samples" / "fhir" / "bluebutton"])
    )
    return {"synthetic": synthetic, "samples": samples, "calls": default_calls()}


def _budgets() -> dict[str, int]:
    from healthlocker.catalogue import TOOLS

    return {t.name: t.budget for t in TOOLS}


def _rows(before: dict[str, Any], after: dict[str, Any], vault: str) -> list[str]:
    rows = []
    budgets = _budgets()
    for name, now in after[vault].items():
        was = before.get(vault, {}).get(name)

        def pair(key: str, was: dict[str, int] | None = was, now: dict[str, int] = now) -> str:
            old = f"{was[key]:,}" if was else "–"
            return f"{old} → {now[key]:,}"

        rows.append(
            f"| {name} | {pair('text_chars')} | {pair('text_tokens')} | "
            f"{pair('structure_chars')} | {pair('structure_tokens')} | {budgets[name]:,} |"
        )
    return rows


def section(before: dict[str, Any], after: dict[str, Any]) -> str:
    calls = ", ".join(
        f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
        for name, args in after["calls"].items()
        if args
    )
    head = (
        "| tool | text chars | text tokens | structure chars | structure tokens | "
        "budget (tokens) |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    return "\n".join(
        [
            SECTION,
            "",
            "What a model reads of each tool's default call, in each channel on its own (some "
            "clients pass only the structured content, some only the text). Command:",
            "",
            "    .venv/bin/python bench/bench_reads.py --write-docs",
            "",
            "Tokens are estimated by one rule, `healthlocker.catalogue.estimate_tokens`: a "
            "quarter of the characters, rounded up (no model's own tokenizer: JSON punctuation "
            "makes real counts of the structure somewhat higher). The structure is measured as "
            "compact JSON. Default calls take every argument's default; those with a required "
            f"argument: {calls}. Before: the version of 2026-11-22 "
            "(`bench/reads_baseline.json`), whose text left most results to the structure "
            "and whose structure carried nulls, unrounded floats and each test's meaning per "
            "result. The budget is `ToolSpec.budget`: a person's default call, each channel; "
            "the scorecard (`tests/quality`, docs/quality.md) holds every tool to it for each "
            "of its 14 people, in a vault of their own.",
            "",
            "One synthetic person (`bench/synth.py`, seed 0: ten years, 2,148 lab results, "
            "318 claims, five years of daily wearable data):",
            "",
            head,
            *_rows(before, after, "synthetic"),
            "",
            "The bundled samples (six Synthea patients and a Blue Button beneficiary, together in "
            "one vault: seven people's answers, so above a person's budget where the answer "
            "lists everyone's records):",
            "",
            head,
            *_rows(before, after, "samples"),
            "",
        ]
    )


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOCS.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    figures = run()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    for vault in ("synthetic", "samples"):
        for name, row in figures[vault].items():
            print(f"{vault:9} {name:20} " + " ".join(f"{k}={v}" for k, v in row.items()))
    if args.write_docs:
        before = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.exists() else {}
        write_docs(section(before, figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
