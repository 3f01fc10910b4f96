"""Writing resources: atomic, idempotent import batches, and forgetting a source for good."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthlocker.errors import IntegrityError, SourceNotFoundError, StoreError
from healthlocker.store._crypto import random_id
from healthlocker.store._db import Database
from healthlocker.store._fhirpaths import clinical_date, index_terms
from healthlocker.store._keys import Keys, resource_place
from healthlocker.store._manifest import type_manifest
from healthlocker.store._query import Reader, month_span
from healthlocker.store._sealed import Forgetting, SealedTable
from healthlocker.store._sources import Sources, dumps, now
from healthlocker.store._stage import Notice, Stage, import_lock
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
    by_type: dict[str, int] = field(default_factory=dict)  # distinct resources per type
    repeated: int = 0  # items repeating one met earlier in the batch (the last copy kept)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


# The tables holding a source's rows, by the column naming the source (its index terms point
# at resources by rowid, so they go first, and its source row last).
_SOURCE_ROWS = (("resources", "source_id"), ("batches", "source_id"), ("keys", "owner"))


@dataclass
class _Batch:
    """One import batch on its way in."""

    source_id: str
    info: dict[str, Any]
    new: bool
    stage: Stage
    result: BatchResult
    validated: bool
    types: dict[bytes, str] = field(default_factory=dict)  # type tags staged -> names


class Writer:
    """Every write of resources and sources; each in one transaction."""

    def __init__(
        self, db: Database, keys: Keys, sources: Sources, reader: Reader, folder: Path | None
    ) -> None:
        self._db = db
        self._keys = keys
        self._sources = sources
        self._reader = reader
        self._folder = folder
        self.on_wait: Notice | None = None  # told, once, when an import waits for another

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
        on_publish: Callable[[], None] | None = None,
    ) -> BatchResult:
        """Validate and store one batch atomically: all of it, or (on any error) none of it.

        A batch whose file digest any source already holds is skipped whole (the same file by
        another path or name is not a second source); a resource equal
        to the stored one is left untouched, so importing the same input twice changes nothing.
        A resource met twice in the batch is kept once (the last copy) and counted once
        (``repeated`` counts the repeats). *items* may be a generator that fetches as it goes
        (a sync): the stage's open chunk is committed before any vault transaction it starts.
        ``validated=True`` says every item already passed :func:`validate_resource` (in a
        worker, over bytes with this very digest); then only the basics are checked here.
        The batch is staged first and moved into the vault in one short transaction (see
        ``_stage``), queued behind any other import of this vault; ``on_publish`` runs inside
        that transaction, so what it writes (whom the file is about) goes in with the batch.
        """
        if self._db.in_transaction:
            raise StoreError("an import batch cannot run inside another transaction")
        result = BatchResult(source=source, name=name)
        type_cache = dict(self._sources.type_names)
        # The same content is one source, whatever the path, name or label it came by: the
        # file's tag is keyed by its content alone (one file is never held by two sources, so
        # the tag says nothing across sources; see docs/security.md).
        file_tag = self._keys.tag(f"file|{file_digest.hex()}")
        with import_lock(self._folder, self.on_wait):
            held = self._held_by(file_tag)
            if held is not None:
                result.skipped_file = True
                result.already_in = self._reader.source_label(held)
                return result
            found = self._sources.find(source)
            source_id, info = found or self._sources.plan(source, kind)
            batch = _Batch(
                source_id, info, found is None, Stage(self._db, self._folder), result, validated
            )
            try:
                for where, resource in items:
                    self._stage_one(batch, where, resource)
                    if on_item is not None:
                        on_item()
                batch.stage.finish()
                with self._db.transaction():
                    self._publish(batch, file_tag, kind)
                    if on_publish is not None:
                        on_publish()
            except BaseException:
                self._sources.type_names = type_cache
                self._keys.drop_source_keys()
                raise
            finally:
                batch.stage.close()
        return result

    def _held_by(self, file_tag: bytes) -> str | None:
        """The source holding the file with this tag, if any."""
        row = self._db.one(
            "SELECT id, source_id, body FROM batches WHERE file_tag = ?", (file_tag,)
        )
        if row is not None:  # it opens only where it was sealed: this source, this file
            self._keys.unseal_meta(
                row[2], table="batches", row=_batch_row(row[0], row[1], file_tag)
            )
        return None if row is None else str(row[1])

    def _publish(self, batch: _Batch, file_tag: bytes, kind: str) -> None:
        """Move the staged batch in, with its manifests (inside the transaction). What the new
        manifests will vouch for is checked first: a write must not launder tampering."""
        touched = batch.stage.type_tags()
        if not batch.new:
            batch.info = self._sources.verified()[batch.source_id]
            for type_tag in touched:
                held = type_manifest(self._db, self._keys, batch.source_id, type_tag)
                if held != batch.info["types"].get(type_tag.hex(), [0, held[1], {}]):
                    raise IntegrityError(
                        f"the vault's records of source {batch.info['label']!r} do not match "
                        "their manifest; nothing was imported; run `healthlocker verify`"
                    )
        for type_tag, rtype in batch.types.items():
            self._sources.remember_type(rtype, type_tag)
        batch.stage.publish(batch.source_id)
        manifests = batch.info.setdefault("types", {})
        for type_tag in touched:
            manifests[type_tag.hex()] = type_manifest(
                self._db, self._keys, batch.source_id, type_tag
            )
        self._add_batch(batch.source_id, file_tag, kind, batch.result)
        self._sources.save(batch.source_id, batch.info, new=batch.new)
        self._db.resources_changed()

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
        sealed = self._keys.seal_meta(
            dumps(body), table="batches", row=_batch_row(batch_id, source_id, file_tag)
        )
        self._db.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?)", (batch_id, source_id, file_tag, sealed)
        )

    def _stage_one(self, batch: _Batch, where: str, resource: dict[str, Any]) -> None:
        rtype = resource.get("resourceType") if batch.validated else None
        if not isinstance(rtype, str):
            rtype = validate_resource(resource, where=where)
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid:
            raise StoreError(f"{where}: the {rtype} has no id")
        keys, source_id, result = self._keys, batch.source_id, batch.result
        # Tags and digests are keyed per source: the same file under two labels looks unrelated.
        rkey = keys.tag(f"{source_id}|{rtype}/{rid}")
        body = dumps(resource)
        digest = keys.digest(source_id.encode() + b"|" + body)[:16]
        first = batch.stage.first_sight(rkey)  # a repeat is counted once, the last one kept
        if first:
            result.by_type[rtype] = result.by_type.get(rtype, 0) + 1
        else:
            result.repeated += 1
        staged = batch.stage.find(rkey)
        stored = None
        if staged is not None:
            if staged[1] == digest:
                return
        elif not batch.new:
            stored = self._db.one(
                "SELECT id, digest FROM resources WHERE source_id = ? AND rkey = ?",
                (source_id, rkey),
            )
            if stored is not None and stored[1] == digest:
                result.unchanged += first
                return
            if not first:  # its first copy matched the stored one; this one does not
                result.unchanged -= 1
                first = True
        type_tag = keys.term_tag(f"type|{rtype}")
        batch.types[type_tag] = rtype
        date = clinical_date(resource)
        month_tag = (
            keys.term_tag(f"month|{rtype}|{date[:7]}") if date and month_span(date) else None
        )
        place = resource_place(source_id, rkey, type_tag, month_tag, digest)
        row = (type_tag, month_tag, digest, keys.seal_resource(source_id, place, body))
        terms = [keys.term_tag(f"{rtype}|{term}") for term in index_terms(resource)]
        if staged is not None:
            batch.stage.replace(staged[0], row, terms)
        else:
            batch.stage.add(rkey, stored[0] if stored else None, row, terms)
            if stored is None:
                result.added += first
            else:
                result.updated += first

    def forget(self, label: str | None, tables: Iterable[SealedTable]) -> list[str]:
        """Crypto-erase one source (or all, with None), and what each table keeps of it.

        In one transaction: the source's data key, resources, index terms, batches and source
        row go, and each declared table's forget hook drops what it holds of the source (the
        audit's details, a linked API's link and tokens). Then the freed pages are scrubbed.
        A label that names neither a source nor anything a table holds is an error.
        """
        with import_lock(self._folder, self.on_wait), self._db.transaction():
            labels_by_id = self._sources.raw_labels()
            if label is None:
                ids = list(labels_by_id)
            else:
                ids = [sid for sid, name in labels_by_id.items() if name == label]
            labels = sorted(labels_by_id[sid] for sid in ids)
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
            self._sources.drop(ids)
            self._db.resources_changed()
        self._keys.drop_source_keys(ids)
        self._reader.reset()
        self._db.scrub()
        return labels


def _batch_row(batch_id: str, source_id: str, file_tag: bytes) -> str:
    """What a batch's seal is bound to: its id, its source and the tag of its file."""
    return f"{batch_id}:{source_id}:{file_tag.hex()}"
