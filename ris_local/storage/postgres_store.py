"""What the local store does differently on PostgreSQL: a change log, and reading a saved index back.

Everything else of the local store (its tables, migrations and statements) runs
unchanged on :class:`~ris_core.postgres.PostgresDatabase`.

**The change log.** On one machine, a write by another process makes a search process
rebuild its in-memory index; with many ingest workers sharing a server that would be a
rebuild per search. So on PostgreSQL, triggers record every write in ``local_changes``:
one row per generation of a context (key ``-1``), and one per image whose features were
put or dropped. A search process that finds the context at a newer generation than its
index reads the rows between the two, re-reads the blobs of the keys put, and applies
them to its index instead of rebuilding it. The log is complete per context because
every write takes the context's row lock (its ``generation`` bump) before it logs, so a
context's generations commit in order; a reader checks that every generation it skips
over is in the log, and rebuilds if one is not.

**Sharding (Citus).** :data:`~ris_core.postgres.CITUS_LAYOUT` names the distribution
column of every table: ``ref`` (the context) for ``local_contexts`` and everything hanging
off it, co-located, so a write or a per-context read is a single-shard transaction;
``context`` for the catalog's tables; ``local_engine`` and ``ris_schema`` are reference
tables. Every primary key, unique key and foreign key between them carries the
distribution column (the change log's second migration makes it so in an existing
database), and the triggers only touch rows of the ref they fire for.

A saved index's parts are read here as slices of :data:`READ_BYTES` into one
preallocated buffer per block, as SQLite's incremental BLOB handles do, so no part is
ever held twice in memory.
"""

from __future__ import annotations

from typing import Any

from ris_core.database import Database
from ris_core.postgres import PostgresDatabase
from ris_local.storage.index_store import IndexStore, allocate_blocks
from ris_local.storage.store import Changes, LocalStore

__all__ = ["READ_BYTES", "PostgresIndexStore", "PostgresLocalStore", "index_store_for", "store_for"]

#: The change log's schema (its own component, so the shared local migrations stay as they are).
#: Function bodies are quoted strings, not dollar quotes: migrations are split where
#: SQLite says a statement ends, and SQLite knows single quotes.
_CHANGE_LOG = (
    """
    CREATE TABLE local_changes (
        ref TEXT NOT NULL REFERENCES local_contexts (ref) ON DELETE CASCADE,
        generation INTEGER NOT NULL,
        key INTEGER NOT NULL,
        removed BOOLEAN NOT NULL,
        PRIMARY KEY (ref, generation, key)
    );
    CREATE FUNCTION ris_log_generation() RETURNS trigger LANGUAGE plpgsql AS '
    BEGIN
        INSERT INTO local_changes (ref, generation, key, removed) VALUES (NEW.ref, NEW.generation, -1, false)
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END';
    CREATE TRIGGER local_contexts_logged AFTER UPDATE OF generation ON local_contexts
        FOR EACH ROW EXECUTE FUNCTION ris_log_generation();
    CREATE FUNCTION ris_log_features() RETURNS trigger LANGUAGE plpgsql AS '
    BEGIN
        IF TG_OP = ''DELETE'' THEN
            INSERT INTO local_changes (ref, generation, key, removed)
                SELECT c.ref, c.generation, OLD.key, true FROM local_images i JOIN local_contexts c ON c.ref = i.ref
                WHERE i.key = OLD.key
                ON CONFLICT (ref, generation, key) DO UPDATE SET removed = true;
        ELSE
            INSERT INTO local_changes (ref, generation, key, removed)
                SELECT c.ref, c.generation, NEW.key, false FROM local_images i JOIN local_contexts c ON c.ref = i.ref
                WHERE i.key = NEW.key
                ON CONFLICT (ref, generation, key) DO UPDATE SET removed = false;
        END IF;
        RETURN NULL;
    END';
    CREATE TRIGGER local_features_logged AFTER INSERT OR UPDATE OR DELETE ON local_features
        FOR EACH ROW EXECUTE FUNCTION ris_log_features();
    CREATE FUNCTION ris_log_image_removal() RETURNS trigger LANGUAGE plpgsql AS '
    BEGIN
        -- A context being deleted is no longer visible here, so its images log nothing.
        INSERT INTO local_changes (ref, generation, key, removed)
            SELECT c.ref, c.generation, OLD.key, true FROM local_contexts c WHERE c.ref = OLD.ref
            ON CONFLICT (ref, generation, key) DO UPDATE SET removed = true;
        RETURN NULL;
    END';
    CREATE TRIGGER local_images_logged AFTER DELETE ON local_images
        FOR EACH ROW EXECUTE FUNCTION ris_log_image_removal()
    """,
    # 2: the context (``ref``, the distribution column) in every key, as Citus requires of
    # a sharded table's primary and unique keys and of the foreign keys between co-located
    # ones; the feature trigger logs under the row's own ref instead of looking it up.
    # The ``key`` indexes keep the lookups by key alone (blobs of search results) fast.
    """
    ALTER TABLE local_features ALTER COLUMN ref SET NOT NULL;
    ALTER TABLE local_features DROP CONSTRAINT local_features_key_fkey;
    ALTER TABLE local_features DROP CONSTRAINT local_features_pkey;
    ALTER TABLE local_images DROP CONSTRAINT local_images_pkey;
    ALTER TABLE local_images ADD PRIMARY KEY (ref, key);
    CREATE INDEX local_images_by_key ON local_images (key);
    ALTER TABLE local_features ADD PRIMARY KEY (ref, key);
    CREATE INDEX local_features_by_key ON local_features (key);
    ALTER TABLE local_features ADD CONSTRAINT local_features_image
        FOREIGN KEY (ref, key) REFERENCES local_images (ref, key) ON DELETE CASCADE;
    ALTER TABLE local_tag_references DROP CONSTRAINT local_tag_references_pkey;
    ALTER TABLE local_tag_references ADD PRIMARY KEY (ref, id);
    CREATE INDEX local_tag_references_by_id ON local_tag_references (id);
    CREATE OR REPLACE FUNCTION ris_log_features() RETURNS trigger LANGUAGE plpgsql AS '
    BEGIN
        IF TG_OP = ''DELETE'' THEN
            INSERT INTO local_changes (ref, generation, key, removed)
                SELECT c.ref, c.generation, OLD.key, true FROM local_contexts c WHERE c.ref = OLD.ref
                ON CONFLICT (ref, generation, key) DO UPDATE SET removed = true;
        ELSE
            INSERT INTO local_changes (ref, generation, key, removed)
                SELECT c.ref, c.generation, NEW.key, false FROM local_contexts c WHERE c.ref = NEW.ref
                ON CONFLICT (ref, generation, key) DO UPDATE SET removed = false;
        END IF;
        RETURN NULL;
    END'
    """,
)


