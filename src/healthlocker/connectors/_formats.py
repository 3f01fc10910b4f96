"""The format registry: every file format healthlocker imports, declared once, in order.

Detection, folder expansion, the CLI's ``--format`` choices and help, the "not a format this
version imports" message and the docs all read :data:`FORMATS`. Adding a format is one entry
here, its reader (``read(path, options) -> Iterator[Item]``, see ``_read``) and its tests.

Readers and sniffers are named as ``"module:function"`` (under ``healthlocker.connectors``) and
imported on first use, so the table costs nothing to load: the CLI reads its names, and a FHIR
file's import never loads lxml or the HTTP stack.
"""

from __future__ import annotations

import hashlib
import importlib
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from healthlocker.connectors._read import Head, ReadOptions, file_digest
from healthlocker.errors import ConnectorError, InputFormatError
from healthlocker.store import Item


@dataclass(frozen=True)
class Format:
    """One file format: how it is told, which files of a folder it takes, how it is read."""

    name: str  # the --format value; stored as each batch's kind
    label: str  # what people read in help, messages and docs
    kinds: frozenset[str]  # what its files are at heart (``Head.kind``): zip, xml, json, …
    suffixes: tuple[str, ...]  # folder match: the files of a folder it looks at
    reader: str  # "module:function": read(path, options) -> Iterator[Item]
    # "module:function": (Head) -> bool, when the kind alone does not tell it.
    sniff: str | None = None
    # "module:function": (folder) -> Path | None: a folder that is one export (an unzipped
    # Apple Health export) -> the one file of it to read; the rest of it is passed over.
    folder: str | None = None
    self_validating: bool = False  # the reader validates every resource; the store need not
    ahead: bool = False  # validated on a second core ahead of storage (see ``_ahead``)
    source: str | None = None  # a fixed source label; else the file's stem or folder's name
    # ReadOptions fields that change what it reads: part of "this file was imported already".
    options: tuple[str, ...] = ()
    # "module:function": (text) -> str | None: a link this format reads when given in place of
    # a path (a SMART Health Link) -> the source label it imports as; None if *text* is not one.
    link: str | None = None

    def fits(self, head: Head) -> bool:
        return head.kind in self.kinds and (self.sniff is None or bool(_load(self.sniff)(head)))

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        reader: Callable[[Path, ReadOptions], Iterator[Item]] = _load(self.reader)
        return reader(path, options)

    def export_in(self, folder: Path) -> Path | None:
        return None if self.folder is None else _load(self.folder)(folder)

    def file_tag(self, path: Path, options: ReadOptions) -> bytes:
        """What says "this file was imported already": its digest, and any option that
        changes what it gives (a MyFitnessPal file imported again with --weight-unit is read
        again). A reader that fetches what it reads (a link) gives the digest of what it fetched
        in ``options.digest``, before the batch opens."""
        digest = options.digest or file_digest(path)
        chosen = "".join(
            f"|{name.replace('_', '-')}={value}"
            for name in self.options
            if (value := getattr(options, name)) is not None
        )
        return hashlib.sha256(digest + chosen.encode()).digest() if chosen else digest


def _load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(f"healthlocker.connectors.{module}"), name)


_FHIR_FILES = (".json", ".ndjson", ".jsonl")

