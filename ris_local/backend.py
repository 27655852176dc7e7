"""The ``local`` backend: an :class:`~ris_local.engine.Engine` over a SQLite store.

Images, feature blobs and tags live in the database file; each context's feature
index is rebuilt in memory on first use and kept in step with this process's writes.
Writes by other processes are noticed through the context's generation counter, and
the index is rebuilt before the next search.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ris_core.backend import Backend, Capability, Query
from ris_core.errors import ContextNotFoundError
from ris_core.groups import connected_groups
from ris_core.images import ImageData
from ris_core.models import (
    Comparison,
    ContextState,
    ContextStatus,
    DuplicateGroup,
    ImageFeatures,
    SearchResult,
)
from ris_core.paths import default_database_path
from ris_core.sqlite import MEMORY, Database
from ris_local.defaults import default_engine
from ris_local.engine import Engine, FeatureIndex, Hit, Score
from ris_local.store import FeatureRow, LocalStore

__all__ = ["LocalBackend"]

logger = logging.getLogger("ris_local")


@dataclass
class _LoadedIndex:
    """One context's index and the id <-> key maps, as of ``generation``."""

    generation: int
    index: FeatureIndex
    ids: dict[int, str] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)


class LocalBackend(Backend):
    """Offline reverse image search in one SQLite file."""

    name: ClassVar[str] = "local"
    description: ClassVar[str] = "Offline perceptual-hash search in one SQLite file (the default)."
    options: ClassVar[Mapping[str, str]] = {
        "database": "SQLite file path or sqlite:/// URL (default $RIS_HOME/ris.db); ':memory:' keeps nothing",
    }

    def __init__(self, *, database: str | os.PathLike[str] | None = None, engine: Engine | None = None) -> None:
        super().__init__(database=database)
        self.engine = engine or default_engine()
        self.database = Database(database if database is not None else default_database_path())
        self.store = LocalStore(self.database)
        self._indexes: dict[str, _LoadedIndex] = {}
        self._lock = threading.RLock()
        self.default_threshold = self.engine.default_threshold
        self.duplicate_threshold = self.engine.duplicate_threshold
        in_memory = self.database.path == MEMORY
        self.capabilities = frozenset(Capability) - ({Capability.PERSISTENT} if in_memory else set())

    def catalog_location(self) -> str:
        """The catalog shares the database file (memory stays memory)."""
        return MEMORY if self.database.path == MEMORY else self.database.path

    def close(self) -> None:
        """Close the database."""
        self.database.close()

    # --- contexts ----------------------------------------------------------------

    def create_context(self, options: Mapping[str, str]) -> str:
        """A new context under a fresh reference."""
        return self.store.create_context(options)

    def delete_context(self, context: str) -> None:
        """Delete the context and drop its index."""
        self.store.delete_context(context)
        with self._lock:
            self._indexes.pop(context, None)

    def context_exists(self, context: str) -> bool:
        """Whether the context exists in the file."""
        return self.store.context_exists(context)

    def context_status(self, context: str) -> ContextStatus:
        """Always idle: every write is indexed before it returns."""
        if not self.store.context_exists(context):
            raise ContextNotFoundError(f"no local context {context!r}")
        return ContextStatus(ContextState.IDLE, "Idle")

    # --- images ------------------------------------------------------------------

    def _row(self, image_id: str, image: ImageData) -> FeatureRow:
        return FeatureRow(0, image_id, self.engine.algorithm, self.engine.version, self.engine.extract(image))

    def add_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Extract features first, so a broken image stores nothing."""
        row = self._row(image_id, image)
        key, generation = self.store.add_image(context, image_id, image, row)
        self._apply(context, generation, add=[(key, image_id, row.blob)])

    def update_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Replace bytes and features together."""
        row = self._row(image_id, image)
        key, generation = self.store.replace_image(context, image_id, image, row)
        self._apply(context, generation, add=[(key, image_id, row.blob)])

    def get_image(self, context: str, image_id: str) -> bytes:
        """The stored bytes."""
        return self.store.image_data(context, image_id)

    def delete_image(self, context: str, image_id: str) -> None:
        """Delete the row (features cascade) and the index entry."""
        key, generation = self.store.delete_image(context, image_id)
        self._apply(context, generation, remove=[(key, image_id)])

    # --- features ----------------------------------------------------------------

    def create_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Compute features from ``image`` or the stored bytes and index them."""
        source = image if image is not None else self._stored(context, image_id)
        row = self._row(image_id, source)
        key, generation = self.store.put_features(context, image_id, row)
        self._apply(context, generation, add=[(key, image_id, row.blob)])

    update_features = create_features

    def _stored(self, context: str, image_id: str) -> ImageData:
        from ris_core.images import load_image  # local import: only reindexing needs it

        return load_image(self.store.image_data(context, image_id))

    def get_features(self, context: str, image_id: str) -> ImageFeatures:
        """The stored blob with its algorithm and version."""
        row = self.store.features(context, image_id)
        count, bits = self.engine.describe(row.blob)
        return ImageFeatures(image_id, row.algorithm, row.version, row.blob, count, bits)

    def delete_features(self, context: str, image_id: str) -> None:
        """Drop the blob; the image stays but no longer matches."""
        key, generation = self.store.delete_features(context, image_id)
        self._apply(context, generation, remove=[(key, image_id)])

    def extract_features(self, context: str, image: ImageData) -> ImageFeatures:
        """Compute a blob without storing it."""
        if not self.store.context_exists(context):
            raise ContextNotFoundError(f"no local context {context!r}")
        blob = self.engine.extract(image)
        count, bits = self.engine.describe(blob)
        return ImageFeatures(None, self.engine.algorithm, self.engine.version, blob, count, bits)

    # --- search ------------------------------------------------------------------

    def find_similar(
        self,
        context: str,
        query: Query,
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Search the index; a stored query is excluded from its own results."""
        blob, exclude = self._query_blob(context, query)
        with self._lock:
            loaded = self._index(context)
            allowed = self._allowed(loaded, within, exclude)
            hits = loaded.index.search(blob, threshold, max_count, allowed)
            return [self._result(loaded, hit) for hit in hits]

    def find_duplicates(self, context: str, threshold: float, within: frozenset[str] | None) -> list[DuplicateGroup]:
        """Connected components of the pairs at or above the threshold."""
        with self._lock:
            loaded = self._index(context)
            pairs = list(loaded.index.pairs(threshold, self._allowed(loaded, within, None)))
            ids = dict(loaded.ids)
        groups = connected_groups((a, b) for a, b, _ in pairs)
        ordered = sorted((sorted(group, key=ids.__getitem__) for group in groups), key=lambda members: ids[members[0]])
        blobs = self.store.blobs_for(key for members in ordered for key in members)
        return [self._group(members, ids, blobs) for members in ordered]

    def _group(self, members: list[int], ids: dict[int, str], blobs: dict[int, bytes]) -> DuplicateGroup:
        first = blobs[members[0]]
        results = []
        for key in members:
            score = self.engine.compare(first, blobs[key])
            results.append(SearchResult(ids[key], score.similarity, score.distance, score.method))
        return DuplicateGroup(tuple(results))

    def compare(self, context: str, image_id: str, other: Query) -> Comparison:
        """Score the two blobs directly."""
        first = self.store.features(context, image_id).blob
        second, _ = self._query_blob(context, other)
        score = self.engine.compare(first, second)
        other_id = other if isinstance(other, str) else None
        return Comparison(image_id, other_id, score.similarity, score.distance, score.method)

    # --- tags --------------------------------------------------------------------

    def create_tag(self, context: str, tag: str, images: Sequence[ImageData]) -> None:
        """Store the reference images with their features."""
        references = [(image, self._row(tag, image)) for image in images]
        self.store.add_tag_references(context, tag, references)

    def find_by_tags(
        self,
        context: str,
        tags: Sequence[str],
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Best score of each image against every reference blob of every tag."""
        blobs = [blob for tag in tags for blob in self.store.tag_blobs(context, tag)]
        best: dict[int, Hit] = {}
        with self._lock:
            loaded = self._index(context)
            allowed = self._allowed(loaded, within, None)
            for blob in blobs:
                for hit in loaded.index.search(blob, threshold, max_count, allowed):
                    if hit.key not in best or hit.score.similarity > best[hit.key].score.similarity:
                        best[hit.key] = hit
            ranked = sorted(best.values(), key=lambda hit: (-hit.score.similarity, loaded.ids[hit.key]))
            return [self._result(loaded, hit) for hit in ranked[:max_count]]

    # --- the in-memory index -----------------------------------------------------

    def _query_blob(self, context: str, query: Query) -> tuple[bytes, str | None]:
        if isinstance(query, str):
            return self.store.features(context, query).blob, query
        if not self.store.context_exists(context):
            raise ContextNotFoundError(f"no local context {context!r}")
        return self.engine.extract(query), None

    @staticmethod
    def _result(loaded: _LoadedIndex, hit: Hit) -> SearchResult:
        score: Score = hit.score
        return SearchResult(loaded.ids[hit.key], score.similarity, score.distance, score.method)

    @staticmethod
    def _allowed(
        loaded: _LoadedIndex, within: frozenset[str] | None, exclude: str | None
    ) -> np.ndarray[Any, np.dtype[np.int64]] | None:
        if within is None and exclude is None:
            return None
        names = within if within is not None else loaded.keys.keys()
        keys = [loaded.keys[name] for name in names if name in loaded.keys and name != exclude]
        return np.asarray(sorted(keys), dtype=np.int64)

    def _index(self, context: str) -> _LoadedIndex:
        """The context's index, rebuilt if another process wrote since it was built."""
        generation = self.store.generation(context)
        loaded = self._indexes.get(context)
        if loaded is None or loaded.generation != generation:
            loaded = self._build(context)
            self._indexes[context] = loaded
        return loaded

    def _build(self, context: str) -> _LoadedIndex:
        generation, rows = self.store.all_features(context)
        stale = [row for row in rows if (row.algorithm, row.version) != (self.engine.algorithm, self.engine.version)]
        if stale:
            logger.info("recomputing %d feature blobs made by an older engine", len(stale))
            for row in stale:
                self.create_features(context, row.image_id, None)
            generation, rows = self.store.all_features(context)
        loaded = _LoadedIndex(generation, self.engine.new_index())
        loaded.index.add([row.key for row in rows], [row.blob for row in rows])
        loaded.ids = {row.key: row.image_id for row in rows}
        loaded.keys = {row.image_id: row.key for row in rows}
        return loaded

    def _apply(
        self,
        context: str,
        generation: int,
        add: Iterable[tuple[int, str, bytes]] = (),
        remove: Iterable[tuple[int, str]] = (),
    ) -> None:
        """Mirror this process's write in the index, if the index was up to date."""
        with self._lock:
            loaded = self._indexes.get(context)
            if loaded is None:
                return
            if loaded.generation != generation - 1:
                # Someone else wrote in between: rebuild lazily at the next search.
                del self._indexes[context]
                return
            for key, image_id in remove:
                loaded.index.remove([key])
                loaded.ids.pop(key, None)
                loaded.keys.pop(image_id, None)
            for key, image_id, blob in add:
                loaded.index.add([key], [blob])
                loaded.ids[key] = image_id
                loaded.keys[image_id] = key
            loaded.generation = generation
