"""Saving a context's feature index as a few large BLOBs, and reopening it quickly.

Rebuilding an index from one feature row per image costs seconds per million images;
an index that can describe itself as named byte blocks
(:meth:`~ris_local.engine.FeatureIndex.to_blocks`) is saved instead as a handful of
BLOBs, each cut into parts of at most :data:`PART_BYTES` (SQLite's BLOB limit is 1 GB),
and read back through incremental BLOB handles into one preallocated buffer per block.

The saved index is a cache, never the truth: it records the context generation and the
engine (algorithm and version) it was made at, and is used only when both still hold.
Any write since, in any process, advances the generation, so a stale index is rebuilt
from the feature rows instead of being trusted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ris_core.database import Database
from ris_core.sqlite import BEST_EFFORT_WAIT

__all__ = ["MIGRATION", "PART_BYTES", "READ_BYTES", "IndexStore", "allocate_blocks"]

PART_BYTES = 256 * 1024 * 1024
#: Bytes read from a part at a time: small enough to stay in cache on the way through.
READ_BYTES = 1024 * 1024

#: The local store's second schema version: the saved index tables.
MIGRATION = """
    CREATE TABLE local_index_state (
        ref TEXT PRIMARY KEY REFERENCES local_contexts (ref) ON DELETE CASCADE,
        generation INTEGER NOT NULL,
        algorithm TEXT NOT NULL,
        version TEXT NOT NULL
    );
    CREATE TABLE local_index_blocks (
        ref TEXT NOT NULL REFERENCES local_contexts (ref) ON DELETE CASCADE,
        name TEXT NOT NULL,
        part INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (ref, name, part)
    )
"""


class IndexStore:
    """Reads and writes saved indexes in the local database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def save(self, ref: str, generation: int, algorithm: str, version: str, blocks: dict[str, bytes]) -> bool:
        """Replace the saved index of ``ref``, if the context is still at ``generation``.

        Returns False (and saves nothing) when another write happened meanwhile. The
        saved index is a cache, so this waits only briefly for the write lock; a
        :class:`~ris_core.errors.StorageError` means nothing was saved.
        """
        with self.database.transaction(wait=BEST_EFFORT_WAIT) as db:
            row = db.execute("SELECT generation FROM local_contexts WHERE ref = ?", (ref,)).fetchone()
            if row is None or int(row[0]) != generation:
                return False
            db.execute("DELETE FROM local_index_blocks WHERE ref = ?", (ref,))
            for name, data in blocks.items():
                view = memoryview(data)
                parts = range(0, max(len(view), 1), PART_BYTES)
                db.executemany(
                    "INSERT INTO local_index_blocks (ref, name, part, data) VALUES (?, ?, ?, ?)",
                    [(ref, name, number, view[start : start + PART_BYTES]) for number, start in enumerate(parts)],
                )
            db.execute(
                "INSERT OR REPLACE INTO local_index_state (ref, generation, algorithm, version) VALUES (?, ?, ?, ?)",
                (ref, generation, algorithm, version),
            )
        return True

    def load(self, ref: str, generation: int, algorithm: str, version: str) -> dict[str, bytearray] | None:
        """The saved blocks of ``ref`` if they were made at ``generation`` by this engine."""
        with self.database.snapshot() as db:  # one snapshot for the state and every part
            state = db.execute(
                "SELECT generation, algorithm, version FROM local_index_state WHERE ref = ?", (ref,)
            ).fetchone()
            if state is None or tuple(state) != (generation, algorithm, version):
                return None
            return self.read_blocks(db, ref)

    def read_blocks(self, db: sqlite3.Connection, ref: str) -> dict[str, bytearray]:
        """Every saved block of ``ref``, its parts in order, in one preallocated buffer per block.

        A part is read through an incremental BLOB handle a slice of :data:`READ_BYTES` at a
        time: fetching it as a value would build a bytes object of the whole part (fresh
        pages, then one more copy) only to copy it again into the buffer.
        """
        parts = [
            (int(rowid), str(name), int(size))
            for rowid, name, size in db.execute(
                "SELECT rowid, name, LENGTH(data) FROM local_index_blocks WHERE ref = ? ORDER BY name, part", (ref,)
            ).fetchall()
        ]
        blocks = allocate_blocks((name, size) for _, name, size in parts)
        filled = dict.fromkeys(blocks, 0)
        for rowid, name, size in parts:
            start = filled[name]
            blob_handle = db.blobopen("local_index_blocks", "data", rowid, readonly=True)
            with memoryview(blocks[name]) as view, blob_handle as blob:
                for offset in range(0, size, READ_BYTES):
                    stop = min(size, offset + READ_BYTES)
                    view[start + offset : start + stop] = blob.read(stop - offset)
            filled[name] = start + size
        return blocks

    def forget(self, ref: str) -> None:
        """Drop the saved index of ``ref`` (it no longer matches the engine)."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM local_index_blocks WHERE ref = ?", (ref,))
            db.execute("DELETE FROM local_index_state WHERE ref = ?", (ref,))


def allocate_blocks(parts: Iterable[tuple[str, int]]) -> dict[str, bytearray]:
    """One zeroed buffer per block name, sized to the sum of its parts' ``(name, size)``."""
    sizes: dict[str, int] = {}
    for name, size in parts:
        sizes[name] = sizes.get(name, 0) + size
    return {name: bytearray(size) for name, size in sizes.items()}