def store_for(database: Database) -> LocalStore:
    """The local store for ``database``: with a change log on PostgreSQL."""
    return PostgresLocalStore(database) if isinstance(database, PostgresDatabase) else LocalStore(database)


class PostgresLocalStore(LocalStore):
    """The local store on PostgreSQL, with the change log search processes catch up through."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        database.migrate("local-changes", _CHANGE_LOG)

    def changes(self, ref: str, after: int, upto: int) -> Changes | None:
        """The blobs put and the keys dropped between generations ``after`` and ``upto``,
        or None when the log misses one of them (the caller rebuilds)."""
        rows = self.database.query(
            "SELECT generation, key, removed FROM local_changes WHERE ref = ? AND generation > ? AND generation <= ? "
            "ORDER BY generation, key",
            (ref, after, upto),
        )
        if len({int(generation) for generation, _, _ in rows}) != upto - after:
            return None
        last: dict[int, bool] = {}
        for _, key, removed in rows:
            if int(key) >= 0:
                last[int(key)] = bool(removed)
        put = sorted(key for key, removed in last.items() if not removed)
        blobs = self.blobs_for(put)
        # A key put then dropped after ``upto`` has no blob now: it counts as dropped.
        return Changes(
            put=[(key, blobs[key]) for key in put if key in blobs], removed=sorted(last.keys() - blobs.keys())
        )


#: Bytes fetched from a part per query: large enough that round trips do not dominate.
READ_BYTES = 16 * 1024 * 1024


def index_store_for(database: Database) -> IndexStore:
    """The saved-index store that reads ``database`` best."""
    return PostgresIndexStore(database) if isinstance(database, PostgresDatabase) else IndexStore(database)


class PostgresIndexStore(IndexStore):
    """Saved indexes in PostgreSQL: written as :class:`IndexStore` writes them, read by slices."""

    def read_blocks(self, db: Any, ref: str) -> dict[str, bytearray]:
        """Every saved block of ``ref``, fetched a slice of :data:`READ_BYTES` at a time."""
        parts = [
            (str(name), int(part), int(size))
            for name, part, size in db.execute(
                "SELECT name, part, LENGTH(data) FROM local_index_blocks WHERE ref = ? ORDER BY name, part", (ref,)
            ).fetchall()
        ]
        blocks = allocate_blocks((name, size) for name, _, size in parts)
        filled = dict.fromkeys(blocks, 0)
        for name, part, size in parts:
            start = filled[name]
            with memoryview(blocks[name]) as view:
                for offset in range(0, size, READ_BYTES):
                    stop = min(size, offset + READ_BYTES)
                    row = db.execute(
                        "SELECT substring(data FROM ? FOR ?) FROM local_index_blocks "
                        "WHERE ref = ? AND name = ? AND part = ?",
                        (offset + 1, stop - offset, ref, name, part),
                    ).fetchone()
                    assert row is not None  # the snapshot still holds the part it listed
                    view[start + offset : start + stop] = row[0]
            filled[name] = start + size
        return blocks
