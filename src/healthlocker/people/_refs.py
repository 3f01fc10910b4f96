"""References to people: which Patient a record is about, however the reference is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ref_id(reference: Any, rtype: str) -> str | None:
    """The id a reference points to when it is to *rtype* (relative, absolute or versioned)."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str):
        return None
    parts = reference.split("?")[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == rtype and parts[-1]:
        return parts[-1]
    return None


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """``Patient/<id>`` of the person a resource is about, or None."""
    for key in ("subject", "patient", "beneficiary"):
        pid = ref_id(resource.get(key), "Patient")
        if pid:
            return f"Patient/{pid}"
    return None
