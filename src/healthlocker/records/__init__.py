"""Records: pure functions from stored FHIR resources to the views the tools return.

No ``mcp`` here: every view is usable as a library and testable without a server.
"""

from healthlocker.records._common import Reader, RecordText, SourceRef, clean, record_text

__all__ = ["Reader", "RecordText", "SourceRef", "clean", "record_text"]
