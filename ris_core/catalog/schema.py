"""The catalog's tables, as forward-only migrations (one script per schema version).

Every row is keyed by backend and context name, so one database file can hold the
catalogs of several backends. Deleting a context cascades to everything recorded in it.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[str, ...] = (
    # 1: contexts, the image ids they hold, tags.
    """
    CREATE TABLE catalog_contexts (
        backend TEXT NOT NULL,
        name TEXT NOT NULL,
        ref TEXT NOT NULL,
        options TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (backend, name)
    );
    CREATE TABLE catalog_images (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        image_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (backend, context, image_id),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    );
    CREATE INDEX catalog_images_by_hash ON catalog_images (backend, context, sha256);
    CREATE TABLE catalog_tags (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        tag TEXT NOT NULL,
        references_count INTEGER NOT NULL,
        PRIMARY KEY (backend, context, tag),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    )
    """,
    # 2: metadata, collections, tag reference images (for export), statistics, and a
    # per-context generation counter that tells caches in any process what changed.
    """
    ALTER TABLE catalog_contexts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE catalog_images ADD COLUMN metadata TEXT;
    CREATE TABLE catalog_collections (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (backend, context, name),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    );
    CREATE TABLE catalog_collection_members (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        collection TEXT NOT NULL,
        image_id TEXT NOT NULL,
        PRIMARY KEY (backend, context, collection, image_id),
        FOREIGN KEY (backend, context, collection) REFERENCES catalog_collections (backend, context, name)
            ON DELETE CASCADE ON UPDATE CASCADE,
        FOREIGN KEY (backend, context, image_id) REFERENCES catalog_images (backend, context, image_id)
            ON DELETE CASCADE
    );
    CREATE INDEX catalog_members_by_image ON catalog_collection_members (backend, context, image_id);
    CREATE TABLE catalog_tag_references (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        tag TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (backend, context, tag, seq),
        FOREIGN KEY (backend, context, tag) REFERENCES catalog_tags (backend, context, tag) ON DELETE CASCADE
    );
    CREATE TABLE catalog_counters (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (backend, context, kind, key),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    );
    CREATE TABLE catalog_latencies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        operation TEXT NOT NULL,
        seconds REAL NOT NULL,
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    );
    CREATE INDEX catalog_latencies_by_context ON catalog_latencies (backend, context, operation, id)
    """,
    # 3: where each image came from (so a second file never takes an id silently, and
    # pruning finds files that are gone), its size and dimensions, and whether it is
    # stored by reference; and per context, whether files are stored by reference.
    """
    ALTER TABLE catalog_contexts ADD COLUMN by_reference INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE catalog_images ADD COLUMN source TEXT;
    ALTER TABLE catalog_images ADD COLUMN size INTEGER;
    ALTER TABLE catalog_images ADD COLUMN width INTEGER;
    ALTER TABLE catalog_images ADD COLUMN height INTEGER;
    ALTER TABLE catalog_images ADD COLUMN mtime_ns INTEGER;
    ALTER TABLE catalog_images ADD COLUMN reference INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX catalog_images_by_source ON catalog_images (backend, context, source)
    """,
    # 4: pairs a person declared "not a duplicate", smaller id first; forgotten with either image.
    """
    CREATE TABLE catalog_not_duplicates (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        first_id TEXT NOT NULL,
        second_id TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        PRIMARY KEY (backend, context, first_id, second_id),
        CHECK (first_id < second_id),
        FOREIGN KEY (backend, context, first_id) REFERENCES catalog_images (backend, context, image_id)
            ON DELETE CASCADE,
        FOREIGN KEY (backend, context, second_id) REFERENCES catalog_images (backend, context, image_id)
            ON DELETE CASCADE
    )
    """,
)
