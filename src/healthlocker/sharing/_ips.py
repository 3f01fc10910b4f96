"""What a share holds: an International Patient Summary built from the vault, or every record
of the types chosen, as one FHIR Bundle.

The summary is an IPS-shaped ``document`` Bundle: a Composition (LOINC 60591-5, "Patient
summary Document") first, then the person's Patient and the resources its sections list --
allergies, medications, problems, immunizations and recent results, chosen by the same
``records`` functions the tools answer with (active medications and allergies, active
problems, every immunization, the lab results of the year up to the newest). Every entry is
named by a ``urn:uuid:`` made from its stored Type/id; references between entries point at
those.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from healthlocker.errors import ShareError
from healthlocker.records import (
    Scope,
    SourceRef,
    get_meds,
    list_conditions,
    list_immunizations,
    list_labs,
)
from healthlocker.store import StoredResource, Vault

LOINC = "http://loinc.org"
RESULTS_DAYS = 365
MAX_RESULTS = 200
# (key, LOINC code, title): the IPS sections, in the IG's order.
SECTIONS = (
    ("allergies", "48765-2", "Allergies and intolerances"),
    ("medications", "10160-0", "Medication summary"),
    ("problems", "11450-4", "Problem list"),
    ("immunizations", "11369-6", "Immunizations"),
    ("results", "30954-2", "Results"),
)
_NAMESPACE = uuid.UUID("5b0a7c35-9f61-4d4e-8d3c-6f2f1c1de0a1")


@dataclass
class Summary:
    """A share's Bundle, and what it was made of (for the audit and ``forget``)."""

    bundle: dict[str, Any]
    records: int
    source_ids: set[str] = field(default_factory=set)


def patient_summary(vault: Vault, *, patient: str | None = None) -> Summary:
    """The International Patient Summary of one person: *patient* (a person's id or one of
    their Patient ids), by default the vault's owner, as tools answer (``healthlocker.people``);
    never two people's records together."""
    person = Scope.for_tool(vault, patient=patient)
    who = person.patient
    meds = get_meds(person)
    chosen: dict[str, list[SourceRef]] = {
        "allergies": [a.source for a in meds.allergies],
        "medications": [m.source for m in meds.medications],
        "problems": [c.source for c in list_conditions(person).conditions],
        "immunizations": [i.source for i in list_immunizations(person).immunizations],
        "results": _recent_results(person),
    }
    found = _Found(vault)
    sections = {key: found.take(refs) for key, refs in chosen.items()}
    if not any(sections.values()):
        raise ShareError(
            "the vault holds no allergies, medications, problems, immunizations or recent "
            "results to share; `--types` shares records of the types you name"
        )
    subject = found.patient(who)
    found.add_medications()
    composition = _composition(subject, sections, found)
    return found.bundle("document", [composition, *found.entries()], 1)


def records_of_types(
    vault: Vault, types: Iterable[str], *, since: str | None = None, patient: str | None = None
) -> Summary:
    """Every stored record of *types* (since *since*, for dated ones) about one person (as
    :func:`patient_summary` chooses them), as a collection."""
    found = _Found(vault)
    person = Scope.for_tool(vault, patient=patient)
    for rtype in dict.fromkeys(types):
        for stored in person.lookup(rtype, since=since):
            found.add(stored)
    if not found.kept:
        raise ShareError(f"the vault holds no records of the types given ({', '.join(types)})")
    return found.bundle("collection", found.entries(), 0)


def _recent_results(person: Scope) -> list[SourceRef]:
    """The lab results of the year before the newest one (recent for this record, however
    long ago its last test was)."""
    results = list_labs(person, limit=MAX_RESULTS).results
    dated = [r.date for r in results if r.date]
    if not dated:
        return [r.source for r in results]
    try:
        newest = date.fromisoformat(max(dated)[:10])
    except ValueError:  # a month or a year only
        return [r.source for r in results]
    since = (newest - timedelta(days=RESULTS_DAYS)).isoformat()
    return [r.source for r in results if (r.date or "") >= since]


class _Found:
    """The stored resources a share takes, each once, by Type/id and source."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.kept: dict[str, StoredResource] = {}
        self._by_type: dict[str, dict[tuple[str, str], StoredResource]] = {}

    def _index(self, rtype: str) -> dict[tuple[str, str], StoredResource]:
        if rtype not in self._by_type:
            self._by_type[rtype] = {(s.ref, s.source): s for s in self.vault.resources(rtype)}
        return self._by_type[rtype]

    def add(self, stored: StoredResource) -> str:
        self.kept.setdefault(stored.ref, stored)
        return full_url(stored.ref)

    def take(self, refs: list[SourceRef]) -> list[str]:
        out = []
        for ref in refs:
            stored = self._index(ref.resource.split("/")[0]).get((ref.resource, ref.origin or ""))
            if stored is not None:
                out.append(self.add(stored))
        return list(dict.fromkeys(out))

    def patient(self, who: str | None) -> str | None:
        people = self._index("Patient")
        stored = next((s for (ref, _), s in people.items() if ref == who), None)
        return None if stored is None else self.add(stored)

    def add_medications(self) -> None:
        """The Medication resources the medication entries name (what was taken)."""
        for stored in list(self.kept.values()):
            ref = (stored.resource.get("medicationReference") or {}).get("reference")
            if isinstance(ref, str) and ref.startswith("Medication/"):
                found = [s for (r, _), s in self._index("Medication").items() if r == ref]
                if found:
                    self.add(found[0])

    def entries(self) -> list[dict[str, Any]]:
        names = {ref: full_url(ref) for ref in self.kept}
        return [_renamed(copy.deepcopy(s.resource), names) for s in self.kept.values()]

    def bundle(self, kind: str, resources: list[dict[str, Any]], extra: int) -> Summary:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        bundle_id = str(uuid.uuid4())
        bundle = {
            "resourceType": "Bundle",
            "id": bundle_id,
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
            "type": kind,
            "timestamp": now,
            "entry": [
                {"fullUrl": full_url(f"{r['resourceType']}/{r['id']}"), "resource": r}
                for r in resources
            ],
        }
        return Summary(bundle, len(resources) - extra, {s.source_id for s in self.kept.values()})


def full_url(ref: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, ref)}"


def _renamed(resource: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """*resource* with its references to other entries pointing at their ``urn:uuid:``."""
    stack: list[Any] = [resource]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and ref in names:
                value["reference"] = names[ref]
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return resource


def _composition(
    person: str | None, sections: dict[str, list[str]], found: _Found
) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    author = {"reference": person} if person else {"display": "the patient, with healthlocker"}
    body: dict[str, Any] = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary"}]},
        "date": now,
        "author": [author],
        "title": "Patient summary",
        "section": [_section(key, code, title, sections[key]) for key, code, title in SECTIONS],
    }
    if person:
        body["subject"] = {"reference": person}
    return body


def _section(key: str, code: str, title: str, entries: list[str]) -> dict[str, Any]:
    count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}" if entries else "none"
    section: dict[str, Any] = {
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{title}: {count}</div>',
        },
    }
    if entries:
        section["entry"] = [{"reference": e} for e in entries]
    else:
        section["emptyReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                    "code": "unavailable",
                }
            ]
        }
    return section


def bundle_bytes(summary: Summary) -> bytes:
    return json.dumps(summary.bundle, separators=(",", ":")).encode()
