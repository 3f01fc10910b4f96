"""``healthlocker verify``: the whole vault checked, one line per problem, no health data.

Everything a read checks lazily, checked at once and reported rather than raised: the file
(SQLite's integrity check), the state record and the counter outside the file (rollback),
every wrapped key, every source against the state record, every source's manifest of
resources against its rows and their index terms, every resource row (it opens where it lies,
and its type, blind id, month, digest and index terms follow from its content), every batch and
type name, and every sealed table against its manifest, value by value. The audit chain is the
consent package's (``consent.verify_vault`` adds it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from healthlocker.errors import HealthLockerError
from healthlocker.store._db import Database
from healthlocker.store._fhirpaths import clinical_date, index_terms
from healthlocker.store._keys import Keys, resource_place
from healthlocker.store._manifest import source_digest, table_sum, type_manifest
from healthlocker.store._query import month_span
from healthlocker.store._sealed import SealedTable
from healthlocker.store._sources import Sources
from healthlocker.store._state import State

_FAILED = (HealthLockerError, ValueError, KeyError, TypeError)


class Checker:
    def __init__(self, db: Database, keys: Keys, state: State, sources: Sources) -> None:
        self._db, self._keys, self._state, self._sources = db, keys, state, sources
        self.problems: list[str] = []
        self._labels: dict[str, str] = {}

    def run(self, tables: Iterable[SealedTable]) -> list[str]:
        self._file()
        record = self._record()
        bad = self._keys.check_all()
        self.problems += [
            f"keys: key {key_id} does not open under the master key" for key_id in bad
        ]
        infos = self._source_rows(record)
        self._manifests(infos)
        self._rows()
        self._batches()
        for table in tables:
            self._table(table, record)
        return self.problems

    def _file(self) -> None:
        found = [r[0] for r in self._db.execute("PRAGMA integrity_check")]
        if found != ["ok"]:
            self.problems.append(f"vault file: SQLite finds it damaged ({found[0][:80]})")

    def _record(self) -> dict[str, Any] | None:
        try:
            record = self._state.read()
        except HealthLockerError as exc:
            self.problems.append(f"state record: {exc}")
            return None
        counter = self._state.counter
        if counter is not None:
            seen, epoch = counter.value(), int(record["epoch"])
            if seen is not None and epoch < seen:
                self.problems.append(
                    f"rollback: the vault is at epoch {epoch} but epoch {seen} was seen here: "
                    "it was rolled back or restored from a backup (if you restored it, run "
                    "`healthlocker verify --accept-restore`)"
                )
            else:
                counter.advance(epoch)
        return record

    def _source_rows(self, record: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        want = {} if record is None else record["sources"]
        infos = {}
        for sid, label_tag, key_id, body in self._db.execute(
            "SELECT id, label_tag, key_id, body FROM sources"
        ).fetchall():
            try:
                infos[sid] = info = json.loads(
                    self._keys.unseal_meta(body, table="sources", row=sid)
                )
            except _FAILED:
                self.problems.append(f"sources: source {sid} does not open (edited or moved)")
                continue
            self._labels[sid] = name = f"source {info['label']!r}"
            if record is None:
                continue
            if sid not in want:
                self.problems.append(f"sources: {name} is not in the state record (added)")
            elif source_digest(self._keys, sid, label_tag, key_id, body) != want[sid]:
                self.problems.append(f"sources: {name} was edited or written back")
        for sid in set(want) - set(infos):
            self.problems.append(f"sources: source {sid} is gone (removed with its rows?)")
        return infos

    def _manifests(self, infos: dict[str, dict[str, Any]]) -> None:
        counts = {
            (sid, tag): n
            for sid, tag, n in self._db.execute(
                "SELECT source_id, type_tag, count(*) FROM resources GROUP BY 1, 2"
            )
        }
        expected = {
            (sid, bytes.fromhex(tag)): manifest
            for sid, info in infos.items()
            for tag, manifest in info.get("types", {}).items()
        }
        for sid, tag in sorted(set(counts) | set(expected)):
            where = f"resources: {self._sources.type_name(tag)} rows of {self._label(sid)}"
            want, held = expected.get((sid, tag)), counts.get((sid, tag), 0)
            if sid not in infos:
                self.problems.append(f"resources: {held} rows of an unknown source {sid}")
            elif want is None or held != want[0]:
                said = 0 if want is None else want[0]
                self.problems.append(
                    f"{where}: {held} held, its manifest says {said} "
                    "(rows deleted, added or relabelled)"
                )
            elif type_manifest(self._db, self._keys, sid, tag) != want:
                self.problems.append(
                    f"{where} differ from its manifest (rows written back or relabelled, "
                    "or index terms changed)"
                )

    def _label(self, source_id: str) -> str:
        return self._labels.get(source_id, f"source {source_id}")

    def _rows(self) -> None:
        terms: dict[int, set[bytes]] = {}
        for rowid, tag in self._db.execute("SELECT resource_id, tag FROM resource_terms"):
            terms.setdefault(rowid, set()).add(tag)
        bad: dict[str, int] = {}
        for rowid, sid, rkey, type_tag, month_tag, digest, body in self._db.execute(
            "SELECT id, source_id, rkey, type_tag, month_tag, digest, body FROM resources"
        ):
            where = f"resources: row {rowid} of {self._label(sid)}"
            held = terms.pop(rowid, set())
            try:
                place = resource_place(sid, rkey, type_tag, month_tag, digest)
                plain = self._keys.open_resource(sid, place, body)
                resource = json.loads(plain)
            except _FAILED:
                bad[where] = 1
                continue
            if not self._derived(resource, sid, rkey, type_tag, month_tag, digest, plain):
                self.problems.append(f"{where}: its index columns do not follow from its content")
            elif held != self._terms(resource):
                self.problems.append(f"{where}: its index terms do not follow from its content")
        self.problems += [f"{where} does not open (edited, moved or relabelled)" for where in bad]
        if terms:
            self.problems.append(f"resources: {len(terms)} index terms point at no row")

    def _derived(
        self,
        resource: dict[str, Any],
        sid: str,
        rkey: bytes,
        type_tag: bytes,
        month_tag: bytes | None,
        digest: bytes,
        plain: bytes,
    ) -> bool:
        keys, rtype = self._keys, str(resource.get("resourceType"))
        date = clinical_date(resource)
        month = keys.term_tag(f"month|{rtype}|{date[:7]}") if date and month_span(date) else None
        return (
            type_tag == keys.term_tag(f"type|{rtype}")
            and rkey == keys.tag(f"{sid}|{rtype}/{resource.get('id')}")
            and digest == keys.digest(sid.encode() + b"|" + plain)[:16]
            and month_tag == month
        )

    def _terms(self, resource: dict[str, Any]) -> set[bytes]:
        rtype = resource.get("resourceType")
        return {self._keys.term_tag(f"{rtype}|{term}") for term in index_terms(resource)}

    def _batches(self) -> None:
        for batch_id, sid, file_tag, body in self._db.execute("SELECT * FROM batches").fetchall():
            try:
                row = f"{batch_id}:{sid}:{file_tag.hex()}"
                self._keys.unseal_meta(body, table="batches", row=row)
            except _FAILED:
                self.problems.append(f"batches: batch {batch_id} does not open (edited or moved)")
        names = self._db.execute("SELECT tag, body FROM type_names").fetchall()
        for tag, body in names:
            try:
                self._keys.unseal_meta(body, table="type_names", row=tag.hex())
            except _FAILED:
                self.problems.append(f"type names: the name of tag {tag.hex()[:8]} does not open")
        used = {r[0] for r in self._db.execute("SELECT DISTINCT type_tag FROM resources")}
        missing = used - {tag for tag, _ in names}
        if missing:
            self.problems.append(f"type names: the names of {len(missing)} types are missing")

    def _table(self, table: SealedTable, record: dict[str, Any] | None) -> None:
        spec, name = table.spec, table.spec.name
        rows = self._db.execute(f"SELECT * FROM {name}").fetchall()
        columns = [c for c, _ in spec.columns]
        if not spec.chained and record is not None:
            want = record["tables"].get(name, [0, "0" * 64])
            got = table_sum(self._keys, name, rows)
            if got[0] != want[0]:
                self.problems.append(
                    f"{name}: {got[0]} rows, its manifest says {want[0]} (rows deleted or added)"
                )
            elif got != want:
                self.problems.append(
                    f"{name}: rows differ from its manifest (edited or written back)"
                )
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            key = tuple(values[k] for k in spec.key)
            try:
                for column in spec.sealed:
                    if values[column] is not None:
                        table.open(key, values[column], column)
            except _FAILED:
                shown = ":".join(str(k) for k in key)[:24]
                self.problems.append(f"{name}: row {shown} does not open (edited or moved)")
