"""Reading the vault back: by resource type, by code or category, by date range.

Queries select rows through keyed blind-index tags (type, month, code), then open only those
rows. Opened resources are kept in memory for the life of the Vault object and dropped as soon
as the database changes, so a server answers repeated questions without re-decrypting.

Before the first query of a type (again after any import or forget), every source's rows of
that type are checked against the source's manifest, and the sources against the state record;
before the first query of a term, which rows of the type carry it. A row deleted, added,
relabelled or written back, or a term removed, added or moved, makes the read fail with
IntegrityError rather than answer with less, or older, than was stored (see ``_manifest``).
The same fact held by several sources is read once, citing each (``_facts``), in the cached
result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthlocker.errors import IntegrityError
from healthlocker.store._db import Database
from healthlocker.store._facts import merge_facts
from healthlocker.store._fhirpaths import clinical_date
from healthlocker.store._keys import Keys, resource_place
from healthlocker.store._manifest import add_up, rows_mac, term_rows
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
        """Forget every opened resource, query result and check (as right after opening)."""
        self._opened: dict[int, tuple[bytes, StoredResource]] = {}
        self._results: dict[tuple[Any, ...], list[StoredResource]] = {}
        self._seen_version: tuple[int, int] = (-1, -1)
        self._infos: dict[str, dict[str, Any]] | None = None
        self._labels: dict[str, str] = {}
        self._checked: set[bytes] = set()

    def _check_fresh(self) -> None:
        version = self._db.version()
        if version != self._seen_version:
            self._results.clear()
            self._infos = None
            self._labels = {}
            self._checked = set()
            self._seen_version = version

    def _source_infos(self) -> dict[str, dict[str, Any]]:
        """Each source's description and manifest, checked against the state record."""
        self._check_fresh()
        if self._infos is None:
            with self._db.snapshot():  # the record and the source rows of one moment
                self._infos = self._sources.verified()
            self._labels = {sid: info["label"] for sid, info in self._infos.items()}
        return self._infos

    def source_label(self, source_id: str) -> str:
        return self.source_labels().get(source_id, "?")

    def source_labels(self) -> dict[str, str]:
        """Source id -> label, cached until the database changes."""
        self._source_infos()
        return self._labels

    def check_type(self, type_tag: bytes) -> None:
        """IntegrityError unless every source's rows of this type are exactly those its
        manifest vouches for (checked once per version of the vault)."""
        infos = self._source_infos()
        if type_tag in self._checked:
            return
        hexed = type_tag.hex()
        expected = {
            sid: info["types"][hexed][:2] for sid, info in infos.items() if hexed in info["types"]
        }
        counts = dict(
            self._db.execute(
                "SELECT source_id, count(*) FROM resources WHERE type_tag = ? GROUP BY source_id",
                (type_tag,),
            ).fetchall()
        )
        for source_id in set(counts) | set(expected):
            want = expected.get(source_id)
            if (
                want is None
                or counts.get(source_id, 0) != want[0]
                or rows_mac(self._db, self._keys, source_id, type_tag) != want
            ):
                raise _tampered()
        self._checked.add(type_tag)

    def check_terms(self, type_tag: bytes, term_tags: Iterable[bytes]) -> None:
        """IntegrityError unless the rows of this type that carry each term are those the
        manifests say (once per term and version)."""
        manifests = [info["types"].get(type_tag.hex()) for info in self._source_infos().values()]
        for term_tag in term_tags:
            if term_tag in self._checked:
                continue
            hexed = term_tag.hex()
            want = add_up(m[2][hexed] for m in manifests if m and hexed in m[2])
            if term_rows(self._db, self._keys, term_tag, type_tag) != want:
                raise _tampered()
            self._checked.add(term_tag)

    def check_all(self) -> None:
        """:meth:`check_type` for every type any source or row names."""
        with self._db.snapshot():
            infos = self._source_infos()
            tags = {bytes.fromhex(t) for info in infos.values() for t in info["types"]}
            tags |= {r[0] for r in self._db.execute("SELECT DISTINCT type_tag FROM resources")}
            for tag in sorted(tags):
                self.check_type(tag)

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
        key = (resource_type, tuple(sorted(set(terms))), _iso(since), _iso(until))
        cached = self._results.get(key)
        if cached is not None:
            return cached
        with self._db.snapshot():  # the checks and the rows of one moment
            return self._resources(resource_type, terms, since, until)

    def _resources(
        self,
        resource_type: str,
        terms: Iterable[str],
        since: date | str | None,
        until: date | str | None,
    ) -> list[StoredResource]:
        self._check_fresh()
        since_s, until_s = _iso(since), _iso(until)
        term_list = tuple(sorted(set(terms)))
        key = (resource_type, term_list, since_s, until_s)
        tag = self._keys.tag
        type_tag = tag(f"type|{resource_type}")
        self.check_type(type_tag)
        sql = "SELECT id, source_id, rkey, digest, month_tag FROM resources WHERE type_tag = ?"
        args: list[Any] = [type_tag]
        if since_s or until_s:
            months = _months(since_s or "1900-01", until_s or f"{date.today().year + 1}-12")
            if months is not None:
                tags = [tag(f"month|{resource_type}|{m}") for m in months]
                sql += f" AND month_tag IN ({','.join('?' * len(tags))})"
                args += tags
        if term_list:
            tags = [tag(f"{resource_type}|{t}") for t in term_list]
            self.check_terms(type_tag, tags)
            sql += (
                " AND id IN (SELECT resource_id FROM resource_terms WHERE tag IN "
                f"({','.join('?' * len(tags))}))"
            )
            args += tags
        sql += " ORDER BY id DESC"
        rows = self._db.execute(sql, args).fetchall()
        out = self._open_rows(rows, resource_type, type_tag)
        if since_s or until_s:
            out = [r for r in out if _in_window(r.date, since_s, until_s)]
        out = merge_facts(out)
        self._results[key] = out
        return out

    def _open_rows(self, rows: list[Any], rtype: str, type_tag: bytes) -> list[StoredResource]:
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
        seen: set[str] = set()
        out = []
        infos = self._source_infos()
        for rowid, source_id, rkey, digest, month_tag in rows:
            if rowid in bodies:
                place = resource_place(source_id, rkey, type_tag, month_tag, digest)
                resource = self._open_body(source_id, place, bodies[rowid], rtype)
                label, kind = _described(infos.get(source_id))
                stored = StoredResource(rowid, source_id, label, resource, kind)
                self._opened[rowid] = (digest, stored)
            found = self._opened[rowid][1]
            if found.id not in seen:  # the newest copy of a type/id held by several sources
                seen.add(found.id)
                out.append(found)
        return out

    def _open_body(
        self, source_id: str, place: dict[str, str], body: bytes, rtype: str | None
    ) -> dict[str, Any]:
        resource: dict[str, Any] = json.loads(self._keys.open_resource(source_id, place, body))
        if rtype is not None and resource.get("resourceType") != rtype:
            raise IntegrityError("a stored record is not of the type it is filed under")
        return resource

    def iter_all(self) -> Iterator[dict[str, Any]]:
        """Every stored resource, decrypted, one per type/id (the newest import wins)."""
        self.check_all()
        seen: set[tuple[bytes, str]] = set()
        for source_id, rkey, type_tag, month_tag, digest, body in self._db.execute(
            "SELECT source_id, rkey, type_tag, month_tag, digest, body FROM resources "
            "ORDER BY id DESC"
        ):
            place = resource_place(source_id, rkey, type_tag, month_tag, digest)
            resource = self._open_body(source_id, place, body, None)
            if self._keys.term_tag(f"type|{resource.get('resourceType')}") != type_tag:
                raise IntegrityError("a stored record is not of the type it is filed under")
            if (type_tag, str(resource.get("id"))) not in seen:
                seen.add((type_tag, str(resource.get("id"))))
                yield resource


def _iso(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _tampered() -> IntegrityError:
    return IntegrityError(
        "stored records failed their integrity check: rows were deleted, added, relabelled or "
        "written back; run `healthlocker verify`"
    )


def _described(info: dict[str, Any] | None) -> tuple[str, str]:
    """A source's (label, kind): the kind is its format, say ``apple-health``."""
    return ("?", "") if info is None else (str(info["label"]), str(info.get("kind", "")))


def _in_window(value: str | None, since: str | None, until: str | None) -> bool:
    if not value:
        return False
    day = value[:10]
    return (since is None or day >= since[:10]) and (until is None or day <= until[:10])
