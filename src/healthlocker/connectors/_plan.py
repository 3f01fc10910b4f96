"""What an import will read: the paths given, with folders expanded through the registry.

A file named on the command line is read whatever it looks like (its reader says what is wrong
with it). A folder is searched: every file that a registered format takes is imported (a
folder that is one export, such as an unzipped Apple Health export, as that export), and every
other file is listed as passed over, with why; never silently. Hidden files and folders (their
name starts with ".") are not looked at.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from healthlocker.connectors._formats import FORMATS, Format, by_name, detect, link_format
from healthlocker.errors import ConnectorError, InputFormatError


@dataclass(frozen=True)
class Skipped:
    """A file of a folder that is not imported, and why (no health data: a path and a rule)."""

    path: str
    why: str


@dataclass(frozen=True)
class Planned:
    path: Path
    label: str  # the default source label: the file's stem, or the folder's name
    format: Format | None = None  # known already (--format, or detected in a folder)
    error: str | None = None  # the path cannot be imported at all (missing, nothing in it)
    link: str | None = None  # a link given in place of a path; ``path`` only names it


@dataclass
class Plan:
    files: list[Planned] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def total_bytes(self) -> int:
        total = 0
        for planned in self.files:
            try:
                total += planned.path.stat().st_size
            except OSError:
                continue
        return total


def plan_import(paths: Sequence[str | Path], fmt: str | None = None) -> Plan:
    """The files to import from *paths*, and the files of their folders passed over.
    With *fmt* (a format's name), nothing is detected: a folder's files are those that format
    looks at. Raises only for an unknown *fmt*; a path that cannot be read is planned with its
    error."""
    chosen = by_name(fmt) if fmt is not None else None
    plan = Plan()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _folder(path, chosen, plan)
        elif path.is_file():
            plan.files.append(Planned(path, path.stem, chosen))
        elif (link := link_format(str(raw))) is not None and chosen in (None, link[0]):
            reader, label = link
            # Reported by a name: the link itself is a secret (it holds the key), never shown.
            named = Path(f"{reader.name} {label}".replace("/", "-"))
            plan.files.append(Planned(named, label, reader, link=str(raw)))
        else:
            error = ConnectorError("no such file or folder", where=str(path))
            plan.files.append(Planned(path, "", error=str(error)))
    return plan


def _folder(root: Path, fmt: Format | None, plan: Plan) -> None:
    formats = [fmt] if fmt is not None else list(FORMATS.values())
    label = root.resolve().name
    taken: list[Planned] = []
    skipped: list[Skipped] = []

    def unreadable(exc: OSError) -> None:
        why = f"cannot read this folder ({exc.strerror or type(exc).__name__})"
        skipped.append(Skipped(str(exc.filename or root), why))

    for here, dirs, files in os.walk(root, onerror=unreadable):
        folder = Path(here)
        links = [d for d in dirs if not d.startswith(".") and (folder / d).is_symlink()]
        skipped.extend(Skipped(str(folder / d), "a link to a folder: not followed") for d in links)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in links]
        unit = next(((f, p) for f in formats if (p := f.export_in(folder)) is not None), None)
        if unit is not None:  # one export: its one file is read, the rest of it passed over
            unit_format, export = unit
            taken.append(Planned(export, label, unit_format))
            why = f"part of the export in {folder}: only its {export.name} is imported"
            skipped.extend(Skipped(str(p), why) for p in _files(folder) if p != export)
            dirs[:] = []
            continue
        for name in files:
            if name.startswith("."):
                continue
            path = folder / name
            picked = _pick(path, formats, fmt)
            if isinstance(picked, Format):
                taken.append(Planned(path, label, picked))
            else:
                skipped.append(Skipped(str(path), picked))
    plan.files.extend(sorted(taken, key=lambda p: p.path))
    plan.skipped.extend(sorted(skipped, key=lambda s: Path(s.path)))
    if not taken:
        error = InputFormatError(
            "no file in this folder is a format this version imports "
            f"({', '.join(f.label for f in formats)})",
            where=str(root),
        )
        plan.files.append(Planned(root, label, error=str(error)))


def _files(folder: Path) -> list[Path]:
    found = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(here) / name for name in names if not name.startswith(".")]
    return found


def _pick(path: Path, formats: list[Format], fmt: Format | None) -> Format | str:
    """The format a folder's file is imported as, or why it is passed over."""
    suffix = path.suffix.lower()
    if fmt is not None:
        if suffix in fmt.suffixes:
            return fmt
        return f"not a {fmt.name} file: not a {'/'.join(fmt.suffixes)} file"
    if not any(suffix in f.suffixes for f in formats):
        looked_at = sorted({s for f in formats for s in f.suffixes})
        return f"not a format this version imports (not a {'/'.join(looked_at)} file)"
    try:
        return detect(path)
    except ConnectorError as exc:  # not a format we read, or empty: the reason without the path
        return str(exc).removeprefix(f"{exc.where}: ")
    except OSError as exc:
        return f"cannot read ({exc.strerror or type(exc).__name__})"
