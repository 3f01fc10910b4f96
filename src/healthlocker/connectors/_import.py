"""The import entry point: paths in, whole batches (one per file) into the vault.

Each file is one atomic batch: it is stored whole or, on any error, not at all, and the error
names the file and the place. Other files of the same run go on; the report lists each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthlocker.connectors import _ahead
from healthlocker.connectors.fhir import _json as _fhir
from healthlocker.connectors.wellness import _csvrows, _mfp, _peloton
from healthlocker.errors import ConnectorError, HealthLockerError, InputFormatError
from healthlocker.store import BatchResult, Item, Vault

FORMATS = ("fhir-json", "ndjson", "apple-health", "myfitnesspal", "peloton", "ccda")
_FHIR_SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})
# CSV formats, told apart by their header.
_CSV_FORMATS: dict[str, Callable[[list[str]], bool]] = {
    "myfitnesspal": _mfp.is_header,
    "peloton": _peloton.is_header,
}
# Source labels that do not follow the file name: MyFitnessPal names its files after the dates
# exported, so each export would otherwise be a new source and the same days would be stored
# twice.
_LABELS = {"myfitnesspal": "myfitnesspal"}


def _read_apple(
    path: Path,
    progress: _fhir.Progress | None,
    expect: bytes | None,
    *,
    notes: list[str] | None = None,
) -> Iterator[Item]:
    from healthlocker.connectors.apple._reader import read_apple  # lxml and co. only when needed

    return read_apple(path, progress, expect, notes=notes)


def _read_ccda(
    path: Path,
    progress: _fhir.Progress | None,
    expect: bytes | None,
    *,
    notes: list[str] | None = None,
) -> Iterator[Item]:
    from healthlocker.connectors.ccda._reader import read_ccda

    return read_ccda(path, progress, expect, notes=notes)


# Each reader takes (path, progress, expected digest); those in _NOTED also take notes= (a list
# they add what was skipped to), and MyFitnessPal's takes weight_unit=.
_READERS: dict[str, Callable[..., Iterator[Item]]] = {
    "fhir-json": _fhir.read_json,
    "ndjson": _fhir.read_ndjson,
    "apple-health": _read_apple,
    "myfitnesspal": _mfp.read_mfp,
    "peloton": _peloton.read_peloton,
    "ccda": _read_ccda,
}
_NOTED = frozenset({"apple-health", "myfitnesspal", "peloton", "ccda"})
# Readers that validate every resource (with store.validate_resource) before they yield it; the
# store need not validate them again. See connectors/apple/_reader.py (read_apple).
_SELF_VALIDATING = frozenset({"apple-health", "ccda"})


@dataclass
class FileOutcome:
    path: str
    format: str | None
    result: BatchResult | None = None
    error: str | None = None
    # What the reader left out, and why, or chose (say, a unit): one line each, no health data.
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)

    def totals(self) -> dict[str, int]:
        out = {
            "file_count": len(self.files),
            "failed": 0,
            "added": 0,
            "updated": 0,
            "unchanged": 0,
            "skipped_files": 0,
        }
        for f in self.files:
            if f.error:
                out["failed"] += 1
            elif f.result is not None:
                out["added"] += f.result.added
                out["updated"] += f.result.updated
                out["unchanged"] += f.result.unchanged
                out["skipped_files"] += int(f.result.skipped_file)
        return out


def detect_format(path: Path) -> str:
    """The format of one file, from its content, whatever its extension."""
    with path.open("rb") as f:
        head = f.read(64 * 1024)
    kind = _fhir.sniff(head)
    if kind in ("json", "ndjson"):
        # One JSON document (a Bundle, or a one-line file) reads the same either way.
        return "fhir-json" if kind == "json" else "ndjson"
    if not head.strip():
        raise _empty(path)
    if kind in ("xml", "zip"):
        from healthlocker.connectors.apple._reader import looks_like

        if looks_like(path, kind, head):
            return "apple-health"
        if kind == "xml" and _is_ccda(head):
            return "ccda"
    if kind == "zip" and _mfp.looks_like_zip(path):
        return "myfitnesspal"
    if kind is None and (csv_format := _csv_format(head)):
        return csv_format
    described = {"xml": "XML", "zip": "a zip archive"}.get(kind or "", "not JSON")
    raise InputFormatError(
        f"{described}: not a format this version imports (FHIR JSON Bundle or resource, "
        "FHIR NDJSON, Apple Health export.zip or export.xml, MyFitnessPal export zip or CSV, "
        "Peloton workouts CSV, C-CDA XML)",
        where=str(path),
    )


def _is_ccda(head: bytes) -> bool:
    from healthlocker.connectors.ccda._reader import looks_like

    return looks_like(head)


def _ccda_file(path: Path) -> bool:
    """A folder's .xml file is imported when it is a C-CDA document (not any XML)."""
    try:
        with path.open("rb") as f:
            return _is_ccda(f.read(64 * 1024))
    except OSError:
        return False


