"""Apple Health: ``export.zip`` (read in place) or its ``export.xml`` → FHIR R4 resources.

The export is streamed once (``_xml``) into daily accumulators, from which the resources
come (``_agg``): the Patient (from ``Me``), one Observation per type and day, one per night
of sleep, per workout and per activity summary, and, from a zip, the Health Records feature's
FHIR R4 files as they are. Raw samples are not stored; docs/apple-health.md says why and gives
the mapping. Ids are deterministic, so importing the same data again changes nothing and a later
export adds the new days and updates the days it recomputes (the last day of an export is
usually partial).

Errors name the file (and the member of a zip) and the place: a line and column for malformed
XML, a byte offset for a cap. Resources are yielded as soon as they are final (``_flow``),
while the file is still being read; the store keeps them in one transaction that an error rolls
back, so a bad file stores nothing. A big export is read in a second process (``_proc``).
"""

from __future__ import annotations

import hashlib
import json
import weakref
import zipfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from healthlocker.connectors._read import Progress, ReadOptions, ensure_unchanged, file_chunks
from healthlocker.connectors.apple._check import Checker
from healthlocker.connectors.apple._flow import Flow
from healthlocker.connectors.apple._proc import Reader, worth_it
from healthlocker.connectors.apple._xml import Collector, parse, parse_steps
from healthlocker.connectors.apple._zip import (
    ExportZip,
    is_export_xml,
    open_export,
)
from healthlocker.connectors.fhir._dstu2 import to_r4
from healthlocker.errors import ParseError
from healthlocker.store import Item


def read_apple(path: Path, options: ReadOptions) -> Iterator[Item]:
    """The resources of an Apple Health export (zip or XML); ``options.notes`` gets what was
    left out.

    Every resource is validated before it is yielded (``_check``: in full with
    ``store.validate_resource``, once per shape), so the import passes ``validated=True`` to
    the store. A big export is read in a second process (``_proc``), started here at
    once, while this process validates and stores.
    """
    ensure_unchanged(path, options)
    skipped: dict[str, int] = {}
    if not worth_it(_xml_size(path)):
        return _checked(produce(path, options.progress, skipped), skipped, options)
    reader = Reader(path, options.progress, skipped, produce)
    out = _checked(iter(reader), skipped, options)
    weakref.finalize(out, reader.close)  # never read (the vault has this file already): stop it
    return out


def _checked(
    items: Iterator[Item], skipped: dict[str, int], options: ReadOptions
) -> Iterator[Item]:
    """Each resource validated (``_check``), repaired or skipped and named like any file's
    (``options.tolerance``: a Health Records file that fails FHIR R4, say)."""
    check, tolerance = Checker(), options.tolerance
    for where, resource in items:
        tolerance.read += 1
        admitted = tolerance.admit(resource, where, check)
        if admitted is not None:
            yield where, admitted
    options.notes.extend(describe(skipped))


def produce(path: Path, progress: Progress | None, skipped: dict[str, int]) -> Iterator[Item]:
    """The resources of an export, in the order they become final; not validated."""
    with path.open("rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    flow = Flow(str(path))
    if is_zip:
        with open_export(path) as z:
            where = f"{path}: {z.xml_name}"
            c = yield from _streamed(parse_steps(z.xml_chunks(progress), where), flow)
            # Only for an export not ordered by type: read again what the flow dropped.
            again = parse(z.xml_chunks(None), where) if flow.stale(c) else None
            yield from flow.rest(c, skipped, again)
            c = again or c
            yield from _clinical(z, c, skipped)
    else:
        c = yield from _streamed(parse_steps(file_chunks(path, progress), str(path)), flow)
        again = parse(file_chunks(path, None), str(path)) if flow.stale(c) else None
        yield from flow.rest(c, skipped, again)
        c = again or c
        if c.clinical:
            what = "clinical records (their FHIR files are in export.zip: import the zip)"
            skipped[what] = len(c.clinical)
    for what, n in c.skipped.items():
        skipped[what] = skipped.get(what, 0) + n


def _streamed(steps: Iterator[Collector], flow: Flow) -> Generator[Item, None, Collector]:
    """Yield what is final after each chunk; return the collector once the file is read."""
    c = None
    for c in steps:
        yield from flow.step(c)
    if c is None:  # parse_steps yields at least once or raises
        raise ParseError("the export could not be read")
    return c


def _xml_size(path: Path) -> int:
    """The size of export.xml: the file's, or as a zip declares it (a hint; not trusted)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return max((i.file_size for i in zf.infolist() if is_export_xml(i.filename)), default=0)
    except (zipfile.BadZipFile, OSError, ValueError):
        return path.stat().st_size


def describe(counts: dict[str, int]) -> list[str]:
    return [f"not imported: {n:,} × {what}" for what, n in sorted(counts.items())]


def _clinical(z: ExportZip, c: Collector, skipped: dict[str, int]) -> Iterator[Item]:
    """The Health Records feature's files: FHIR R4 as it is; DSTU2 mapped to R4 for the
    common clinical types (``fhir._dstu2``), other DSTU2 types counted and left out."""
    read: set[str] = set()
    for record in c.clinical:
        version = record.get("fhirVersion", "")
        found = z.clinical(record.get("resourceFilePath", ""))
        if found is None:
            skipped["clinical records whose file is missing from the zip"] = (
                skipped.get("clinical records whose file is missing from the zip", 0) + 1
            )
            continue
        place, data = found
        read.add(place.removeprefix(f"{z.where}: "))
        resource = _json(data)
        if version.startswith(("1.0", "DSTU2")) and resource is not None:
            resource = _from_dstu2(resource, skipped)
            if resource is None:
                continue
        elif not version.startswith("4."):
            what = (
                f"clinical records in FHIR {version[:10] or '(no version)'} (R4 and DSTU2 are read)"
            )
            skipped[what] = skipped.get(what, 0) + 1
            continue
        if resource is None:
            # A health system's file that does not read as JSON is left out; the rest of the
            # export (and the other records) still come in. One that is not valid FHIR R4 is
            # skipped and named where it is validated (``_checked``).
            what = "clinical records that are not valid FHIR R4 JSON"
            skipped[what] = skipped.get(what, 0) + 1
            continue
        if not resource.get("id"):
            resource["id"] = "ah-cr-" + hashlib.sha256(data).hexdigest()[:40]
        yield place, resource
    for label, n in z.unread(read).items():
        skipped[f"files in the zip not read ({label})"] = n


def _from_dstu2(resource: dict[str, Any], skipped: dict[str, int]) -> dict[str, Any] | None:
    mapped = to_r4(resource)
    if mapped is None:
        rtype = str(resource.get("resourceType", "?"))[:40]
        what = f"clinical records in FHIR DSTU2 of a type not mapped to R4 ({rtype})"
        skipped[what] = skipped.get(what, 0) + 1
        return None
    r4, dropped = mapped
    for name in dropped:
        what = f"DSTU2 fields with no R4 place, left out ({r4['resourceType']}.{name[:40]})"
        skipped[what] = skipped.get(what, 0) + 1
    return r4


def _json(data: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None
