"""Fetching one patient's record from a FHIR API and storing it as one atomic batch.

First sync: ``Patient/[id]/$everything`` when the CapabilityStatement offers it, else the
Patient and a search per patient-compartment type the server supports. Later syncs: the same
searches with ``_lastUpdated=ge[cursor]``, the cursor being the server's clock when the
previous successful sync began. Every search pages with ``_count`` and follows ``next`` links
(checked against the approved origin by :class:`FhirHttp`).

Everything fetched is held until the sync has finished, then validated and stored by
``Vault.import_batch`` in one transaction: a sync that fails at any point stores nothing, and
the cursor moves only after a successful store.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from healthlocker.connectors.smart._http import FhirHttp, Stats
from healthlocker.errors import LimitError, SyncError
from healthlocker.store import BatchResult, Item, Vault

# US Core's patient-compartment types, plus what payers (Blue Button) and portals add.
COMPARTMENT_TYPES = (
    "AllergyIntolerance",
    "CarePlan",
    "CareTeam",
    "Condition",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "ExplanationOfBenefit",
    "Goal",
    "Immunization",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ServiceRequest",
    "Specimen",
    "Claim",
    "ImagingStudy",
    "MedicationAdministration",
    "Provenance",
)
_PATIENT_PARAMS = ("patient", "subject", "beneficiary")
MAX_RESOURCES = 500_000
MAX_PAGES = 20_000
DEFAULT_PAGE_SIZE = 100
KIND = "smart-on-fhir"

Progress = Callable[[str, int, int | None], None]  # (resource type, fetched, total if known)


@dataclass(frozen=True)
class Capabilities:
    everything: bool
    search: dict[str, str]  # type -> the search parameter naming the patient

    @classmethod
    def of(cls, statement: dict[str, Any]) -> Capabilities:
        everything = False
        search: dict[str, str] = {}
        for rest in statement.get("rest") or []:
            if rest.get("mode", "server") != "server":
                continue
            ops = {str(o.get("name", "")).lstrip("$") for o in rest.get("operation") or []}
            everything = everything or "everything" in ops
            for res in rest.get("resource") or []:
                rtype = res.get("type")
                codes = {i.get("code") for i in res.get("interaction") or []}
                if rtype == "Patient":
                    pops = {str(o.get("name", "")).lstrip("$") for o in res.get("operation") or []}
                    everything = everything or "everything" in pops
                if rtype not in COMPARTMENT_TYPES or (codes and "search-type" not in codes):
                    continue
                names = {p.get("name") for p in res.get("searchParam") or []}
                param = next((p for p in _PATIENT_PARAMS if p in names), None)
                if param is None and not names:
                    param = "patient"  # the statement lists no parameters; try the usual one
                if param is not None:
                    search[rtype] = param
        return cls(everything, dict(sorted(search.items())))


@dataclass
class SyncResult:
    name: str
    strategy: str  # "everything" or "search"
    incremental: bool
    fetched: dict[str, int] = field(default_factory=dict)
    batch: BatchResult | None = None
    cursor: str | None = None
    stats: Stats = field(default_factory=Stats)
    elapsed: float = 0.0

    @property
    def added(self) -> int:
        return self.batch.added if self.batch else 0

    @property
    def updated(self) -> int:
        return self.batch.updated if self.batch else 0

    @property
    def unchanged(self) -> int:
        return self.batch.unchanged if self.batch else 0


def _server_time(headers: Any) -> datetime:
    """The server's clock from its Date header (else ours, five minutes back, to be safe)."""
    try:
        when = email.utils.parsedate_to_datetime(headers.get("date"))
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return datetime.now(UTC) - timedelta(minutes=5)
    return when.astimezone(UTC)


