"""Fetching one patient's record from a FHIR API and storing it as one atomic batch.

First sync: ``Patient/[id]/$everything`` when the CapabilityStatement offers it, the granted
scopes cover every type and the API is not known to refuse it; else the Patient and, per
patient-compartment type, the searches ``_recipes.plan`` chooses. Later syncs: the same
searches with ``_lastUpdated=ge[cursor]``, the cursor being the server's clock when the
previous successful sync began. Every search pages with ``_count`` and follows ``next`` links
(checked against the approved origin by :class:`FhirHttp`); a ``next`` link the server no
longer honours (an expired paging session) makes us ask that search again from its first page.

A server's refusal of one search (400, 403, …) is recorded in that type's outcome and the sync
goes on. The fetching is the item generator of one ``Vault.import_batch``: each resource is
validated and staged as its page comes (a document given by ``url`` fetched first, see
``_attachments``), nothing held in memory, and the whole moved in by one transaction at the
end: a sync that fails at any point stores nothing, and the cursor moves only after the batch
is in. The store keeps a resource two searches return once (the last copy) and counts each
type's distinct resources. No batch digest: the content is known only at the end (see
docs/connect.md), so a sync is never skipped as "imported already".
"""

from __future__ import annotations

import email.utils
import itertools
import os
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from healthlocker.connectors._documents import with_text
from healthlocker.connectors.smart._answers import Refusal
from healthlocker.connectors.smart._attachments import Attachments
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
    attachments: dict[str, int] = field(default_factory=dict)  # url-only documents: outcomes
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
            **({"attachments": self.attachments} if self.attachments else {}),
            "requests": self.stats.requests,
            "retries": self.stats.retries,
            "token_refreshes": self.stats.refreshes,
            "seconds": round(self.elapsed, 3),
        }

    def notes(self) -> list[str]:
        """What this sync did not fetch, one line each (see ``_outcomes.notes``); whom its
        records are about when that is not the owner; what came of documents given by url
        when some were not fetched."""
        lines = notes(self.types) + [p.note for p in self.people if p.note]
        if set(self.attachments) - {"fetched"}:
            said = ", ".join(f"{n} {what}" for what, n in self.attachments.items())
            lines.append(f"documents given by url: {said} (those not fetched kept as given)")
        return lines


def _server_time(headers: Any) -> datetime:
    """The server's clock from its Date header (else ours, five minutes back, to be safe)."""
    try:
        when = email.utils.parsedate_to_datetime(headers.get("date"))
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return datetime.now(UTC) - timedelta(minutes=5)
    return when.astimezone(UTC)


