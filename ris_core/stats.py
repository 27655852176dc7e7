"""Statistics and search analytics, gathered by an observer plugin.

:class:`StatsRecorder` implements the ``ris_after_search`` hook like any third-party
observer would. ``ris_core.open`` registers one per system; it counts searches per
operation, which stored images were used as queries and which were returned, and keeps
latency samples. It buffers in memory and writes to the catalog in batches (and on
close), so a search costs no extra database write. :func:`context_stats` reads it all
back as a :class:`~ris_core.models.ContextStats`.

Statistics never block or fail a search: a flush waits only briefly for the write lock.
When another process holds it, the counts stay buffered for the next flush (up to
:data:`MAX_BUFFERED` searches); when the file is read-only or full, or at close, or past
that bound, they are dropped and counted in :attr:`StatsRecorder.dropped`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ris_core.catalog import Catalog
from ris_core.errors import ReadOnlyStorageError, StorageError, StorageLockedError
from ris_core.hookspecs import hookimpl
from ris_core.models import ContextStats, LatencySummary, SearchResult

if TYPE_CHECKING:
    from ris_core.context import SearchContext

__all__ = ["StatsRecorder", "context_stats"]

logger = logging.getLogger("ris_core.stats")

FLUSH_EVERY = 64
#: Searches kept in memory while flushes fail for contention, before they are dropped.
MAX_BUFFERED = 16 * FLUSH_EVERY
TOP = 10


class StatsRecorder:
    """An observer plugin that records usage of one system's contexts."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._counters: dict[str, Counter[tuple[str, str]]] = {}
        self._latencies: dict[str, list[tuple[str, float]]] = {}
        self._pending = 0  # searches since the last flush
        self._buffered = 0  # searches whose statistics are held in memory
        self._lock = threading.Lock()
        #: Searches whose statistics were dropped (the database was locked, read-only or full).
        self.dropped = 0
        self._dropped_in: Counter[str] = Counter()

    @hookimpl
    def ris_after_search(
        self,
        context: str,
        operation: str,
        query: str | None,
        results: Sequence[SearchResult],
        seconds: float,
        details: dict[str, Any],
    ) -> None:
        """Count the search, its query and its matches; keep its latency."""
        logger.debug(
            "%s in %r: %d results in %.2f ms%s",
            operation,
            context,
            len(results),
            seconds * 1000,
            " (cached)" if details.get("cached") else "",
        )
        with self._lock:
            counts = self._counters.setdefault(context, Counter())
            counts[("search", operation)] += 1
            if details.get("cached"):
                counts[("cache", "hit")] += 1
            if query is not None:
                counts[("query", query)] += 1
            for result in results:
                counts[("match", result.image_id)] += 1
            self._latencies.setdefault(context, []).append((operation, seconds))
            self._pending += 1
            self._buffered += 1
            due = self._pending >= FLUSH_EVERY
        if due:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Write what was gathered to the catalog, best effort (see the module's docstring).

        ``final`` (at close) drops what cannot be written rather than keeping it.
        """
        with self._lock:
            counters, latencies = self._counters, self._latencies
            self._counters, self._latencies, self._pending, self._buffered = {}, {}, 0, 0
        for context in sorted(counters.keys() | latencies.keys()):
            count, samples = counters.pop(context, Counter()), latencies.pop(context, [])
            try:
                self.catalog.record_usage(context, count, samples)
            except StorageError as exc:
                self._keep_or_drop(context, count, samples, exc, final)

    def dropped_in(self, context: str) -> int:
        """Searches of ``context`` whose statistics this recorder dropped (of :attr:`dropped`)."""
        with self._lock:
            return self._dropped_in[context]

    def _keep_or_drop(
        self,
        context: str,
        count: Counter[tuple[str, str]],
        samples: list[tuple[str, float]],
        exc: StorageError,
        final: bool,
    ) -> None:
        searches = len(samples)
        with self._lock:
            keep = isinstance(exc, StorageLockedError) and not final and self._buffered + searches <= MAX_BUFFERED
            if keep:  # retried at the next flush, FLUSH_EVERY searches later
                self._counters.setdefault(context, Counter()).update(count)
                self._latencies.setdefault(context, [])[:0] = samples
                self._buffered += searches
            else:
                self.dropped += searches
                self._dropped_in[context] += searches
        if not keep:
            # Expected of a read-only file or a busy one (statistics must not wait);
            # anything else is worth a warning.
            expected = isinstance(exc, ReadOnlyStorageError | StorageLockedError)
            level = logging.INFO if expected else logging.WARNING
            logger.log(level, "statistics of %d searches in %r dropped: %s", searches, context, exc)


def _summary(samples: list[float]) -> LatencySummary:
    values = np.asarray(samples, dtype=np.float64)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LatencySummary(len(values), float(values.mean()), float(p50), float(p90), float(p99), float(values.max()))


def context_stats(context: SearchContext) -> ContextStats:
    """Everything known about a context's contents and use."""
    context.system.stats_recorder.flush()
    catalog = context.system.catalog
    searches = dict(catalog.counters(context.name, "search"))
    return ContextStats(
        context=context.name,
        backend=context.system.backend_name,
        images=catalog.count_images(context.name),
        tags=len(catalog.tags(context.name)),
        collections=len(catalog.collections(context.name)),
        searches=searches,
        latency={operation: _summary(samples) for operation, samples in catalog.latencies(context.name).items()},
        most_searched=tuple(catalog.counters(context.name, "query", TOP)),
        most_matched=tuple(catalog.counters(context.name, "match", TOP)),
        cache_hits=dict(catalog.counters(context.name, "cache")).get("hit", 0),
        dropped=context.system.stats_recorder.dropped_in(context.name),
    )
