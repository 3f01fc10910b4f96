"""Connectors: one sub-package per source, each streaming FHIR R4 resources into the vault.

File formats are declared once, in order, in :data:`FORMATS` (name -> :class:`Format`;
iterating it gives the names, as the tuple it once was did); ``import_paths`` reads them.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes

if TYPE_CHECKING:
    from healthlocker.connectors._formats import FORMATS, Format, detect_format
    from healthlocker.connectors._import import FileOutcome, ImportReport, import_paths
    from healthlocker.connectors._links import Link, LinkStore
    from healthlocker.connectors._plan import Plan, Skipped, plan_import
    from healthlocker.connectors._read import LinkAccess, ReadOptions
    from healthlocker.connectors._tolerance import SkippedRecord, Tolerance
    from healthlocker.connectors.cgm._time import zone_of
    from healthlocker.connectors.shl._jose import encrypt_file
    from healthlocker.connectors.shl._link import LinkPayload
    from healthlocker.connectors.smart._connect import connect_link, sync_link
    from healthlocker.connectors.smart._http import Net
    from healthlocker.connectors.smart._presets import PRESETS, Preset
    from healthlocker.connectors.smart._sync import SyncResult

# Everything loads on first use: file imports need not pay for the HTTP stack, and the Apple
# Health reader process (which imports one connector module) for the store and the other formats.
_LAZY = {
    "FORMATS": "_formats",
    "Format": "_formats",
    "detect_format": "_formats",
    "FileOutcome": "_import",
    "ImportReport": "_import",
    "import_paths": "_import",
    "Link": "_links",
    "LinkStore": "_links",
    "Plan": "_plan",
    "Skipped": "_plan",
    "plan_import": "_plan",
    "LinkAccess": "_read",
    "ReadOptions": "_read",
    "zone_of": "cgm._time",
    "encrypt_file": "shl._jose",
    "LinkPayload": "shl._link",
    "SkippedRecord": "_tolerance",
    "Tolerance": "_tolerance",
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
    "Format",
    "ImportReport",
    "Link",
    "LinkAccess",
    "LinkPayload",
    "LinkStore",
    "Net",
    "Plan",
    "Preset",
    "ReadOptions",
    "Skipped",
    "SkippedRecord",
    "SyncResult",
    "Tolerance",
    "connect_link",
    "detect_format",
    "encrypt_file",
    "import_paths",
    "plan_import",
    "sync_link",
    "zone_of",
]