class _Collector:
    def __init__(self, name: str, progress: Progress | None) -> None:
        self.name = name
        self.progress = progress
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.fetched: dict[str, int] = {}
        self.per_label: dict[str, int] = {}
        self.pages = 0

    def pages_of(self, http: FhirHttp, ref: str, params: dict[str, str], label: str) -> None:
        url: str | None = ref
        query: dict[str, str] | None = params
        while url is not None:
            self.pages += 1
            if self.pages > MAX_PAGES:
                raise LimitError(f"{self.name}: over {MAX_PAGES:,} pages in one sync")
            bundle, _ = http.get_json(url, query, what=label)
            query = None  # a next link carries its own query
            if bundle.get("resourceType") != "Bundle":
                raise SyncError(f"{label}: the server's answer is not a Bundle")
            total = bundle.get("total") if isinstance(bundle.get("total"), int) else None
            for resource in _entries(bundle, label):
                self.add(resource)
                self.per_label[label] = self.per_label.get(label, 0) + 1
            if self.progress is not None:
                self.progress(label, self.per_label.get(label, 0), total)
            url = _next_link(bundle)

    def add(self, resource: dict[str, Any]) -> None:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
            raise SyncError(f"{self.name}: the server sent a resource without type or id")
        self.resources[(rtype, rid)] = resource
        self.fetched[rtype] = self.fetched.get(rtype, 0) + 1
        if len(self.resources) > MAX_RESOURCES:
            raise LimitError(f"{self.name}: over {MAX_RESOURCES:,} resources in one sync")

    def items(self) -> Iterator[Item]:
        for (rtype, rid), resource in sorted(self.resources.items()):
            yield f"{self.name}: {rtype}/{rid}", resource

    def digest(self) -> bytes:
        h = hashlib.sha256(f"smart|{self.name}|".encode())
        for (rtype, rid), resource in sorted(self.resources.items()):
            h.update(f"{rtype}/{rid}\n".encode())
            h.update(json.dumps(resource, sort_keys=True, separators=(",", ":")).encode())
        return h.digest()


def _entries(bundle: dict[str, Any], label: str) -> Iterator[dict[str, Any]]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise SyncError(f"{label}: Bundle.entry is not a list")
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        mode = (entry.get("search") or {}).get("mode")
        if mode == "outcome" or resource.get("resourceType") == "OperationOutcome":
            continue
        yield resource


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def fetch_and_store(
    vault: Vault,
    http: FhirHttp,
    *,
    name: str,
    patient: str,
    cursor: str | None,
    page_size: int = DEFAULT_PAGE_SIZE,
    use_everything: bool = True,
    progress: Progress | None = None,
) -> SyncResult:
    """One sync: fetch what is new for *patient*, store it as one batch; raise on any failure."""
    started = time.perf_counter()
    statement, headers = http.get_json("metadata", what="metadata")
    if statement.get("resourceType") != "CapabilityStatement":
        raise SyncError(f"{name}: the server's /metadata is not a CapabilityStatement")
    server_now = _server_time(headers)
    caps = Capabilities.of(statement)
    collector = _Collector(name, progress)
    count = str(page_size)
    everything = use_everything and caps.everything and cursor is None
    result = SyncResult(name, "everything" if everything else "search", cursor is not None)
    if everything:
        collector.pages_of(http, f"Patient/{patient}/$everything", {"_count": count}, "Patient")
    else:
        since = {"_lastUpdated": f"ge{cursor}"} if cursor else {}
        collector.pages_of(http, "Patient", {"_id": patient, **since}, "Patient")
        for rtype, param in caps.search.items():
            query = {param: patient, "_count": count, **since}
            collector.pages_of(http, rtype, query, rtype)
    if collector.resources:
        result.batch = vault.import_batch(
            collector.items(),
            source=name,
            kind=KIND,
            name=f"sync {server_now.isoformat(timespec='seconds')}",
            file_digest=collector.digest(),
        )
    result.fetched = dict(sorted(collector.fetched.items()))
    result.cursor = server_now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result.stats = http.stats
    result.elapsed = time.perf_counter() - started
    return result
