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

from healthlocker.store._crypto import random_id
from healthlocker.store._db import Database
from healthlocker.store._keys import Keys

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
    """The ``sources`` and ``type_names`` tables."""

    def __init__(self, db: Database, keys: Keys) -> None:
        self._db = db
        self._keys = keys
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

    def ensure(self, label: str, kind: str) -> tuple[str, dict[str, Any]]:
        """The source of this label, made (with its data key) if new; inside a transaction."""
        found = self.find(label)
        if found is not None:
            return found
        source_id = random_id()
        key_id = self._keys.new_source_key(source_id)
        info = {"label": label, "kind": kind, "created": now(), "updated": now()}
        self._db.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?)",
            (source_id, self._keys.tag(f"source|{label}"), key_id, self._seal(source_id, info)),
        )
        return source_id, info

    def touch(self, source_id: str, info: dict[str, Any]) -> None:
        info["updated"] = now()
        self._db.execute(
            "UPDATE sources SET body = ? WHERE id = ?", (self._seal(source_id, info), source_id)
        )

    def _seal(self, source_id: str, info: dict[str, Any]) -> bytes:
        return self._keys.seal_meta(dumps(info), table="sources", row=source_id)

    def ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM sources")]

    def described(self) -> dict[str, tuple[str, str]]:
        """Source id -> (label, kind). Only the small sources table: this runs on every audited
        call."""
        out = {}
        for source_id, body in self._db.execute("SELECT id, body FROM sources"):
            info = self._open(source_id, body)
            out[source_id] = (str(info["label"]), str(info.get("kind", "")))
        return out

    def all(self) -> list[SourceInfo]:
        counts: dict[str, dict[str, int]] = {}
        for source_id, type_tag, n in self._db.execute(
            "SELECT source_id, type_tag, count(*) FROM resources GROUP BY source_id, type_tag"
        ):
            counts.setdefault(source_id, {})[self.type_name(type_tag)] = n
        batches = dict(
            self._db.execute("SELECT source_id, count(*) FROM batches GROUP BY source_id")
        )
        out = []
        for source_id, body in self._db.execute("SELECT id, body FROM sources"):
            info = self._open(source_id, body)
            out.append(
                SourceInfo(
                    source_id,
                    info["label"],
                    info["kind"],
                    info["created"],
                    info["updated"],
                    batches.get(source_id, 0),
                    dict(sorted(counts.get(source_id, {}).items())),
                )
            )
        return sorted(out, key=lambda s: s.label)

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
