"""FHIR R4 files: Bundles (transaction, batch, collection, searchset, ...), single resources,
and NDJSON bulk-export files. Each is read into a stream of ``(where, resource)`` items.

Caps (explicit, so hostile input fails fast with a clear message rather than exhausting memory):
one JSON document at most ``MAX_JSON_BYTES``; one NDJSON line at most ``MAX_LINE_BYTES``; at most
``MAX_ENTRIES`` entries in a Bundle; nesting as deep as Python's JSON parser allows (about 1,000
levels, far beyond any real FHIR resource). NDJSON is streamed line by line.

Each Bundle entry and each NDJSON line is one record (``ReadOptions.tolerance``): one that is
not a JSON object, or a line whose JSON is broken, is skipped and named; a document whose JSON
is broken is refused whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from healthlocker.connectors._read import Progress, ReadOptions, changed
from healthlocker.connectors._tolerance import Tolerance
from healthlocker.errors import InputFormatError, LimitError, ParseError, ValidationError
from healthlocker.store import Item

MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 1_000_000
_SKIPPED_TYPES = frozenset({"OperationOutcome"})


def _decode_error(exc: json.JSONDecodeError) -> str:
    return f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"


def _load_json(data: bytes, where: str, hook: Callable[[dict[str, Any]], Any] | None) -> Any:
    try:
        return json.loads(data, object_hook=hook)
    except json.JSONDecodeError as exc:
        raise ParseError(_decode_error(exc), where=where) from None
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text", where=where) from None
    except RecursionError:
        raise LimitError("JSON nested too deeply", where=where) from None


def read_json(path: Path, options: ReadOptions) -> Iterator[Item]:
    """A Bundle or a single resource in one JSON document.

    With ``options.expect``, the bytes read must have that SHA-256 (the digest of what was
    validated).
    """
    progress = options.progress
    where = str(path)
    size = path.stat().st_size
    if size == 0:
        raise ParseError("the file is empty", where=where)
    if size > MAX_JSON_BYTES:
        raise LimitError(
            f"a single JSON document over {MAX_JSON_BYTES // 2**20} MiB; "
            "export it as NDJSON (one resource per line) instead",
            where=where,
        )
    data = path.read_bytes()
    if options.expect is not None and hashlib.sha256(data).digest() != options.expect:
        raise changed(where)
    urn_refs: list[dict[str, Any]] = []

    def hook(obj: dict[str, Any]) -> dict[str, Any]:
        ref = obj.get("reference")
        if isinstance(ref, str) and _is_local(ref):
            urn_refs.append(obj)
        return obj

    doc = _load_json(data, where, hook)
    del data
    yield from document_items(doc, where, urn_refs, tolerance=options.tolerance)
    if progress:
        progress(size)


def document_items(
    doc: Any,
    where: str,
    local_refs: list[dict[str, Any]] | None = None,
    *,
    tolerance: Tolerance,
) -> Iterator[Item]:
    """The resources of one parsed FHIR document: a Bundle's entries, or the one resource.
    *local_refs* are its reference objects that may name entries by a local fullUrl (gathered
    while parsing); None walks *doc* for them (a document parsed elsewhere: a link's file, a
    SMART Health Card's bundle). A bad entry is skipped through *tolerance* (the file's)."""
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise InputFormatError("JSON, but not FHIR: no resourceType at the top", where=where)
    if doc["resourceType"] != "Bundle":
        tolerance.read += 1
        yield f"{where}: resource", _with_id(doc)
        return
    refs = _local_refs(doc) if local_refs is None else local_refs
    yield from _bundle_items(doc, where, refs, tolerance)


def _is_local(ref: str) -> bool:
    # urn:uuid:/urn:oid: names, and SMART Health Cards' short "resource:N" names.
    return ref.startswith(("urn:", "resource:"))


def _local_refs(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and _is_local(ref):
                found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _bundle_items(
    doc: dict[str, Any], where: str, urn_refs: list[dict[str, Any]], tolerance: Tolerance
) -> Iterator[Item]:
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        raise ParseError("Bundle.entry is not a list", where=where)
    if len(entries) > MAX_ENTRIES:
        raise LimitError(f"a Bundle with over {MAX_ENTRIES:,} entries", where=where)
    # Local fullUrls (urn:uuid:…, a card's resource:N) name resources inside this bundle;
    # references to them become Type/id. A resource named only so gets an id: the uuid, or a
    # card's from its content (before any reference in it is rewritten, so re-imports match).
    local: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        resource, full = entry.get("resource"), entry.get("fullUrl")
        if isinstance(resource, dict) and isinstance(full, str) and _is_local(full):
            rtype = resource.get("resourceType")
            if not resource.get("id") and full.startswith("urn:uuid:"):
                resource["id"] = full[len("urn:uuid:") :]
            elif not resource.get("id") and full.startswith("resource:"):
                _with_id(resource)
            if isinstance(rtype, str) and resource.get("id"):
                local[full] = f"{rtype}/{resource['id']}"
    for obj in urn_refs:
        target = local.get(obj["reference"])
        if target is not None:
            obj["reference"] = target
    for index, entry in enumerate(entries):
        place = f"{where}: entry {index}"
        if isinstance(entry, dict) and entry.get("resource") is None:
            continue  # e.g. a DELETE request in a transaction, or a search outcome link
        resource = tolerance.attempt(_entry_resource, entry, place)
        if resource is not None and resource.get("resourceType") not in _SKIPPED_TYPES:
            yield place, _with_id(resource)


def _entry_resource(entry: Any, place: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ParseError("a Bundle entry is not a JSON object", where=place)
    resource = entry["resource"]
    if not isinstance(resource, dict):
        raise ParseError("Bundle entry resource is not a JSON object", where=place)
    return resource


def read_ndjson(path: Path, options: ReadOptions) -> Iterator[Item]:
    """NDJSON (FHIR bulk data): one resource per line, streamed.

    With ``options.expect``, the bytes read must hash to it; checked at the end, so a batch
    that read a changed file fails (and is rolled back) rather than storing what was never
    validated.
    """
    where = str(path)
    if path.stat().st_size == 0:
        raise ParseError("the file is empty", where=where)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        yield from _ndjson_lines(f, where, options.progress, digest, options.tolerance)
    if options.expect is not None and digest.digest() != options.expect:
        raise changed(where)


def _ndjson_lines(
    f: BinaryIO, where: str, progress: Progress | None, digest: Any, tolerance: Tolerance
) -> Iterator[Item]:
    seen = 0
    for lineno in range(1, 1 << 62):
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        digest.update(line)
        if progress:
            progress(len(line))
        if len(line) > MAX_LINE_BYTES:
            raise LimitError(
                f"a line over {MAX_LINE_BYTES // 2**20} MiB", where=f"{where}: line {lineno}"
            )
        if not line.strip():
            continue
        place = f"{where}: line {lineno}"
        doc = tolerance.attempt(_line_resource, line, place)
        if doc is not None and doc["resourceType"] not in _SKIPPED_TYPES:
            seen += 1
            yield place, _with_id(doc)
    if not seen and not tolerance.skipped:  # all bad: the import's verdict names the first
        raise InputFormatError("no FHIR resources in the file", where=where)


def _line_resource(line: bytes, place: str) -> dict[str, Any]:
    doc = _load_json(line, place, None)
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise ValidationError("not a FHIR resource: no resourceType", where=place)
    return doc


def _with_id(resource: dict[str, Any]) -> dict[str, Any]:
    """Resources without an id get a stable one from their content, so re-imports match."""
    if not resource.get("id"):
        canonical = json.dumps(resource, sort_keys=True, separators=(",", ":")).encode()
        resource["id"] = "hl-" + hashlib.sha256(canonical).hexdigest()[:40]
    return resource
