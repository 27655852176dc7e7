"""What every part of the catalog shares: the database, the backend key, the clock."""

from __future__ import annotations

import datetime
import sqlite3

from ris_core.database import Database
from ris_core.errors import ContextNotFoundError

__all__ = ["CatalogBase", "now"]


def now() -> str:
    """The current UTC time, to the second, in ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class CatalogBase:
    """Holds the database and the backend name every row is keyed by."""

    database: Database
    backend: str

    def bump(self, db: sqlite3.Connection, context: str) -> None:
        """Advance the context's generation inside the caller's write transaction.

        Every write that can change a search result calls this, so a cache in any
        process sees that its entries for the context are stale.
        """
        cursor = db.execute(
            "UPDATE catalog_contexts SET generation = generation + 1 WHERE backend = ? AND name = ?",
            (self.backend, context),
        )
        if cursor.rowcount == 0:
            raise ContextNotFoundError(f"no search context named {context!r}")

    def touch(self, context: str) -> None:
        """Advance the generation on its own (for writes the catalog does not record)."""
        with self.database.transaction() as db:
            self.bump(db, context)

    def generation(self, context: str) -> int:
        """The context's write counter."""
        rows = self.database.query(
            "SELECT generation FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, context)
        )
        if not rows:
            raise ContextNotFoundError(f"no search context named {context!r}")
        return int(rows[0][0])
