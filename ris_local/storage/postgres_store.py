"""What the local store does differently on PostgreSQL: reading a saved index back.

Everything else of the local store (its tables, migrations and statements) runs
unchanged on :class:`~ris_core.postgres.PostgresDatabase`. A saved index's parts are read
here as slices of :data:`READ_BYTES` into one preallocated buffer per block, as SQLite's
incremental BLOB handles do, so no part is ever held twice in memory.
"""

from __future__ import annotations

from ris_core.database import Database
from ris_core.postgres import PostgresDatabase
from ris_local.storage.index_store import IndexStore

__all__ = ["READ_BYTES", "PostgresIndexStore", "index_store_for"]

#: Bytes fetched from a part per query: large enough that round trips do not dominate.
READ_BYTES = 16 * 1024 * 1024


def index_store_for(database: Database) -> IndexStore:
    """The saved-index store that reads ``database`` best."""
    return PostgresIndexStore(database) if isinstance(database, PostgresDatabase) else IndexStore(database)


class PostgresIndexStore(IndexStore):
    """Saved indexes in PostgreSQL: written as :class:`IndexStore` writes them, read by slices."""

    def load(self, ref: str, generation: int, algorithm: str, version: str) -> dict[str, bytearray] | None:
        """The saved blocks of ``ref`` if they were made at ``generation`` by this engine."""
        with self.database.snapshot() as db:  # one snapshot for the state and every part
            state = db.execute(
                "SELECT generation, algorithm, version FROM local_index_state WHERE ref = ?", (ref,)
            ).fetchone()
            if state is None or tuple(state) != (generation, algorithm, version):
                return None
            parts = [
                (str(name), int(part), int(size))
                for name, part, size in db.execute(
                    "SELECT name, part, LENGTH(data) FROM local_index_blocks WHERE ref = ? ORDER BY name, part", (ref,)
                ).fetchall()
            ]
            sizes: dict[str, int] = {}
            for name, _, size in parts:
                sizes[name] = sizes.get(name, 0) + size
            blocks = {name: bytearray(size) for name, size in sizes.items()}
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
