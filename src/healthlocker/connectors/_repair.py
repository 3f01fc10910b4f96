"""Repairs: a resource that fails FHIR R4 validation only in what is not clinical data.

Real records are refused by the validator for elements that carry no clinical fact: a
narrative with no XHTML ``div`` (US Core servers write ``"text": {"status": "generated"}``),
a claim whose payer left out which policy pays (Blue Button's partially adjudicated claims have
no ``insurance``, or insurance without its ``coverage``). Skipping such a resource would lose
its clinical or financial facts for the sake of an empty box, so the import repairs it, in
steps, each tried only if the resource is still invalid, and keeps the repair only if the
resource then validates:

1. an incomplete narrative (``text`` without ``div`` or ``status``), in the resource or its
   contained resources, is left out;
2. a required administrative element that is missing -- who provides, insures or pays, a
   claim's priority, which coverage pays (:data:`ADMINISTRATIVE`) -- is given FHIR's
   ``data-absent-reason`` extension (``unknown``) in its place, as FHIR intends for a required
   element the source does not know;
3. the resource's metadata (``meta``, ``language``, ``implicitRules``) is left out.

A resource still invalid after these is skipped (``_tolerance``); a clinical element is never
changed. The notes count each repair by type and element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from healthlocker.errors import ValidationError

DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# Required elements that say nothing clinical, per type: given as absent when the source
# leaves them out. "insurance" is a list whose items each need a "coverage".
ADMINISTRATIVE: dict[str, tuple[str, ...]] = {
    "Claim": ("provider", "priority", "insurance"),
    "ClaimResponse": ("insurer",),
    "ExplanationOfBenefit": ("provider", "insurer", "insurance"),
}
METADATA = ("meta", "language", "implicitRules")

Step = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


def repaired(
    resource: Any,
    where: str,
    counts: dict[str, int],
    check: Callable[[Any, str], object] | None = None,
) -> Any:
    """*resource* if it is valid FHIR R4 (by *check*, a faster equivalent of the store's
    validation, if given); else it repaired, if that makes it valid (*counts* says how); else
    the ValidationError of what no repair may change (the one left after the repairs)."""
    from healthlocker.store import validate_resource

    try:
        if check is None:
            validate_resource(resource, where=where)
        else:
            check(resource, where)
        return resource
    except ValidationError as exc:
        if not isinstance(resource, dict):
            raise
        left = exc
    fixed, done = resource, []
    for step in (_narrative, _administrative, _metadata):
        fixed, did = step(fixed)
        if not did:
            continue
        done += did
        try:
            rtype = validate_resource(fixed, where=where)
        except ValidationError as exc:
            left = exc
            continue
        for what in sorted(set(done)):
            key = f"{rtype} {what} (not clinical data)"
            counts[key] = counts.get(key, 0) + 1
        return fixed
    raise left


def _each(
    resource: dict[str, Any], change: Callable[[dict[str, Any]], list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of *resource* with *change* made to it and to its contained resources."""
    fixed = dict(resource)
    did = change(fixed)
    contained = fixed.get("contained")
    if isinstance(contained, list):
        fixed["contained"] = [dict(c) if isinstance(c, dict) else c for c in contained]
        for c in fixed["contained"]:
            if isinstance(c, dict):
                did += change(c)
    return fixed, did


def _narrative(resource: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    def change(node: dict[str, Any]) -> list[str]:
        text = node.get("text")
        if "text" not in node or (
            isinstance(text, dict)
            and isinstance(text.get("div"), str)
            and isinstance(text.get("status"), str)
        ):
            return []
        del node["text"]
        return ["text (a narrative with no div or status) left out"]

    return _each(resource, change)


def _administrative(resource: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    def change(node: dict[str, Any]) -> list[str]:
        did = []
        for name in ADMINISTRATIVE.get(str(node.get("resourceType")), ()):
            if name == "insurance":
                did += _insurance(node)
            elif name not in node:
                node[name] = _absent()
                did.append(f"{name} (missing) given as unknown")
        return did

    return _each(resource, change)


def _insurance(node: dict[str, Any]) -> list[str]:
    items = node.get("insurance")
    if not items:
        node["insurance"] = [{"sequence": 1, "focal": True, "coverage": _absent()}]
        return ["insurance (missing) given as unknown"]
    if not isinstance(items, list):
        return []
    did = []
    node["insurance"] = [dict(i) if isinstance(i, dict) else i for i in items]
    for item in node["insurance"]:
        if isinstance(item, dict) and "coverage" not in item:
            item["coverage"] = _absent()
            did.append("insurance.coverage (missing) given as unknown")
    return did


def _metadata(resource: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    def change(node: dict[str, Any]) -> list[str]:
        gone = [name for name in METADATA if name in node]
        for name in gone:
            del node[name]
        return [f"{name} left out" for name in gone]

    return _each(resource, change)


def _absent() -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}
