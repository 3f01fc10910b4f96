"""The import entry point: paths in, whole batches (one per file) into the vault.

Each file is one atomic batch: its good records are stored together or, on an error about the
file as a whole, nothing of it is, and the error names the file and the place. A bad record
is skipped and named (``_tolerance``; ``strict``: it refuses the file). Other files of the
same run go on; the report lists each, and the files of a folder that were passed over (see
``_plan``). Formats come from the registry (``_formats.FORMATS``). Whom each file is about is
decided in its batch (``people.Placement``): the report says so when it is not the owner, and
a file about someone who only looks like a person in the vault is refused unless ``person``
(``--person``) says whose it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from healthlocker.connectors import _ahead
from healthlocker.connectors._documents import with_text
from healthlocker.connectors._formats import Format, detect
from healthlocker.connectors._plan import Plan, Planned, Skipped, plan_import
from healthlocker.connectors._read import LinkAccess, Progress, ReadOptions
from healthlocker.connectors._tolerance import SkippedRecord, Tolerance, checked
from healthlocker.errors import ConnectorError, HealthLockerError
from healthlocker.people import People, Placed, Placement, check_choice
from healthlocker.store import BatchResult, Vault

_WAITING = (
    "holds no Patient record: its records count as the owner's until their patient's own "
    "record is imported"
)


@dataclass
class FileOutcome:
    path: str
    format: str | None
    result: BatchResult | None = None
    error: str | None = None
    # What the reader left out, and why, or chose (say, a unit): one line each, no health data.
    notes: list[str] = field(default_factory=list)
    # The records left out of an imported file, each with its place and why.
    skipped_records: list[SkippedRecord] = field(default_factory=list)
    # Whom the file is about, and what import did about it (a new person, the owner, …); each
    # with the sentence to say it in (``ImportReport.people_said``).
    people: list[Placed] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileOutcome] = field(default_factory=list)
    # Files of the folders given that were not imported, each with why.
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)

    def people_said(self) -> list[str]:
        """Whom this import's files are about, where it needs saying (someone else, a new
        owner): one sentence per person, not per file, with no file names."""
        return list(dict.fromkeys(p.note for f in self.files for p in f.people if p.note))

    def totals(self) -> dict[str, int]:
        out = {
            "file_count": len(self.files),
            "failed": 0,
            "added": 0,
            "updated": 0,
            "unchanged": 0,
            "skipped_files": 0,  # imported before: recognised by their digest, not read again
            "passed_over": len(self.skipped),
            "skipped_records": 0,  # bad records left out of the files imported
        }
        for f in self.files:
            if f.error:
                out["failed"] += 1
            elif f.result is not None:
                out["added"] += f.result.added
                out["updated"] += f.result.updated
                out["unchanged"] += f.result.unchanged
                out["skipped_files"] += int(f.result.skipped_file)
                out["skipped_records"] += len(f.skipped_records)
        return out


@dataclass
class _Job:
    planned: Planned
    format: Format
    outcome: FileOutcome


def import_paths(
    vault: Vault,
    paths: Sequence[str | Path] | Plan,
    *,
    source: str | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    weight_unit: str | None = None,
    time_zone: str | None = None,
    shl: LinkAccess | None = None,
    strict: bool = False,
    person: str | None = None,
) -> ImportReport:
    """Import files and folders (or a :func:`plan_import` of them); one atomic batch per file.
    Never raises for bad input.

    A bad record is left out and listed in its file's ``skipped_records``; with *strict*, it
    refuses its file instead (see ``_tolerance``). Large imports validate on a second core,
    ahead of storage (see ``_ahead``). *weight_unit* (kg or lb) is the unit of MyFitnessPal's
    measurements (see ``wellness._mfp``); *time_zone* (an IANA name) that of a CGM export's
    local times (see ``cgm._time``); *shl* how a SMART Health Link's passcode is asked for (see
    ``shl._reader``). *person* (``owner``, ``new``, a person's id or a name) says whom every
    file is about, instead of matching (see ``people``).
    """
    report = ImportReport()
    try:
        plan = paths if isinstance(paths, Plan) else plan_import(paths, fmt)
        person = check_choice(person)
    except HealthLockerError as exc:  # an unknown format, or a bad --person
        report.files.append(FileOutcome("", fmt, error=str(exc)))
        return report
    report.skipped = list(plan.skipped)
    jobs = [job for planned in plan.files if (job := _job(planned, report)) is not None]
    waiting: dict[int, set[str]] = {}  # per job: the Patients its records name, unplaced
    with _ahead.validator([(j.planned.path, j.format.name) for j in jobs]) as verdicts:
        for index, job in enumerate(jobs):
            vouched = _ahead.claim(verdicts, index)
            options = ReadOptions(
                progress=progress,
                expect=vouched,
                notes=job.outcome.notes,
                tolerance=Tolerance(strict=strict),
                weight_unit=weight_unit,
                time_zone=time_zone,
                link=job.planned.link,
                shl=shl or LinkAccess(),
            )
            waiting[index] = _store(vault, job, options, source, vouched, person)
    _still_waiting(vault, jobs, waiting)
    return report


def _store(
    vault: Vault,
    job: _Job,
    options: ReadOptions,
    source: str | None,
    vouched: bytes | None,
    person: str | None,
) -> set[str]:
    """One file, one batch: its outcome says what was stored, or why nothing was. Returns
    the Patients its records name that no person holds yet."""
    path, kind, outcome = job.planned.path, job.format, job.outcome
    tolerance = options.tolerance
    validate = vouched is None and not kind.self_validating
    label = source or kind.source or job.planned.label
    try:
        placement = Placement(vault, label=label, choice=person)
        # A reader that fetches (a link) does so here, before the batch takes the vault's
        # write lock, and leaves the digest of what it fetched for file_tag. Documents' text
        # is taken here, once, for every format (see _documents). Placement sees only the
        # records tolerance admits.
        read = with_text(kind.read(path, options), outcome.notes)
        items = checked(read, tolerance, kind.label, validate=validate)
        outcome.result = vault.import_batch(
            placement.wrap(items),
            source=label,
            kind=kind.name,
            name=path.name,
            file_digest=_chosen(vouched or kind.file_tag(path, options), person),
            validated=True,  # here, by the worker ahead, or by the reader itself
            on_publish=placement.save,
        )
    except HealthLockerError as exc:
        outcome.error = str(exc)
    except OSError as exc:
        outcome.error = _unreadable(path, exc)
    else:
        outcome.skipped_records = list(tolerance.skipped)
        outcome.notes.extend(tolerance.notes())
        _said(outcome, placement)
        return placement.waiting
    return set()


def _chosen(tag: bytes, person: str | None) -> bytes:
    """The file's tag, and whom --person said it is about: the same file imported again with
    another --person is read again, to place it anew."""
    return tag if person is None else hashlib.sha256(tag + f"|person={person}".encode()).digest()


def _said(outcome: FileOutcome, placement: Placement) -> None:
    outcome.people = placement.placed
    result = outcome.result
    if result is not None and result.skipped_file and result.already_in:
        outcome.notes.append(f"imported before, as source {result.already_in!r}: not read again")


def _still_waiting(vault: Vault, jobs: list[_Job], waiting: dict[int, set[str]]) -> None:
    """Say of each file whose records name a Patient the vault holds no record of (even after
    the later files of this run) that those records are the owner's until it comes."""
    if not any(waiting.values()):
        return
    people = People.load(vault)
    for index, refs in waiting.items():
        if any(people.placed(ref) is None for ref in refs):
            jobs[index].outcome.notes.append(_WAITING)


def _job(planned: Planned, report: ImportReport) -> _Job | None:
    """The file's outcome in *report*, and its job if it can be read at all."""
    known = planned.format
    outcome = FileOutcome(str(planned.path), known.name if known else None, error=planned.error)
    report.files.append(outcome)
    if planned.error is not None:
        return None
    try:
        if planned.link is None and planned.path.stat().st_size == 0:
            raise ConnectorError("the file is empty", where=str(planned.path))
        kind = known or detect(planned.path)
    except HealthLockerError as exc:
        outcome.error = str(exc)
        return None
    except OSError as exc:
        outcome.error = _unreadable(planned.path, exc)
        return None
    outcome.format = kind.name
    return _Job(planned, kind, outcome)


def _unreadable(path: Path, exc: OSError) -> str:
    return f"{path}: cannot read ({exc.strerror or type(exc).__name__})"
