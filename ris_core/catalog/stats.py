"""Catalog records of usage: counters (searches, queried and matched images) and latencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ris_core.catalog.base import CatalogBase
from ris_core.sqlite import BEST_EFFORT_WAIT

__all__ = ["StatsRecords"]

#: Latency samples kept per context and operation; older ones are dropped.
LATENCY_SAMPLES = 10_000


class StatsRecords(CatalogBase):
    """Add to and read the usage counters of a context."""

    def record_usage(
        self, context: str, counters: Mapping[tuple[str, str], int], latencies: Sequence[tuple[str, float]]
    ) -> None:
        """Add counts ``{(kind, key): n}`` and latency samples ``[(operation, seconds)]``.

        Statistics must never hold up a search, so this waits only
        :data:`~ris_core.sqlite.BEST_EFFORT_WAIT` for the write lock; on a
        :class:`~ris_core.errors.StorageError` nothing was written and the caller decides.
        """
        if not counters and not latencies:
            return
        with self.database.transaction(wait=BEST_EFFORT_WAIT) as db:
            if (
                db.execute(
                    "SELECT 1 FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, context)
                ).fetchone()
                is None
            ):
                return  # the context was deleted meanwhile; its statistics go with it
            db.executemany(
                "INSERT INTO catalog_counters VALUES (?, ?, ?, ?, ?) ON CONFLICT (backend, context, kind, key) "
                "DO UPDATE SET count = count + excluded.count",
                [(self.backend, context, kind, key, count) for (kind, key), count in counters.items()],
            )
            db.executemany(
                "INSERT INTO catalog_latencies (backend, context, operation, seconds) VALUES (?, ?, ?, ?)",
                [(self.backend, context, operation, seconds) for operation, seconds in latencies],
            )
            for operation in {operation for operation, _ in latencies}:
                db.execute(
                    "DELETE FROM catalog_latencies WHERE backend = ? AND context = ? AND operation = ? AND id <= "
                    "(SELECT id FROM catalog_latencies WHERE backend = ? AND context = ? AND operation = ? "
                    "ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self.backend, context, operation, self.backend, context, operation, LATENCY_SAMPLES),
                )

    def counters(self, context: str, kind: str, limit: int | None = None) -> list[tuple[str, int]]:
        """(key, count) of one kind of counter, largest first (ties by key)."""
        # No LIMIT at all for "every row": SQLite spells that LIMIT -1, PostgreSQL refuses it.
        rows = self.database.query(
            "SELECT key, count FROM catalog_counters WHERE backend = ? AND context = ? AND kind = ? "
            "ORDER BY count DESC, key" + ("" if limit is None else " LIMIT ?"),
            (self.backend, context, kind, *(() if limit is None else (limit,))),
        )
        return [(str(key), int(count)) for key, count in rows]

    def latencies(self, context: str) -> dict[str, list[float]]:
        """The kept latency samples of each operation."""
        rows = self.database.query(
            "SELECT operation, seconds FROM catalog_latencies WHERE backend = ? AND context = ? ORDER BY id",
            (self.backend, context),
        )
        samples: dict[str, list[float]] = {}
        for operation, seconds in rows:
            samples.setdefault(str(operation), []).append(float(seconds))
        return samples