def _csv_format(head: bytes) -> str | None:
    header = _csvrows.header_of(head)
    return next((f for f, fits in _CSV_FORMATS.items() if header and fits(header)), None)


def _is_known_csv(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return _csv_format(f.read(64 * 1024)) is not None
    except OSError:
        return False


def _empty(path: Path) -> ConnectorError:
    return ConnectorError("the file is empty", where=str(path))


def expand(paths: Sequence[str | Path]) -> Iterator[tuple[Path, str]]:
    """Files to import, each with its default source label (file stem, or the folder's name)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and (export := _apple_folder(path)) is not None:
            yield export, path.resolve().name
        elif path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and (
                    p.suffix.lower() in _FHIR_SUFFIXES
                    or (p.suffix.lower() == ".csv" and _is_known_csv(p))
                    or (p.suffix.lower() == ".xml" and _ccda_file(p))
                )
            )
            if not found:
                raise InputFormatError(
                    "no FHIR files (*.json, *.ndjson), C-CDA documents (*.xml) or MyFitnessPal "
                    "or Peloton CSVs in this folder",
                    where=str(path),
                )
            for p in found:
                yield p, path.resolve().name
        elif path.is_file():
            yield path, path.stem
        else:
            raise ConnectorError("no such file or folder", where=str(path))


def _apple_folder(path: Path) -> Path | None:
    """An unzipped Apple Health export (the folder itself, or one holding
    ``apple_health_export/``): its ``export.xml`` is the file to import, not the folder's JSON."""
    for candidate in (path / "export.xml", path / "apple_health_export" / "export.xml"):
        if candidate.is_file():
            return candidate
    return None


def import_paths(
    vault: Vault,
    paths: Sequence[str | Path],
    *,
    source: str | None = None,
    fmt: str | None = None,
    progress: _fhir.Progress | None = None,
    weight_unit: str | None = None,
) -> ImportReport:
    """Import files and folders; one atomic batch per file. Never raises for bad input.

    Large imports validate on a second core, ahead of storage (see ``_ahead``).
    *weight_unit* (kg or lb) is the unit of MyFitnessPal's measurements (see ``_mfp``).
    """
    report = ImportReport()
    try:
        files = list(expand(paths))
    except ConnectorError as exc:
        report.files.append(FileOutcome(exc.where or "", None, error=str(exc)))
        return report
    jobs: list[tuple[Path, str, FileOutcome]] = []
    for path, default_label in files:
        outcome = FileOutcome(str(path), fmt)
        report.files.append(outcome)
        try:
            if path.stat().st_size == 0:
                raise _empty(path)
            outcome.format = fmt or detect_format(path)
            if outcome.format not in _READERS:
                raise InputFormatError(
                    f"unknown format {outcome.format!r}; one of {', '.join(FORMATS)}"
                )
            jobs.append((path, default_label, outcome))
        except HealthLockerError as exc:
            outcome.error = str(exc)
        except OSError as exc:
            outcome.error = _unreadable(path, exc)
    with _ahead.validator([(p, o.format or "") for p, _, o in jobs]) as verdicts:
        for index, (path, default_label, outcome) in enumerate(jobs):
            checked = _ahead.claim(verdicts, index)
            try:
                kind = outcome.format or ""
                outcome.result = vault.import_batch(
                    _READERS[kind](path, progress, checked, **_options(outcome, weight_unit)),
                    source=source or _LABELS.get(kind, default_label),
                    kind=kind,
                    name=path.name,
                    file_digest=checked or _file_tag(path, kind, weight_unit),
                    validated=checked is not None or outcome.format in _SELF_VALIDATING,
                )
            except HealthLockerError as exc:
                outcome.error = str(exc)
            except OSError as exc:
                outcome.error = _unreadable(path, exc)
    return report


def _file_tag(path: Path, kind: str, weight_unit: str | None) -> bytes:
    """What says "this file was imported already": its digest, and any option that changes
    what it gives (so a MyFitnessPal file imported again with --weight-unit is read again)."""
    digest = _fhir.file_digest(path)
    if kind == "myfitnesspal" and weight_unit:
        digest = hashlib.sha256(digest + b"|weight-unit=" + weight_unit.encode()).digest()
    return digest


def _options(outcome: FileOutcome, weight_unit: str | None) -> dict[str, Any]:
    """The keyword arguments the reader of *outcome*'s format takes."""
    options: dict[str, Any] = {"notes": outcome.notes} if outcome.format in _NOTED else {}
    if outcome.format == "myfitnesspal":
        options["weight_unit"] = weight_unit
    return options


def _unreadable(path: Path, exc: OSError) -> str:
    return f"{path}: cannot read ({exc.strerror or type(exc).__name__})"
