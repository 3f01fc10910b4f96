"""Write the "Sources" and "Tests" sections of docs/lab-catalog.md from the catalog itself.

    .venv/bin/python scripts/lab_catalog_doc.py          # rewrite the two sections
    .venv/bin/python scripts/lab_catalog_doc.py --check  # exit 1 when the document is stale

Everything above "## Sources" is written by hand and kept as it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from healthlocker.records._catalog import Bounds, CatalogEntry, catalog
from healthlocker.records._common import fmt_lab

DOC = Path(__file__).resolve().parent.parent / "docs" / "lab-catalog.md"
HEADING = "## Sources"


def _range(entry: CatalogEntry) -> str:
    if entry.range_text and entry.range is None and entry.sex_ranges is None:
        return entry.range_text
    if entry.sex_ranges is not None:
        return "; ".join(
            f"{sex[0].upper()}: {'varies (no typical range)' if b.empty else b.describe()}"
            for sex, b in entry.sex_ranges.items()
        )
    if entry.range is None or entry.range.empty:
        return "— (use lab's range)"
    return entry.range.describe()


def _critical(bounds: Bounds | None) -> str:
    if bounds is None:
        return "—"
    parts = [f"< {fmt_lab(bounds.low)}"] if bounds.low is not None else []
    parts += [f"> {fmt_lab(bounds.high)}"] if bounds.high is not None else []
    return " or ".join(parts)


def _row(entry: CatalogEntry) -> str:
    cells = [
        entry.loinc,
        ", ".join(entry.alt_loinc) or "—",
        entry.name,
        f"`{entry.unit}`",
        _range(entry),
        _critical(entry.critical),
        ", ".join(entry.sources),
    ]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    data = catalog()
    lines = [HEADING, "", "| Key | Title | Publisher | URL |", "| --- | --- | --- | --- |"]
    for key, src in data.sources.items():
        lines.append(f"| `{key}` | {src['title']} | {src['publisher']} | <{src['url']}> |")
    codes = sum(len(e.codes) for e in data.entries)
    lines += [
        "",
        "## Tests",
        "",
        f"{len(data.entries)} tests, answering to {codes} LOINC codes. Ranges and limits are in "
        "the canonical unit. `≤ x` / `≥ x` mean there is only an upper / lower bound; M/F are "
        "sex-specific ranges. Critical limits marked `—` have none in the catalog.",
    ]
    panels: dict[str, list[CatalogEntry]] = {}
    for entry in data.entries:
        panels.setdefault(entry.panel, []).append(entry)
    head = "| LOINC | Also matches | Name | Unit | Typical range | Critical limits | Sources |"
    for panel, members in panels.items():
        lines += ["", f"### {panel}", "", head, "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [_row(e) for e in members]
    return "\n".join(lines) + "\n"


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    kept = text[: text.index(HEADING)]
    fresh = kept + render()
    if "--check" in sys.argv[1:]:
        if fresh != text:
            print(f"{DOC.name} is out of date: run scripts/lab_catalog_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
