"""The import entry point: paths in, whole batches (one per file) into the vault.

Each file is one atomic batch: it is stored whole or, on any error, not at all, and the error
names the file and the place. Other files of the same run go on; the report lists each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from healthlocker.connectors import _ahead, _fhir
from healthlocker.errors import ConnectorError, HealthLockerError, InputFormatError
from healthlocker.store import BatchResult, Item, Vault

FORMATS = ("fhir-json", "ndjson", "apple-health")
_FHIR_SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})


def _read_apple(
    path: Path, progress: _fhir.Progress | None, expect: bytes | None
) -> Iterator[Item]:
    from healthlocker.connectors._apple import read_apple  # lxml and co. only when needed

    return read_apple(path, progress, expect)


_READERS: dict[str, Callable[[Path, _fhir.Progress | None, bytes | None], Iterator[Item]]] = {
    "fhir-json": _fhir.read_json,
    "ndjson": _fhir.read_ndjson,
    "apple-health": _read_apple,
}
# Readers that validate every resource (with store.validate_resource) before they yield it; the
# store need not validate them again. See connectors/_apple.py (read_apple).
_SELF_VALIDATING = frozenset({"apple-health"})


@dataclass
class FileOutcome:
    path: str
    format: str | None
    result: BatchResult | None = None
    error: str | None = None


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
        from healthlocker.connectors._apple import looks_like

        if looks_like(path, kind, head):
            return "apple-health"
    described = {"xml": "XML", "zip": "a zip archive"}.get(kind or "", "not JSON")
    raise InputFormatError(
        f"{described}: not a format this version imports (FHIR JSON Bundle or resource, "
        "FHIR NDJSON, Apple Health export.zip or export.xml)",
        where=str(path),
    )


def _empty(path: Path) -> ConnectorError:
    return ConnectorError("the file is empty", where=str(path))


def expand(paths: Sequence[str | Path]) -> Iterator[tuple[Path, str]]:
    """Files to import, each with its default source label (file stem, or the folder's name)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in _FHIR_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputFormatError(
                    "no FHIR files (*.json, *.ndjson) in this folder", where=str(path)
                )
            for p in found:
                yield p, path.resolve().name
        elif path.is_file():
            yield path, path.stem
        else:
            raise ConnectorError("no such file or folder", where=str(path))


def import_paths(
    vault: Vault,
    paths: Sequence[str | Path],
    *,
    source: str | None = None,
    fmt: str | None = None,
    progress: _fhir.Progress | None = None,
) -> ImportReport:
    """Import files and folders; one atomic batch per file. Never raises for bad input.

    Large imports validate on a second core, ahead of storage (see ``_ahead``).
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
                reader = _READERS[outcome.format or ""]
                outcome.result = vault.import_batch(
                    reader(path, progress, checked),
                    source=source or default_label,
                    kind=outcome.format or "",
                    name=path.name,
                    file_digest=checked or _fhir.file_digest(path),
                    validated=checked is not None or outcome.format in _SELF_VALIDATING,
                )
            except HealthLockerError as exc:
                outcome.error = str(exc)
            except OSError as exc:
                outcome.error = _unreadable(path, exc)
    return report


def _unreadable(path: Path, exc: OSError) -> str:
    return f"{path}: cannot read ({exc.strerror or type(exc).__name__})"
