"""Sources (import labels and linked APIs) and the names of stored resource types.

A source row holds a random id, the blind tag of its label and its sealed description; each
source has a data key of its own (see :mod:`healthlocker.store._keys`). Type names are kept
sealed beside their blind tags, so counts by type can be shown without opening resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthlocker.errors import IntegrityError
from healthlocker.store._crypto import random_id
from healthlocker.store._db import Database
from healthlocker.store._keys import Keys
from healthlocker.store._manifest import source_digest
from healthlocker.store._state import State

# One encoder for every body: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SourceInfo:
    id: str
    label: str
    kind: str
    created: str
    updated: str
    batches: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Sources:
    """The ``sources`` and ``type_names`` tables. A source's sealed row holds its label, kind,
    times and its manifest of resources (``types``: per type tag, count and MAC); the state
    record holds a digest of each source row, so a source removed, added or written back from
    an earlier state is noticed (:meth:`verified`)."""

    def __init__(self, db: Database, keys: Keys, state: State) -> None:
        self._db = db
        self._keys = keys
        self._state = state
        self.type_names: dict[bytes, str] = {}

    def _open(self, source_id: str, body: bytes) -> dict[str, Any]:
        info: dict[str, Any] = json.loads(
            self._keys.unseal_meta(body, table="sources", row=source_id)
        )
        return info

    def find(self, label: str) -> tuple[str, dict[str, Any]] | None:
        """The id and description of the source of this label, or None."""
        row = self._db.one(
            "SELECT id, body FROM sources WHERE label_tag = ?", (self._keys.tag(f"source|{label}"),)
        )
        return None if row is None else (row[0], self._open(row[0], row[1]))

    def plan(self, label: str, kind: str) -> tuple[str, dict[str, Any]]:
        """A new source, not stored yet (:meth:`save` stores it), with its data key ready."""
        source_id = random_id()
        self._keys.plan_source_key(source_id)
        return source_id, {"label": label, "kind": kind, "created": now(), "types": {}}

    def save(self, source_id: str, info: dict[str, Any], *, new: bool) -> None:
        """Store a source's row (with its data key, when *new*) and vouch for it in the state
        record; inside a transaction."""
        info["updated"] = now()
        body = self._keys.seal_meta(dumps(info), table="sources", row=source_id)
        label_tag = self._keys.tag(f"source|{info['label']}")
        if new:
            key_id = self._keys.store_source_key(source_id)
            self._db.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?)", (source_id, label_tag, key_id, body)
            )
        else:
            key_id = self._db.one("SELECT key_id FROM sources WHERE id = ?", (source_id,))[0]
            self._db.execute("UPDATE sources SET body = ? WHERE id = ?", (body, source_id))
        digest = source_digest(self._keys, source_id, label_tag, key_id, body)
        self._state.update(lambda record: record["sources"].__setitem__(source_id, digest))

    def drop(self, source_ids: list[str]) -> None:
        """Delete these source rows and the state record's word for them (in forget's
        transaction)."""
        for source_id in source_ids:
            self._db.execute("DELETE FROM sources WHERE id = ?", (source_id,))

        def without(record: dict[str, Any]) -> None:
            for source_id in source_ids:
                record["sources"].pop(source_id, None)

        self._state.update(without)

    def ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM sources")]

    def verified(self) -> dict[str, dict[str, Any]]:
        """Source id -> description, for exactly the source rows the state record vouches for
        (IntegrityError otherwise). Only the small sources table: callers cache it."""
        want = self._state.read()["sources"]
        rows = self._db.execute("SELECT id, label_tag, key_id, body FROM sources").fetchall()
        if {row[0] for row in rows} != set(want):
            raise IntegrityError(
                "the vault's sources do not match its state record: a source was removed, "
                "added or written back; run `healthlocker verify`"
            )
        out = {}
        for source_id, label_tag, key_id, body in rows:
            if source_digest(self._keys, source_id, label_tag, key_id, body) != want[source_id]:
                raise IntegrityError(
                    "a source of the vault was edited or written back from an earlier state; "
                    "run `healthlocker verify`"
                )
            out[source_id] = self._open(source_id, body)
        return out

    def labels(self) -> dict[str, str]:
        """Source id -> label, checked against the state record."""
        return {source_id: info["label"] for source_id, info in self.verified().items()}

    def all(self) -> list[SourceInfo]:
        counts: dict[str, dict[str, int]] = {}
        for source_id, type_tag, n in self._db.execute(
            "SELECT source_id, type_tag, count(*) FROM resources GROUP BY source_id, type_tag"
        ):
            counts.setdefault(source_id, {})[self.type_name(type_tag)] = n
        batches = dict(
            self._db.execute("SELECT source_id, count(*) FROM batches GROUP BY source_id")
        )
        out = [
            SourceInfo(
                source_id,
                info["label"],
                info["kind"],
                info["created"],
                info["updated"],
                batches.get(source_id, 0),
                dict(sorted(counts.get(source_id, {}).items())),
            )
            for source_id, info in self.verified().items()
        ]
        return sorted(out, key=lambda s: s.label)

    def raw_labels(self) -> dict[str, str]:
        """Source id -> label without the state record's word (forget erases even a source
        that no longer matches it)."""
        return {
            source_id: self._open(source_id, body)["label"]
            for source_id, body in self._db.execute("SELECT id, body FROM sources")
        }

    def type_name(self, tag: bytes) -> str:
        name = self.type_names.get(tag)
        if name is None:
            row = self._db.one("SELECT body FROM type_names WHERE tag = ?", (tag,))
            name = (
                self._keys.unseal_meta(row[0], table="type_names", row=tag.hex()).decode()
                if row
                else "?"
            )
            self.type_names[tag] = name
        return name

    def remember_type(self, rtype: str, tag: bytes) -> None:
        if tag not in self.type_names:
            self._db.execute(
                "INSERT OR IGNORE INTO type_names VALUES (?, ?)",
                (tag, self._keys.seal_meta(rtype.encode(), table="type_names", row=tag.hex())),
            )
            self.type_names[tag] = rtype