# Detection tries them in this order: the first that fits wins (Apple Health before C-CDA and
# MyFitnessPal, whose files are also XML and zips).
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        f.name: f
        for f in (
            Format(
                name="fhir-json",
                label="FHIR JSON Bundle or resource",
                kinds=frozenset({"json"}),
                suffixes=_FHIR_FILES,
                reader="fhir._json:read_json",
                ahead=True,
            ),
            Format(
                name="ndjson",
                label="FHIR NDJSON",
                kinds=frozenset({"ndjson"}),
                suffixes=_FHIR_FILES,
                reader="fhir._json:read_ndjson",
                ahead=True,
            ),
            Format(
                name="apple-health",
                label="Apple Health export.zip or export.xml",
                kinds=frozenset({"zip", "xml"}),
                suffixes=(".zip", ".xml"),
                reader="apple._reader:read_apple",
                sniff="apple._detect:sniff",
                folder="apple._detect:export_in",
                self_validating=True,
                # export.zip, its export.xml and the unzipped folder are one export under three
                # names: each would otherwise be a source of its own, holding it all again.
                source="apple-health",
            ),
            Format(
                name="myfitnesspal",
                label="MyFitnessPal export zip or CSV",
                kinds=frozenset({"zip", "text"}),
                suffixes=(".zip", ".csv"),
                reader="wellness._mfp:read_mfp",
                sniff="wellness._mfp:sniff",
                # Its files are named after the dates exported: each export would otherwise be
                # a new source, and the same days would be stored twice.
                source="myfitnesspal",
                options=("weight_unit",),
            ),
            Format(
                name="peloton",
                label="Peloton workouts CSV",
                kinds=frozenset({"text"}),
                suffixes=(".csv",),
                reader="wellness._peloton:read_peloton",
                sniff="wellness._peloton:sniff",
            ),
            Format(
                name="dexcom-clarity",
                label="Dexcom Clarity CGM CSV",
                kinds=frozenset({"text"}),
                suffixes=(".csv",),
                reader="cgm._dexcom:read_dexcom",
                sniff="cgm._dexcom:sniff",
                self_validating=True,
                # Exports are named after the time they were made: one source for them all, so
                # overlapping exports land on the same readings.
                source="dexcom-clarity",
                options=("time_zone",),
            ),
            Format(
                name="libreview",
                label="LibreView (FreeStyle Libre) CGM CSV",
                kinds=frozenset({"text"}),
                suffixes=(".csv",),
                reader="cgm._libreview:read_libreview",
                sniff="cgm._libreview:sniff",
                self_validating=True,
                source="libreview",
                options=("time_zone",),
            ),
            Format(
                name="ccda",
                label="C-CDA XML",
                kinds=frozenset({"xml"}),
                suffixes=(".xml",),
                reader="ccda._reader:read_ccda",
                sniff="ccda._reader:sniff",
                self_validating=True,
            ),
            Format(
                name="shlink",
                label="SMART Health Link (shlink:/…, or a file holding one)",
                kinds=frozenset({"text"}),
                # In a folder, only .shl files: a folder import never fetches a link from
                # some text file found in it. A file named on the command line is detected.
                suffixes=(".shl",),
                reader="shl._reader:read_shlink",
                sniff="shl._link:sniff",
                link="shl._link:link_label",
            ),
        )
    }
)


def labels() -> str:
    """Every format, as people read them: for messages and help."""
    return ", ".join(f.label for f in FORMATS.values())


def by_name(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise InputFormatError(
            f"unknown format {name[:40]!r}; one of {', '.join(FORMATS)}"
        ) from None


def link_format(text: str) -> tuple[Format, str] | None:
    """The format that reads *text* as a link given in place of a path, and the source label
    it imports as; None when no format reads it."""
    for fmt in FORMATS.values():
        if fmt.link is not None and (label := _load(fmt.link)(text)) is not None:
            return fmt, label
    return None


def detect(path: Path) -> Format:
    """The format of one file, from its content, whatever its extension."""
    head = Head.of(path)
    if not head.data.strip():
        raise ConnectorError("the file is empty", where=str(path))
    for fmt in FORMATS.values():
        if fmt.fits(head):
            return fmt
    if head.kind == "zip" and not zipfile.is_zipfile(path):
        # No zip sniffer could read its table of contents, which sits at the end of the file.
        raise InputFormatError(
            "a damaged or truncated zip archive (its end, which lists the files, is missing); "
            "download or export it again",
            where=str(path),
        )
    raise InputFormatError(
        f"{_described(head)}: not a format this version imports ({labels()})", where=str(path)
    )


def _described(head: Head) -> str:
    from healthlocker.connectors.wellness._csvrows import header_of

    if head.kind == "text" and len(header_of(head.data) or ()) > 1:
        return "CSV"
    return {"xml": "XML", "zip": "a zip archive"}.get(head.kind, "not JSON")


def detect_format(path: Path) -> str:
    """The name of the format of one file (see :func:`detect`)."""
    return detect(path).name
