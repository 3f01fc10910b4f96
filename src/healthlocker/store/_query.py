"""Reading the vault back: by resource type, by code or category, by date range.

Queries select rows through keyed blind-index tags (type, month, code), then open only those
rows. Opened resources are kept in memory for the life of the Vault object and dropped as soon
as the database changes, so a server answers repeated questions without re-decrypting. The same
fact held by several sources is read once, citing each (``_facts``), in the cached result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthlocker.store._db import Database
from healthlocker.store._facts import merge_facts
from healthlocker.store._fhirpaths import clinical_date
from healthlocker.store._keys import Keys
from healthlocker.store._sources import Sources

_MONTH = re.compile(r"^(\d{4})-(\d{2})")
# Beyond this many months, a date filter is applied after opening rather than by month tags.
_MAX_MONTH_TAGS = 600


@dataclass(frozen=True)
class StoredResource:
    """One resource as stored, with where it came from: its source's label and kind (the
    format, say ``apple-health``), and the same fact as other sources hold it (``also``)."""

    rowid: int
    source_id: str
    source: str
    resource: dict[str, Any]
    kind: str = ""
    also: tuple[StoredResource, ...] = ()

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])

    @property
    def id(self) -> str:
        return str(self.resource["id"])

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}"

    @property
    def date(self) -> str | None:
        return clinical_date(self.resource)


def month_span(value: str) -> tuple[int, int] | None:
    m = _MONTH.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return int(m.group(1)), int(m.group(2))


def _months(since: str, until: str) -> list[str] | None:
    start, end = month_span(since), month_span(until)
    if start is None or end is None:
        return None
    count = (end[0] - start[0]) * 12 + end[1] - start[1] + 1
    if count <= 0:
        return []
    if count > _MAX_MONTH_TAGS:
        return None
    out = []
    year, month = start
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


class Reader:
    """Queries over stored resources, with the caches that make repeated questions cheap."""

    def __init__(self, db: Database, keys: Keys, sources: Sources) -> None:
        self._db = db
        self._keys = keys
        self._sources = sources
        self.reset()

    def reset(self) -> None:
        """Forget every opened resource and query result (as right after opening)."""
        self._opened: dict[int, tuple[bytes, StoredResource]] = {}
        self._results: dict[tuple[Any, ...], list[StoredResource]] = {}
        self._seen_version: tuple[int, int] = (-1, -1)
        self._described: dict[str, tuple[str, str]] | None = None

    def _check_fresh(self) -> None:
        version = self._db.version()
        if version != self._seen_version:
            self._results.clear()
            self._described = None
            self._seen_version = version

    def source_label(self, source_id: str) -> str:
        return self._source(source_id)[0]

    def source_labels(self) -> dict[str, str]:
        """Source id -> label, cached until the database changes."""
        return {sid: label for sid, (label, _kind) in self._sources_described().items()}

    def _source(self, source_id: str) -> tuple[str, str]:
        return self._sources_described().get(source_id, ("?", ""))

    def _sources_described(self) -> dict[str, tuple[str, str]]:
        self._check_fresh()
        if self._described is None:
            self._described = self._sources.described()
        return self._described

    def resources(
        self,
        resource_type: str,
        *,
        terms: Iterable[str] = (),
        since: date | str | None = None,
        until: date | str | None = None,
    ) -> list[StoredResource]:
        """Resources of one type, optionally having any of *terms* and dated in [since, until].

        Terms are those of :func:`index_terms`: ``code|SYSTEM|CODE``, ``code||CODE`` or
        ``cat||CATEGORY``. With a date bound, undated resources are left out. One resource per
        type/id: where several sources hold it, the most recently imported copy wins.
        """
        self._check_fresh()
        since_s = since.isoformat() if isinstance(since, date) else since
        until_s = until.isoformat() if isinstance(until, date) else until
        term_list = tuple(sorted(set(terms)))
        key = (resource_type, term_list, since_s, until_s)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        tag = self._keys.tag
        sql = "SELECT id, source_id, rkey, digest FROM resources WHERE type_tag = ?"
        args: list[Any] = [tag(f"type|{resource_type}")]
        if since_s or until_s:
            months = _months(since_s or "1900-01", until_s or f"{date.today().year + 1}-12")
            if months is not None:
                tags = [tag(f"month|{resource_type}|{m}") for m in months]
                sql += f" AND month_tag IN ({','.join('?' * len(tags))})"
                args += tags
        if term_list:
            tags = [tag(f"{resource_type}|{t}") for t in term_list]
            sql += (
                " AND id IN (SELECT resource_id FROM resource_terms WHERE tag IN "
                f"({','.join('?' * len(tags))}))"
            )
            args += tags
        sql += " ORDER BY id DESC"
        rows = self._db.execute(sql, args).fetchall()
        out = self._open_rows(rows)
        if since_s or until_s:
            out = [r for r in out if _in_window(r.date, since_s, until_s)]
        out = merge_facts(out)
        self._results[key] = out
        return out

    def _open_rows(self, rows: list[Any]) -> list[StoredResource]:
        missing = [r[0] for r in rows if (hit := self._opened.get(r[0])) is None or hit[0] != r[3]]
        bodies: dict[int, bytes] = {}
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            bodies.update(
                self._db.execute(
                    f"SELECT id, body FROM resources WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        seen: set[bytes] = set()
        out = []
        for rowid, source_id, rkey, digest in rows:
            if rkey in seen:
                continue
            seen.add(rkey)
            if rowid in bodies:
                resource = self._open_body(source_id, rkey, bodies[rowid])
                label, kind = self._source(source_id)
                stored = StoredResource(rowid, source_id, label, resource, kind)
                self._opened[rowid] = (digest, stored)
            out.append(self._opened[rowid][1])
        return out

    def _open_body(self, source_id: str, rkey: bytes, body: bytes) -> dict[str, Any]:
        resource: dict[str, Any] = json.loads(self._keys.open_resource(source_id, rkey.hex(), body))
        return resource

    def iter_all(self) -> Iterator[dict[str, Any]]:
        """Every stored resource, decrypted, one per type/id (the newest import wins)."""
        seen: set[bytes] = set()
        for source_id, rkey, body in self._db.execute(
            "SELECT source_id, rkey, body FROM resources ORDER BY id DESC"
        ):
            if rkey in seen:
                continue
            seen.add(rkey)
            yield self._open_body(source_id, rkey, body)


def _in_window(value: str | None, since: str | None, until: str | None) -> bool:
    if not value:
        return False
    day = value[:10]
    return (since is None or day >= since[:10]) and (until is None or day <= until[:10])
