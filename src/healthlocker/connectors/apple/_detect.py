"""Telling an Apple Health export from other files and folders, without reading it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from healthlocker.connectors._read import Head
from healthlocker.connectors.apple._zip import is_export_zip

# The root element of an export, after its prolog (the DTD names it only as "!ELEMENT HealthData").
_ROOT = re.compile(rb"<HealthData[\s>/]")


def sniff(head: Head) -> bool:
    """Whether a file is an Apple Health export: a zip holding export.xml (at the top or in
    ``apple_health_export/``), or XML whose root element is ``HealthData``."""
    if head.kind == "zip":
        try:
            with zipfile.ZipFile(head.path) as zf:
                return is_export_zip(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
    return head.kind == "xml" and _ROOT.search(head.data) is not None


def export_in(folder: Path) -> Path | None:
    """The export.xml of an unzipped export (the Files app makes ``apple_health_export/``):
    the one file of that folder to read; the rest (routes, ECGs, a CDA copy) is not imported."""
    candidate = folder / "export.xml"
    try:
        return candidate if candidate.is_file() and sniff(Head.of(candidate)) else None
    except OSError:
        return None