class _Counter:
    """The sync's caps, counted as pages and resources arrive (nothing is held here)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.resources = 0
        self.pages = 0

    def page(self) -> None:
        self.pages += 1
        if self.pages > MAX_PAGES:
            raise LimitError(f"{self.name}: over {MAX_PAGES:,} pages in one sync")

    def item(self, resource: dict[str, Any]) -> Item:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
            raise SyncError(f"{self.name}: the server sent a resource without type or id")
        self.resources += 1
        if self.resources > MAX_RESOURCES:
            raise LimitError(f"{self.name}: over {MAX_RESOURCES:,} resources in one sync")
        return f"{self.name}: {rtype}/{rid}", resource


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


Fetching = Generator[Item, None, TypeOutcome]  # yields items as they come; returns the outcome


class _Fetcher:
    """Runs searches (every page of each), yielding each resource as its page comes in."""

    def __init__(
        self,
        http: FhirHttp,
        counter: _Counter,
        *,
        patient: str,
        since: dict[str, str],
        count: str,
        progress: Progress | None,
    ) -> None:
        self.http = http
        self.counter = counter
        self.patient = patient
        self.since = since
        self.count = count
        self.progress = progress
        self.attachments = Attachments(http)

    def _run(self, ref: str, params: dict[str, str], label: str) -> Generator[Item, None, _Run]:
        run = _Run()
        url: str | None = ref
        query: dict[str, str] | None = params
        while url is not None:
            self.counter.page()
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
                yield self._item(resource)
                run.resources += 1
            if self.progress is not None:
                self.progress(label, run.resources, total)
            run.on_first_page = False
            url = _next_link(bundle)
        return run

    def _item(self, resource: dict[str, Any]) -> Item:
        item = self.counter.item(resource)
        self.attachments.fill(resource)
        return item

    def search(
        self, ref: str, params: dict[str, str], label: str, query: str
    ) -> Generator[Item, None, SearchOutcome]:
        """Every page of one search; asked again from the start if a next link fails (what
        the first run yielded comes again: the store keeps each resource once, the last copy)."""
        outcome = SearchOutcome(query)
        why = ""
        for _ in range(MAX_RESTARTS + 1):
            run = yield from self._run(ref, params, label)
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

    def search_type(
        self, rtype: str, param: str, query: Query
    ) -> Generator[Item, None, SearchOutcome]:
        params = {param: self.patient, **dict(query), "_count": self.count, **self.since}
        label = " ".join([rtype, *(v.rsplit("|", 1)[-1] for _, v in query)])
        return (yield from self.search(rtype, params, label, query_text(query)))

    def fetch_type(self, chosen: TypePlan) -> Fetching:
        rtype = chosen.rtype
        searches = []
        for q in chosen.queries:
            searches.append((yield from self.search_type(rtype, chosen.param, q)))
        why = chosen.how
        first = searches[0]
        if chosen.fallback and len(searches) == 1 and first.status in FALLBACK_STATUSES:
            why = f"asked by category: the server refused a plain search ({first.refused})"
            for q in chosen.fallback:
                searches.append((yield from self.search_type(rtype, chosen.param, q)))
        answered = [s for s in searches if s.refused is None]
        refused = next((s.refused for s in reversed(searches) if s.refused), None)
        return TypeOutcome(
            rtype,
            "fetched" if answered else "refused",
            why=why if answered else refused,
            searches=searches,
        )

    def fetch_patient(self, grants: Grants) -> Fetching:
        access = grants.access("Patient")
        if access.search:
            params = {"_id": self.patient, **self.since}
            search = yield from self.search("Patient", params, "Patient", f"_id={self.patient}")
            searches = [search]
        elif access.read:
            found = self.http.fetch(f"Patient/{self.patient}", what="Patient")
            if isinstance(found, Refusal):
                searches = [SearchOutcome("read", refused=found.why, status=found.status)]
            else:
                yield self._item(found[0])
                searches = [SearchOutcome("read", resources=1)]
        else:
            return TypeOutcome("Patient", "not-granted", why="the granted scopes do not cover it")
        searches[0].query = searches[0].query.replace(self.patient, "[patient]")
        refused = searches[0].refused
        return TypeOutcome("Patient", "refused" if refused else "fetched", 0, refused, searches)

    def everything(self) -> Generator[Item, None, SearchOutcome]:
        ref = f"Patient/{self.patient}/$everything"
        return (yield from self.search(ref, {"_count": self.count}, "Patient", "$everything"))

    def record(
        self, caps: Capabilities, grants: Grants, rules: Rules, everything: bool
    ) -> Generator[Item, None, dict[str, TypeOutcome] | None]:
        """Every resource of the record; the outcome per type (None: by ``$everything``)."""
        if everything:
            search = yield from self.everything()
            if search.refused is None:
                return None
        types = {"Patient": (yield from self.fetch_patient(grants))}
        plans, skipped = plan(caps, grants, rules)
        types |= {t.rtype: t for t in skipped}
        for chosen in plans:
            types[chosen.rtype] = yield from self.fetch_type(chosen)
        return types


def _counted(
    types: dict[str, TypeOutcome] | None, fetched: dict[str, int]
) -> dict[str, TypeOutcome]:
    """Each type's outcome with its count of distinct resources stored (or seen unchanged)."""
    if types is None:  # $everything
        return {
            rtype: TypeOutcome(rtype, "fetched", n, why="from $everything")
            for rtype, n in fetched.items()
        }
    for rtype, outcome in types.items():
        outcome.resources = fetched.get(rtype, 0)
    return types


class _Outcome:
    """What the record generator returned, once it has run to its end."""

    types: dict[str, TypeOutcome] | None = None

    def drain(self, source: Generator[Item, None, dict[str, TypeOutcome] | None]) -> Iterator[Item]:
        self.types = yield from source


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
    """One sync: fetch what is new for *patient*, store it as one batch; raise on any failure.

    The fetching is the batch's item generator: each page is validated and staged as it comes,
    the whole moved in at the end (see the module's doc)."""
    started = time.perf_counter()
    grants = grants or Grants(())
    rules = rules or Rules()
    statement, headers = http.get_json("metadata", what="metadata")
    if statement.get("resourceType") != "CapabilityStatement":
        raise SyncError(f"{name}: the server's /metadata is not a CapabilityStatement")
    server_now = _server_time(headers)
    caps = Capabilities.of(statement)
    since = {"_lastUpdated": f"ge{cursor}"} if cursor else {}
    fetcher = _Fetcher(
        http, _Counter(name), patient=patient, since=since, count=str(page_size), progress=progress
    )
    everything = (
        use_everything and caps.everything and cursor is None and rules.everything
    ) and grants.everything
    outcome = _Outcome()
    items = outcome.drain(fetcher.record(caps, grants, rules, everything))
    first = next(items, None)  # nothing at all: no batch (and no source made for nothing)
    result = SyncResult(name, "search", cursor is not None)
    if first is not None:
        # A sync cannot ask whose records these are: someone unclear is a person of their own.
        placement = Placement(vault, label=name, refuse=False)
        result.batch = vault.import_batch(
            placement.wrap(with_text(itertools.chain([first], items))),
            source=name,
            kind=KIND,
            name=f"sync {server_now.isoformat(timespec='seconds')}",
            file_digest=os.urandom(32),  # never "imported already": see docs/connect.md
            on_publish=placement.save,
        )
        result.people = placement.placed
    fetched = dict(sorted(result.batch.by_type.items())) if result.batch else {}
    result.strategy = "everything" if outcome.types is None else "search"
    result.fetched = fetched
    result.types = dict(sorted(_counted(outcome.types, fetched).items()))
    result.attachments = dict(sorted(fetcher.attachments.outcomes.items()))
    result.cursor = server_now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result.stats = http.stats
    result.elapsed = time.perf_counter() - started
    return result
