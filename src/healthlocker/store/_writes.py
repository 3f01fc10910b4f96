"""Writing resources: atomic, idempotent import batches, and forgetting a source for good."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from healthlocker.errors import SourceNotFoundError, StoreError
from healthlocker.store._crypto import random_id
from healthlocker.store._db import Database
from healthlocker.store._fhirpaths import clinical_date, index_terms
from healthlocker.store._keys import Keys
from healthlocker.store._query import Reader, month_span
from healthlocker.store._sealed import Forgetting, SealedTable
from healthlocker.store._sources import Sources, dumps, now
from healthlocker.store._types import Item
from healthlocker.store._validate import validate_resource


@dataclass
class BatchResult:
    """What one atomic batch did."""

    source: str
    name: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_file: bool = False
    already_in: str | None = None  # the source that holds the skipped file (maybe another label)
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


# The tables holding a source's rows, by the column naming the source (its index terms point
# at resources by rowid, so they go first, and its source row last).
_SOURCE_ROWS = (("resources", "source_id"), ("batches", "source_id"), ("keys", "owner"))


class Writer:
    """Every write of resources and sources; each in one transaction."""

    def __init__(self, db: Database, keys: Keys, sources: Sources, reader: Reader) -> None:
        self._db = db
        self._keys = keys
        self._sources = sources
        self._reader = reader

    def import_batch(
        self,
        items: Iterable[Item],
        *,
        source: str,
        kind: str,
        name: str,
        file_digest: bytes,
        on_item: Callable[[], None] | None = None,
        validated: bool = False,
    ) -> BatchResult:
        """Validate and store one batch atomically: all of it, or (on any error) none of it.

        A batch whose file digest any source already holds is skipped whole (the same file by
        another path or name is not a second source); a resource equal
        to the stored one is left untouched, so importing the same input twice changes nothing.
        ``validated=True`` says every item already passed :func:`validate_resource` (in a
        worker, over bytes with this very digest); then only the basics are checked here.
        """
        result = BatchResult(source=source, name=name)
        file_tag = self._keys.tag(f"file|{file_digest.hex()}")
        type_cache = dict(self._sources.type_names)
        try:
            with self._db.transaction():
                # The same content is one source, whatever the path, name or label it came by.
                held = self._db.one("SELECT source_id FROM batches WHERE file_tag = ?", (file_tag,))
                if held is not None:
                    result.skipped_file = True  # nothing written: the commit is empty
                    result.already_in = self._reader.source_label(held[0])
                    return result
                found = self._sources.find(source)
                source_id, info = found or self._sources.ensure(source, kind)
                for where, resource in items:
                    self._store_one(source_id, where, resource, result, validated)
                    if on_item is not None:
                        on_item()
                self._add_batch(source_id, file_tag, kind, result)
                self._sources.touch(source_id, info)
                self._db.resources_changed()
        except BaseException:
            self._sources.type_names = type_cache
            self._keys.drop_source_keys()
            raise
        return result

    def _add_batch(self, source_id: str, file_tag: bytes, kind: str, result: BatchResult) -> None:
        batch_id = random_id()
        body = {
            "name": result.name,
            "kind": kind,
            "at": now(),
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        self._db.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?)",
            (
                batch_id,
                source_id,
                file_tag,
                self._keys.seal_meta(dumps(body), table="batches", row=batch_id),
            ),
        )

    def _store_one(
        self,
        source_id: str,
        where: str,
        resource: dict[str, Any],
        result: BatchResult,
        validated: bool,
    ) -> None:
        rtype = resource.get("resourceType") if validated else None
        if not isinstance(rtype, str):
            rtype = validate_resource(resource, where=where)
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid:
            raise StoreError(f"{where}: the {rtype} has no id")
        keys, db = self._keys, self._db
        rkey = keys.tag(f"{rtype}/{rid}")
        body = dumps(resource)
        digest = keys.digest(body)[:16]
        row = db.one(
            "SELECT id, digest FROM resources WHERE source_id = ? AND rkey = ?", (source_id, rkey)
        )
        result.by_type[rtype] = result.by_type.get(rtype, 0) + 1
        if row is not None and row[1] == digest:
            result.unchanged += 1
            return
        type_tag = keys.term_tag(f"type|{rtype}")
        self._sources.remember_type(rtype, type_tag)
        date = clinical_date(resource)
        month_tag = (
            keys.term_tag(f"month|{rtype}|{date[:7]}") if date and month_span(date) else None
        )
        sealed = keys.seal_resource(source_id, rkey.hex(), body)
        if row is None:
            cur = db.execute(
                "INSERT INTO resources (source_id, rkey, type_tag, month_tag, digest, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (source_id, rkey, type_tag, month_tag, digest, sealed),
            )
            rowid = cur.lastrowid
            result.added += 1
        else:
            rowid = row[0]
            db.execute(
                "UPDATE resources SET type_tag = ?, month_tag = ?, digest = ?, body = ? "
                "WHERE id = ?",
                (type_tag, month_tag, digest, sealed, rowid),
            )
            db.execute("DELETE FROM resource_terms WHERE resource_id = ?", (rowid,))
            result.updated += 1
        db.executemany(
            "INSERT OR IGNORE INTO resource_terms (tag, resource_id) VALUES (?, ?)",
            [(keys.term_tag(f"{rtype}|{term}"), rowid) for term in index_terms(resource)],
        )

    def forget(self, label: str | None, tables: Iterable[SealedTable]) -> list[str]:
        """Crypto-erase one source (or all, with None), and what each table keeps of it.

        In one transaction: the source's data key, resources, index terms, batches and source
        row go, and each declared table's forget hook drops what it holds of the source (the
        audit's details, a linked API's link and tokens). Then the freed pages are scrubbed.
        A label that names neither a source nor anything a table holds is an error.
        """
        with self._db.transaction():
            if label is None:
                ids, labels = self._sources.ids(), [s.label for s in self._sources.all()]
            else:
                found = self._sources.find(label)
                ids, labels = ([found[0]], [label]) if found else ([], [])
            scope = Forgetting(label, tuple(ids))
            hooked = sum(table.forget(scope) for table in tables)
            if label is not None and not ids and not hooked:
                raise SourceNotFoundError(
                    f"no source named {label!r}; `healthlocker sources` lists them"
                )
            for source_id in ids:
                self._db.execute(
                    "DELETE FROM resource_terms WHERE resource_id IN "
                    "(SELECT id FROM resources WHERE source_id = ?)",
                    (source_id,),
                )
                for table, column in _SOURCE_ROWS:
                    self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", (source_id,))
                self._db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
            self._db.resources_changed()
        self._keys.drop_source_keys(ids)
        self._reader.reset()
        self._db.scrub()
        return labels
