"""The vault's SQLite schema and connection settings.

Only sealed bytes, random ids and keyed blind-index tags are stored; see docs/security.md. The
tables other packages keep (grants, audit, OAuth, links) are declared in ``_tables.py``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from healthlocker.errors import StoreError
from healthlocker.store._db import BUSY_SECONDS, Database
from healthlocker.store._tables import TABLES

# 2: resource seals bound to every index column, per-source tags, manifests and the state record.
FORMAT = 2

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    name TEXT PRIMARY KEY, salt BLOB NOT NULL, kdf TEXT NOT NULL, wrapped BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, purpose TEXT NOT NULL, owner TEXT NOT NULL, wrapped BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, label_tag BLOB NOT NULL UNIQUE, key_id TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS type_names (tag BLOB PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, source_id TEXT NOT NULL, file_tag BLOB NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS batches_file ON batches (source_id, file_tag);
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    rkey BLOB NOT NULL,
    type_tag BLOB NOT NULL,
    month_tag BLOB,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (source_id, rkey)
);
CREATE INDEX IF NOT EXISTS resources_type ON resources (type_tag, month_tag);
-- Covers the manifest of one source's rows of one type (see _manifest): read without the bodies.
CREATE INDEX IF NOT EXISTS resources_manifest
    ON resources (source_id, type_tag, id, rkey, month_tag, digest);
CREATE TABLE IF NOT EXISTS resource_terms (
    tag BLOB NOT NULL, resource_id INTEGER NOT NULL, PRIMARY KEY (tag, resource_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resource_terms_rid ON resource_terms (resource_id);
"""


def connect(path: Path | None, *, read_only: bool = False) -> sqlite3.Connection:
    """Open (or create) the vault database with the settings the guarantees rely on; or, with
    *read_only*, a second connection to an existing vault file that can only read."""
    if read_only and path is not None:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn = sqlite3.connect(
        ":memory:" if path is None else str(path), isolation_level=None, check_same_thread=False
    )
    pragmas = [
        "PRAGMA secure_delete = ON",  # deleted rows are overwritten, not left in free pages
        "PRAGMA temp_store = MEMORY",  # no sort/temp files beside the vault
        f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}",
        "PRAGMA foreign_keys = ON",
    ]
    if path is not None:
        pragmas += ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"]
    try:
        for pragma in pragmas:
            conn.execute(pragma)
    except sqlite3.DatabaseError as exc:  # SQLite's own words: "file is not a database", ...
        conn.close()
        raise StoreError(
            f"{path} is damaged (truncated or overwritten) or not a vault ({exc}); restore it "
            "from a backup, or move it away and run `healthlocker init`"
        ) from None
    return conn


def create_tables(db: Database) -> None:
    """Create whatever tables the vault lacks: the store's own and every declared sealed
    table (a vault made by an older version gains the newer tables, with nothing else moved)."""
    db.script(_TABLES + "\n".join(table.ddl for table in TABLES.values()))
