"""Fetching one patient's record from a FHIR API and storing it as one atomic batch.

First sync: ``Patient/[id]/$everything`` when the CapabilityStatement offers it, the granted
scopes cover every type and the API is not known to refuse it; else the Patient and, per
patient-compartment type, the searches ``_recipes.plan`` chooses. Later syncs: the same
searches with ``_lastUpdated=ge[cursor]``, the cursor being the server's clock when the
previous successful sync began. Every search pages with ``_count`` and follows ``next`` links
(checked against the approved origin by :class:`FhirHttp`); a ``next`` link the server no
longer honours (an expired paging session) makes us ask that search again from its first page.

A server's refusal of one search (400, 403, …) is recorded in that type's outcome and the sync
goes on. Everything fetched is held until the sync has finished, then validated and stored by
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

from healthlocker.connectors._documents import with_text
from healthlocker.connectors.smart._answers import Refusal
from healthlocker.connectors.smart._http import FhirHttp, Stats
from healthlocker.connectors.smart._outcomes import SearchOutcome, TypeOutcome, notes
from healthlocker.connectors.smart._recipes import (
    FALLBACK_STATUSES,
    Capabilities,
    Rules,
    TypePlan,
    plan,
    query_text,
)
from healthlocker.connectors.smart._scopes import Grants, Query
from healthlocker.errors import LimitError, SyncError
from healthlocker.people import Placed, Placement
from healthlocker.store import BatchResult, Item, Vault

MAX_RESOURCES = 500_000
MAX_PAGES = 20_000
MAX_RESTARTS = 2  # times one search is asked again after its next link stopped working
DEFAULT_PAGE_SIZE = 100
KIND = "smart-on-fhir"

Progress = Callable[[str, int, int | None], None]  # (what, fetched, total if known)


@dataclass
class SyncResult:
    name: str
    strategy: str  # "everything" or "search"
    incremental: bool
    fetched: dict[str, int] = field(default_factory=dict)  # distinct resources per type
    types: dict[str, TypeOutcome] = field(default_factory=dict)  # what came of each type
    batch: BatchResult | None = None
    people: list[Placed] = field(default_factory=list)  # whom the records fetched are about
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

    def public(self) -> dict[str, Any]:
        """The machine-readable summary `sync --json` prints (no tokens, no patient id)."""
        return {
            "name": self.name,
            "ok": True,
            "strategy": self.strategy,
            "incremental": self.incremental,
            "fetched": self.fetched,
            "types": {rtype: outcome.public() for rtype, outcome in self.types.items()},
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "requests": self.stats.requests,
            "retries": self.stats.retries,
            "token_refreshes": self.stats.refreshes,
            "seconds": round(self.elapsed, 3),
        }

    def notes(self) -> list[str]:
        """What this sync did not fetch, one line each (see ``_outcomes.notes``); whom its
        records are about when that is not the owner."""
        return notes(self.types) + [p.note for p in self.people if p.note]


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
    def __init__(self, name: str) -> None:
        self.name = name
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.fetched: dict[str, int] = {}
        self.pages = 0

    def page(self) -> None:
        self.pages += 1
        if self.pages > MAX_PAGES:
            raise LimitError(f"{self.name}: over {MAX_PAGES:,} pages in one sync")

    def add(self, resource: dict[str, Any]) -> None:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
            raise SyncError(f"{self.name}: the server sent a resource without type or id")
        if (rtype, rid) not in self.resources:
            self.fetched[rtype] = self.fetched.get(rtype, 0) + 1
        self.resources[(rtype, rid)] = resource
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
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        if mode == "outcome" or resource.get("resourceType") == "OperationOutcome":
            continue
        yield resource


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


@dataclass
class _Run:
    resources: int = 0
    refusal: Refusal | None = None
    on_first_page: bool = True


class _Fetcher:
    """Runs searches (every page of each) into one collector."""

    def __init__(
        self,
        http: FhirHttp,
        collector: _Collector,
        *,
        patient: str,
        since: dict[str, str],
        count: str,
        progress: Progress | None,
    ) -> None:
        self.http = http
        self.collector = collector
        self.patient = patient
        self.since = since
        self.count = count
        self.progress = progress

    def _run(self, ref: str, params: dict[str, str], label: str) -> _Run:
        run = _Run()
        url: str | None = ref
        query: dict[str, str] | None = params
        while url is not None:
            self.collector.page()
            found = self.http.fetch(url, query, what=label)
            if isinstance(found, Refusal):
                run.refusal = found
                return run
            bundle, _ = found
            query = None  # a next link carries its own query
            if bundle.get("resourceType") != "Bundle":
                raise SyncError(f"{label}: the server's answer is not a Bundle")
            total = bundle.get("total") if isinstance(bundle.get("total"), int) else None
            for resource in _entries(bundle, label):
                self.collector.add(resource)
                run.resources += 1
            if self.progress is not None:
                self.progress(label, run.resources, total)
            run.on_first_page = False
            url = _next_link(bundle)
        return run

    def search(self, ref: str, params: dict[str, str], label: str, query: str) -> SearchOutcome:
        """Every page of one search; asked again from the start if a next link fails."""
        outcome = SearchOutcome(query)
        why = ""
        for _ in range(MAX_RESTARTS + 1):
            run = self._run(ref, params, label)
            outcome.resources = run.resources
            if run.refusal is None:
                return outcome
            if run.on_first_page:
                outcome.refused, outcome.status = run.refusal.why, run.refusal.status
                return outcome
            outcome.restarts += 1  # the server stopped honouring its own next link
            why = run.refusal.why
        raise SyncError(
            f"{label}: the server's next links stopped working {outcome.restarts} times "
            f"({why}); nothing of this sync is stored, try again"
        )

    def search_type(self, rtype: str, param: str, query: Query) -> SearchOutcome:
        params = {param: self.patient, **dict(query), "_count": self.count, **self.since}
        label = " ".join([rtype, *(v.rsplit("|", 1)[-1] for _, v in query)])
        return self.search(rtype, params, label, query_text(query))

    def fetch_type(self, chosen: TypePlan) -> TypeOutcome:
        rtype = chosen.rtype
        searches = [self.search_type(rtype, chosen.param, q) for q in chosen.queries]
        why = chosen.how
        first = searches[0]
        if chosen.fallback and len(searches) == 1 and first.status in FALLBACK_STATUSES:
            why = f"asked by category: the server refused a plain search ({first.refused})"
            searches += [self.search_type(rtype, chosen.param, q) for q in chosen.fallback]
        answered = [s for s in searches if s.refused is None]
        refused = next((s.refused for s in reversed(searches) if s.refused), None)
        return TypeOutcome(
            rtype,
            "fetched" if answered else "refused",
            resources=self.collector.fetched.get(rtype, 0),
            why=why if answered else refused,
            searches=searches,
        )

    def fetch_patient(self, grants: Grants) -> TypeOutcome:
        access = grants.access("Patient")
        if access.search:
            params = {"_id": self.patient, **self.since}
            searches = [self.search("Patient", params, "Patient", f"_id={self.patient}")]
        elif access.read:
            found = self.http.fetch(f"Patient/{self.patient}", what="Patient")
            if isinstance(found, Refusal):
                searches = [SearchOutcome("read", refused=found.why, status=found.status)]
            else:
                self.collector.add(found[0])
                searches = [SearchOutcome("read", resources=1)]
        else:
            return TypeOutcome("Patient", "not-granted", why="the granted scopes do not cover it")
        searches[0].query = searches[0].query.replace(self.patient, "[patient]")
        refused = searches[0].refused
        outcome = "refused" if refused else "fetched"
        resources = self.collector.fetched.get("Patient", 0)
        return TypeOutcome("Patient", outcome, resources, refused, searches)

    def everything(self) -> SearchOutcome:
        ref = f"Patient/{self.patient}/$everything"
        return self.search(ref, {"_count": self.count}, "Patient", "$everything")


def _everything_outcomes(collector: _Collector) -> dict[str, TypeOutcome]:
    return {
        rtype: TypeOutcome(rtype, "fetched", n, why="from $everything")
        for rtype, n in collector.fetched.items()
    }


def fetch_and_store(
    vault: Vault,
    http: FhirHttp,
    *,
    name: str,
    patient: str,
    cursor: str | None,
    grants: Grants | None = None,
    rules: Rules | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    use_everything: bool = True,
    progress: Progress | None = None,
) -> SyncResult:
    """One sync: fetch what is new for *patient*, store it as one batch; raise on any failure."""
    started = time.perf_counter()
    grants = grants or Grants(())
    rules = rules or Rules()
    statement, headers = http.get_json("metadata", what="metadata")
    if statement.get("resourceType") != "CapabilityStatement":
        raise SyncError(f"{name}: the server's /metadata is not a CapabilityStatement")
    server_now = _server_time(headers)
    caps = Capabilities.of(statement)
    collector = _Collector(name)
    since = {"_lastUpdated": f"ge{cursor}"} if cursor else {}
    fetcher = _Fetcher(
        http, collector, patient=patient, since=since, count=str(page_size), progress=progress
    )
    everything = (
        use_everything and caps.everything and cursor is None and rules.everything
    ) and grants.everything
    types: dict[str, TypeOutcome] = {}
    if everything and fetcher.everything().refused is None:
        types = _everything_outcomes(collector)
    else:
        everything = False
        types["Patient"] = fetcher.fetch_patient(grants)
        plans, skipped = plan(caps, grants, rules)
        types |= {t.rtype: t for t in skipped}
        types |= {p.rtype: fetcher.fetch_type(p) for p in plans}
    result = SyncResult(name, "everything" if everything else "search", cursor is not None)
    if collector.resources:
        # A sync cannot ask whose records these are: someone unclear is a person of their own.
        placement = Placement(vault, label=name, refuse=False)
        result.batch = vault.import_batch(
            placement.wrap(with_text(collector.items())),
            source=name,
            kind=KIND,
            name=f"sync {server_now.isoformat(timespec='seconds')}",
            file_digest=collector.digest(),
            on_publish=placement.save,
        )
        result.people = placement.placed
    result.fetched = dict(sorted(collector.fetched.items()))
    result.types = dict(sorted(types.items()))
    result.cursor = server_now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result.stats = http.stats
    result.elapsed = time.perf_counter() - started
    return result
