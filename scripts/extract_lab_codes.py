"""List the (code, system, name) of every lab result in C-CDA documents and FHIR files.

Used to build ``tests/records/data/lab_codes.json``, the fixture the lab catalog's coverage is
measured against (see ``docs/lab-catalog.md``). It keeps metadata only: which tests the
documents report, never a value, a date or anything about a person.

    .venv/bin/python scripts/extract_lab_codes.py --ccda DIR --fhir DIR [--fhir DIR] > out.json

A C-CDA lab result is an observation with the Result Observation template
(2.16.840.1.113883.10.20.22.4.2) inside a Results section; its name is the code's
``displayName``, else its ``originalText``. A FHIR lab result is an Observation with the
``laboratory`` category; its name is the first coding's ``display``, else the code's ``text``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from lxml import etree

NS = {"h": "urn:hl7-org:v3"}
RESULTS = (
    "//h:section[h:templateId[@root='2.16.840.1.113883.10.20.22.2.3.1' "
    "or @root='2.16.840.1.113883.10.20.22.2.3']]"
    "//h:observation[h:templateId[@root='2.16.840.1.113883.10.20.22.4.2']]"
)
Row = tuple[str, str, str]


def ccda_rows(folder: Path) -> Counter[Row]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    found: Counter[Row] = Counter()
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml"):
        for obs in etree.parse(str(path), parser).xpath(RESULTS, namespaces=NS):
            code = obs.find("h:code", NS)
            if code is None:
                found["", "", ""] += 1
                continue
            original = code.find("h:originalText", NS)
            text = " ".join("".join(original.itertext()).split()) if original is not None else ""
            name = code.get("displayName") or text
            found[code.get("code") or "", code.get("codeSystem") or "", name] += 1
    return found


def _fhir_resources(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    if doc.get("resourceType") == "Bundle":
        return [r for e in doc.get("entry") or () for r in _fhir_resources(e.get("resource"))]
    return [doc]


def _is_lab(res: dict[str, Any]) -> bool:
    if res.get("resourceType") != "Observation":
        return False
    codings = [c for cat in res.get("category") or () for c in cat.get("coding") or ()]
    return any(c.get("code") == "laboratory" for c in codings)


def fhir_rows(folders: list[Path]) -> Counter[Row]:
    found: Counter[Row] = Counter()
    seen: set[str] = set()
    for folder in folders:
        for path in sorted(folder.rglob("*.json")):
            if path.name in seen:  # the same sample file copied into two folders
                continue
            seen.add(path.name)
            for res in _fhir_resources(json.loads(path.read_text(encoding="utf-8"))):
                if not _is_lab(res):
                    continue
                concept = res.get("code") or {}
                coding = (concept.get("coding") or [{}])[0]
                name = coding.get("display") or concept.get("text") or ""
                found[coding.get("code") or "", coding.get("system") or "", name] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ccda", type=Path, required=True, help="folder of C-CDA documents")
    parser.add_argument("--fhir", type=Path, action="append", default=[], help="FHIR folder")
    args = parser.parse_args()
    groups = {"ccda": ccda_rows(args.ccda), "fhir": fhir_rows(args.fhir)}
    # One result kind per line, commonest first: a small file that reads well in a diff.
    blocks = []
    for name, rows in groups.items():
        ordered = sorted(rows.items(), key=lambda kv: (-kv[1], kv[0]))
        lines = ",\n".join("    " + json.dumps([*row, n], ensure_ascii=False) for row, n in ordered)
        blocks.append(f"  {json.dumps(name)}: [\n{lines}\n  ]")
    sys.stdout.write("{\n" + ",\n".join(blocks) + "\n}\n")


if __name__ == "__main__":
    main()
