"""The in-memory feature index of each context: loaded, kept current, saved.

An index is loaded on a context's first search: from the saved blocks if they match the
context's generation and the engine (fast), otherwise rebuilt from the feature rows,
read a chunk at a time. Feature rows made by another engine (or another version) are
recomputed from the stored image bytes first (and, in a read-only database, held in
memory by the store rather than saved). This process's writes are applied to the
index as they happen; a write by another process shows as a generation this process did
not make, and the index is rebuilt before the next search. Changed indexes are saved as
blocks when the backend closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ris_core.errors import StorageError
from ris_local.engine import Engine, FeatureIndex
from ris_local.storage.index_store import IndexStore
from ris_local.storage.store import FeatureRow, LocalStore

__all__ = ["ContextIndexes"]

logger = logging.getLogger("ris_local")

#: Recomputes one stale feature row from the stored image and stores it (or, in a
#: read-only database, has the store hold it in memory).
Recompute = Callable[[str, FeatureRow], None]


@dataclass
class _Loaded:
    generation: int
    index: FeatureIndex
    dirty: bool


class ContextIndexes:
    """Every loaded context index of one backend. Callers hold the backend's lock."""

    def __init__(self, store: LocalStore, saved: IndexStore, engine: Engine, recompute: Recompute) -> None:
        self.store, self.saved, self.engine, self.recompute = store, saved, engine, recompute
        self._loaded: dict[str, _Loaded] = {}

    def get(self, ref: str) -> FeatureIndex:
        """The context's index, loaded or rebuilt if another process wrote since."""
        generation = self.store.generation(ref)
        loaded = self._loaded.get(ref)
        if loaded is None or loaded.generation != generation:
            loaded = self._load(ref)
            self._loaded[ref] = loaded
        return loaded.index

    def _load(self, ref: str) -> _Loaded:
        stale = self.store.stale_features(ref, self.engine.algorithm, self.engine.version)
        if stale:
            logger.info("recomputing %d feature blobs made by another engine", len(stale))
            for row in stale:
                self.recompute(ref, row)
        generation = self.store.generation(ref)
        index = self.engine.new_index()
        blocks = self.saved.load(ref, generation, self.engine.algorithm, self.engine.version)
        if blocks is not None:
            try:
                index.load_blocks(blocks)
                return _Loaded(generation, index, dirty=False)
            except (ValueError, NotImplementedError) as exc:
                logger.info("saved index of context %s not used (%s); rebuilding", ref, exc)
                index = self.engine.new_index()
        for rows in self.store.feature_rows(ref):
            index.add([row.key for row in rows], [row.blob for row in rows])
        # Rows read after ``generation`` may include later writes; a later search then
        # sees a newer generation and rebuilds, so the index is never trusted too long.
        return _Loaded(generation, index, dirty=True)

    def apply(
        self, ref: str, generation: int, add: Iterable[tuple[int, bytes]] = (), remove: Iterable[int] = ()
    ) -> None:
        """Mirror this process's write (which made ``generation``) in a loaded index."""
        loaded = self._loaded.get(ref)
        if loaded is None:
            return
        if loaded.generation != generation - 1:
            del self._loaded[ref]  # another write came in between: rebuild on next use
            return
        removed = list(remove)
        if removed:
            loaded.index.remove(removed)
        added = list(add)
        if added:
            loaded.index.add([key for key, _ in added], [blob for _, blob in added])
        loaded.generation, loaded.dirty = generation, True

    def drop(self, ref: str) -> None:
        """Forget a context's index (the context was deleted)."""
        self._loaded.pop(ref, None)

    def save(self) -> None:
        """Save every changed index whose context nobody else changed meanwhile."""
        for ref, loaded in list(self._loaded.items()):
            if not loaded.dirty:
                continue
            blocks = loaded.index.to_blocks()
            try:
                saved = blocks is not None and self.saved.save(
                    ref, loaded.generation, self.engine.algorithm, self.engine.version, blocks
                )
            except StorageError as exc:  # a cache: the next open rebuilds it from the rows
                logger.info("index of context %s not saved: %s", ref, exc)
                continue
            if saved:
                loaded.dirty = False
