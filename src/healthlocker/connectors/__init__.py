"""Connectors: one module per source, each streaming FHIR R4 resources into the vault."""

from healthlocker.connectors._import import (
    FORMATS,
    FileOutcome,
    ImportReport,
    detect_format,
    import_paths,
)

__all__ = ["FORMATS", "FileOutcome", "ImportReport", "detect_format", "import_paths"]
