"""Documents: how long ``read_document`` takes on a 50-page note after import (goal: p95 < 30 ms
in-process), and what taking documents' text at import adds to the import of files with notes
(goal: no more than 20%).

Import: a FHIR Bundle of notes only from ``bench/synth.py`` (``write_notes``: text, HTML, RTF
and PDF in turn; the worst case: nothing but notes), a patient's EHR export with those notes
among their other records (the largest Synthea sample, 475 resources, with the notes added for
the same patient), and a C-CDA document with narrative, each imported into a fresh vault with
the text step and with it replaced by a pass-through; the median of ``--runs`` of each.
Read: one note of ``--pages`` pages (text/plain), each page read in turn, ``--reads`` calls
after one warm-up. Prints the figures; writes nothing outside a temporary folder.

    .venv/bin/python bench/bench_documents.py [--runs 3] [--reads 200] [--notes 40] [--pages 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synth import note_text, write_notes  # noqa: E402

CCDA = ROOT / "tests" / "connectors" / "data" / "ccda-vendors" / "hl7-DS.sample.xml"
EXPORT = (
    ROOT
    / "samples"
    / "fhir"
    / "synthea"
    / "Austin_Spencer_29195483-ce99-4a73-9cee-2d6728078472.json"
)
READ_GOAL_MS = 30.0
IMPORT_GOAL = 0.20


def _import_seconds(path: Path, folder: Path, *, extract: bool) -> float:
    from healthlocker.connectors import _import, import_paths
    from healthlocker.store import Vault

    def passthrough(items: Iterator[Any], notes: list[str] | None = None) -> Iterator[Any]:
        return items

    original = _import.with_text
    _import.with_text = original if extract else passthrough  # type: ignore[assignment]
    try:
        with Vault.create(folder, passphrase="bench passphrase, not a secret") as vault:
            start = time.perf_counter()
            assert import_paths(vault, [path]).ok
            return time.perf_counter() - start
    finally:
        _import.with_text = original


def bench_import(path: Path, runs: int, work: Path) -> tuple[float, float]:
    times: dict[bool, list[float]] = {True: [], False: []}
    _import_seconds(path, work / f"{path.stem}-warm", extract=True)  # imports, caches: untimed
    for n in range(runs):
        for extract in (False, True):
            times[extract].append(
                _import_seconds(path, work / f"{path.stem}-{extract}-{n}", extract=extract)
            )
    return statistics.median(times[False]), statistics.median(times[True])


def bench_read(pages: int, reads: int, work: Path) -> list[float]:
    import base64
    import json

    from healthlocker.connectors import import_paths
    from healthlocker.records import Scope, read_document
    from healthlocker.store import Vault

    text = note_text(pages)
    note = {
        "resourceType": "DocumentReference",
        "id": "long",
        "status": "current",
        "subject": {"reference": "Patient/notes"},
        "date": "2024-01-01T09:00:00Z",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "notes"}}, {"resource": note}],
    }
    path = work / "long.json"
    path.write_text(json.dumps(bundle))
    with Vault.create(work / "read-vault", passphrase="bench passphrase, not a secret") as vault:
        assert import_paths(vault, [path]).ok
        total = read_document(vault, id="long").document.pages
        out = []
        for n in range(reads):
            start = time.perf_counter()
            read_document(Scope(vault, window_start="2000-01-01"), id="long", page=1 + n % total)
            out.append((time.perf_counter() - start) * 1000)
        print(f"note: {len(text):,} characters, {total} pages")
        return out


def _with_notes(notes: Path, out: Path) -> Path:
    """The largest Synthea sample's Bundle with *notes*' DocumentReferences added, about its
    patient: an EHR export in which the notes sit among the person's other records."""
    import json

    bundle = json.loads(EXPORT.read_text(encoding="utf-8"))
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    for entry in json.loads(notes.read_text(encoding="utf-8"))["entry"][1:]:
        note = entry["resource"]
        note["subject"] = {"reference": patient["fullUrl"]}
        bundle["entry"].append({"fullUrl": f"urn:uuid:{note['id']}", "resource": note})
    out.write_text(json.dumps(bundle), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--notes", type=int, default=40)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        notes = write_notes(work / "notes.json", count=args.notes)
        export = _with_notes(notes, work / "export.json")
        cases = (("FHIR notes only", notes), ("FHIR export with notes", export), ("C-CDA", CCDA))
        for label, path in cases:
            without, with_text = bench_import(path, args.runs, work)
            extra = with_text / without - 1
            verdict = "ok" if extra <= IMPORT_GOAL else "OVER"
            print(
                f"import {label}: {without * 1000:.0f} ms without text, {with_text * 1000:.0f} ms "
                f"with: {extra:+.0%} (goal <= +{IMPORT_GOAL:.0%}) {verdict}"
            )
        times = sorted(bench_read(args.pages, args.reads, work))
        p50 = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"read_document: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 < {READ_GOAL_MS:.0f} ms) "
            f"{'ok' if p95 < READ_GOAL_MS else 'OVER'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
