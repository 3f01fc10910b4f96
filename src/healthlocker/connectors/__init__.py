"""Connectors: one module per source, each streaming FHIR R4 resources into the vault."""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes

if TYPE_CHECKING:
    from healthlocker.connectors._import import (
        FORMATS,
        FileOutcome,
        ImportReport,
        detect_format,
        import_paths,
    )
    from healthlocker.connectors._links import Link, LinkStore
    from healthlocker.connectors.smart._connect import connect_link, sync_link
    from healthlocker.connectors.smart._http import Net
    from healthlocker.connectors.smart._presets import PRESETS, Preset
    from healthlocker.connectors.smart._sync import SyncResult

# Everything loads on first use: file imports need not pay for the HTTP stack, and the Apple
# Health reader process (which imports one connector module) for the store and the other formats.
_LAZY = {
    "FORMATS": "_import",
    "FileOutcome": "_import",
    "ImportReport": "_import",
    "detect_format": "_import",
    "import_paths": "_import",
    "Link": "_links",
    "LinkStore": "_links",
    "connect_link": "smart._connect",
    "sync_link": "smart._connect",
    "Net": "smart._http",
    "PRESETS": "smart._presets",
    "Preset": "smart._presets",
    "SyncResult": "smart._sync",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "FORMATS",
    "PRESETS",
    "FileOutcome",
    "ImportReport",
    "Link",
    "LinkStore",
    "Net",
    "Preset",
    "SyncResult",
    "connect_link",
    "detect_format",
    "import_paths",
    "sync_link",
]
