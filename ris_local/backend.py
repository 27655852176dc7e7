"""The ``local`` backend: an :class:`~ris_local.engine.Engine` over a SQLite store.

Images, feature blobs and tags live in the database file. Each context's feature index
lives in memory, kept current by :class:`~ris_local.indexes.ContextIndexes` (which also
notices other processes' writes and saves indexes as blocks on close); image ids are
resolved from keys in the database, only for the results a search returns, so opening a
large context does not read one row per image.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from ris_core.backend import Backend, Capability, Progress, Query
from ris_core.database import open_database
from ris_core.errors import (
    ContextNotFoundError,
    EngineMismatchError,
    InvalidImageError,
    RisError,
)
from ris_core.groups import connected_groups, strongest_links
from ris_core.images import ImageData, load_image
from ris_core.models import (
    Comparison,
    ContextState,
    ContextStatus,
    DuplicateGroup,
    ImageFeatures,
    SearchResult,
)
from ris_core.paths import default_database_path
from ris_core.sqlite import MEMORY
from ris_local.engine import Engine, ExtractedQuery, Hit, QueryFeatures, Score
from ris_local.engines import UNREADABLE_IMAGE_ERRORS, EngineRecord, RecordedEngine, choose_engine, mismatch_message
from ris_local.extraction import ExtractionStatistics, Extractor
from ris_local.indexes import ContextIndexes
from ris_local.storage.postgres_store import index_store_for, store_for
from ris_local.storage.store import FeatureRow

__all__ = ["LocalBackend"]

logger = logging.getLogger("ris_local")

Keys = np.ndarray[Any, np.dtype[np.int64]]


class LocalBackend(Backend):
    """Offline reverse image search in one SQLite file."""

    name: ClassVar[str] = "local"
    description: ClassVar[str] = "Offline search in one SQLite file: hashes, then ORB keypoints (the default)."
    options: ClassVar[Mapping[str, str]] = {
        "database": "SQLite file path or sqlite:/// URL (default $RIS_HOME/ris.db), or a postgresql:// URL; "
        "':memory:' keeps nothing",
        "engine": "feature engine by name (see `ris engines`; default: the one the database was made with, "
        "else robust); another engine than the database's re-extracts every image",
    }

    def __init__(self, *, database: str | os.PathLike[str] | None = None, engine: Engine | str | None = None) -> None:
        super().__init__(database=database, engine=engine)
        self.database = open_database(database if database is not None else default_database_path())
        try:
            self.store = store_for(self.database)
            self.engine_record = EngineRecord(self.database)
            self._previous_engine = self.engine_record.read()
            self.engine_name, self.engine = choose_engine(engine, self._previous_engine)
            self.extractor = Extractor(self.engine)
            self.indexes = ContextIndexes(self.store, index_store_for(self.database), self.engine, self._recompute)
            self._lock = threading.RLock()
            self._told_unsaved = False
            self.default_threshold = self.engine.default_threshold
            self.duplicate_threshold = self.engine.duplicate_threshold
            in_memory = self.database.path == MEMORY
            self.capabilities = frozenset(Capability) - ({Capability.PERSISTENT} if in_memory else set())
            self._adopt_engine()
        except BaseException:  # a refused open leaves no connection behind
            self.database.close()
            raise

    def _adopt_engine(self) -> None:
        """Re-extract the features another engine made, then record this engine."""
        current = RecordedEngine.of(self.engine_name, self.engine)
        previous = self._previous_engine
        if previous == current:
            return
        if previous is None or (previous.algorithm, previous.version) != (current.algorithm, current.version):
            if previous is not None:
                # Marked unfinished until every blob is made again: if an unreadable image
                # stops us, the next open with either engine checks every row again.
                self.engine_record.write(RecordedEngine(previous.name, "", ""))
            refs = [str(ref) for (ref,) in self.database.query("SELECT ref FROM local_contexts ORDER BY ref")]
            done = 0
            for ref in refs:
                for row in self.store.stale_features(ref, self.engine.algorithm, self.engine.version):
                    self._recompute(ref, row)
                    done += 1
            if done:
                logger.info("re-extracted %d feature blobs with engine %s", done, self.engine_name or "given")
        self.engine_record.write(current)

    def catalog_location(self) -> str:
        """The catalog shares the database (memory stays memory)."""
        return self.database.location

    @contextlib.contextmanager
    def batch(self, workers: int) -> Iterator[None]:
        """Extract features in ``workers`` processes while a batch ingest runs."""
        with self.extractor.processes(workers):
            yield

    def close(self) -> None:
        """Save changed indexes and close the database."""
        try:
            with self._lock:
                self.indexes.save()
        finally:
            self.database.close()

    # --- contexts ----------------------------------------------------------------

    def create_context(self, options: Mapping[str, str]) -> str:
        """A new context under a fresh reference."""
        return self.store.create_context(options)

    def delete_context(self, context: str) -> None:
        """Delete the context and drop its index."""
        self.store.delete_context(context)
        with self._lock:
            self.indexes.drop(context)

    def context_exists(self, context: str) -> bool:
        """Whether the context exists in the file."""
        return self.store.context_exists(context)

    def context_status(self, context: str) -> ContextStatus:
        """Always idle: every write is indexed before it returns."""
        self._require_context(context)
        return ContextStatus(ContextState.IDLE, "Idle")

    def _require_context(self, context: str) -> None:
        if not self.store.context_exists(context):
            raise ContextNotFoundError(f"no local context {context!r}")

    # --- images ------------------------------------------------------------------

    def _row(self, image_id: str, image: ImageData) -> FeatureRow:
        try:
            blob = self.extractor.blob(image)
        except RisError:
            raise
        except (cv2.error, ValueError, ArithmeticError, IndexError) as exc:
            # The engine's own failure on a valid file (an image shape OpenCV refuses,
            # say) is that image's failure, typed, never a crash of the whole batch.
            raise InvalidImageError(
                f"features could not be extracted from the {image.width}x{image.height} {image.format} image "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        return FeatureRow(0, image_id, self.engine.algorithm, self.engine.version, blob)

    def add_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Extract features first, so a broken image stores nothing."""
        row = self._row(image_id, image)
        key, generation = self.store.add_image(context, image_id, image, row)
        self._apply(context, generation, add=[(key, row.blob)])

    def update_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Replace bytes and features together."""
        row = self._row(image_id, image)
        key, generation = self.store.replace_image(context, image_id, image, row)
        self._apply(context, generation, add=[(key, row.blob)])

    def get_image(self, context: str, image_id: str) -> bytes:
        """The stored bytes."""
        return self.store.image_data(context, image_id)

    def delete_image(self, context: str, image_id: str) -> None:
        """Delete the row (features cascade) and the index entry."""
        key, generation = self.store.delete_image(context, image_id)
        self._apply(context, generation, remove=[key])

    def _apply(
        self, context: str, generation: int, add: Sequence[tuple[int, bytes]] = (), remove: Sequence[int] = ()
    ) -> None:
        with self._lock:
            self.indexes.apply(context, generation, add, remove)

    # --- features ----------------------------------------------------------------

    def create_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Compute features from ``image`` or the stored bytes and index them."""
        source = image if image is not None else load_image(self.store.image_data(context, image_id))
        row = self._row(image_id, source)
        key, generation = self.store.put_features(context, image_id, row)
        self._apply(context, generation, add=[(key, row.blob)])

    update_features = create_features

    def _recompute(self, context: str, row: FeatureRow) -> None:
        """Features of a stored image made by another engine, made again by this one;
        EngineMismatchError if the image's bytes cannot be read or decoded."""
        try:
            fresh = self._row(row.image_id, load_image(self.store.image_data(context, row.image_id)))
        except UNREADABLE_IMAGE_ERRORS as exc:
            current = RecordedEngine.of(self.engine_name, self.engine)
            raise EngineMismatchError(mismatch_message(row.image_id, self._previous_engine, current, exc)) from exc
        if self.database.read_only:
            self.store.keep_features(row, fresh)
            self._note_unsaved()
        else:
            self.store.put_features(context, row.image_id, fresh)

    def _note_unsaved(self) -> None:
        """Say once that re-extracted features live only in this process."""
        if not self._told_unsaved:
            self._told_unsaved = True
            logger.info(
                "database %s is read-only: features re-extracted with engine %s are kept in memory "
                "for this process only, not saved",
                self.database.path,
                self.engine_name or "given",
            )

    def get_features(self, context: str, image_id: str) -> ImageFeatures:
        """The stored blob with its algorithm and version."""
        row = self.store.features(context, image_id)
        count, bits = self.engine.describe(row.blob)
        return ImageFeatures(image_id, row.algorithm, row.version, row.blob, count, bits)

    def delete_features(self, context: str, image_id: str) -> None:
        """Drop the blob; the image stays but no longer matches."""
        key, generation = self.store.delete_features(context, image_id)
        self._apply(context, generation, remove=[key])

    def extract_features(self, context: str, image: ImageData) -> ImageFeatures:
        """Compute a blob without storing it."""
        self._require_context(context)
        blob = self.extractor.blob(image)
        count, bits = self.engine.describe(blob)
        return ImageFeatures(None, self.engine.algorithm, self.engine.version, blob, count, bits)

    # --- search ------------------------------------------------------------------

    def find_similar(
        self, context: str, query: Query, threshold: float, max_count: int, within: frozenset[str] | None
    ) -> list[SearchResult]:
        """Search the index; a stored query is excluded from its own results. A query by
        data is extracted hashes first (:meth:`Extractor.query`): when the index settles
        it on its hash codes (:meth:`FeatureIndex.search_settled`) its keypoints are never
        extracted; otherwise it is extracted in full and searched as before. The results
        are the same either way."""
        if isinstance(query, str):
            row = self.store.features(context, query)
            staged: QueryFeatures = ExtractedQuery(row.blob)
            exclude: int | None = row.key
        else:
            self._require_context(context)
            staged, exclude = self.extractor.query(query), None
        allowed = self._allowed(context, within, exclude)
        # A stored query finds itself first: ask for one more and leave it out.
        wanted = max_count + 1 if exclude is not None and allowed is None else max_count
        hits = None
        if not staged.extracted:
            with self._lock:
                hits = self.indexes.get(context).search_settled(staged, threshold, wanted, allowed)
        if hits is None:
            blob = staged.blob()  # the rest of the extraction, outside the lock as before
            with self._lock:
                hits = self.indexes.get(context).search(blob, threshold, wanted, allowed, self.store.blobs_for)
        if not isinstance(query, str):
            self.extractor.searched(query, staged)
        return self._results([hit for hit in hits if hit.key != exclude][:max_count])

    def extraction_statistics(self) -> ExtractionStatistics:
        """How many feature extractions this backend made, how many blobs came from its
        cache, and how many queries by data the hash stage settled without their keypoints
        being extracted (:class:`~ris_local.extraction.ExtractionStatistics`)."""
        return self.extractor.statistics()

    def find_duplicates(
        self, context: str, threshold: float, within: frozenset[str] | None, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        """Connected components of the pairs at or above the threshold; ``progress``
        follows the engine index's self-join."""
        allowed = self._allowed(context, within, None)
        with self._lock:
            index = self.indexes.get(context)
            # Only asked of an index when wanted: an engine written before the argument
            # existed still answers without it.
            found = (
                index.pairs(threshold, allowed, self.store.blobs_for)
                if progress is None
                else index.pairs(threshold, allowed, self.store.blobs_for, progress=progress)
            )
            pairs = list(found)
        groups = connected_groups((a, b) for a, b, _ in pairs)
        ids = self.store.ids_of(key for members in groups for key in members)
        links = strongest_links(((ids[a], ids[b], score) for a, b, score in pairs), lambda score: score.similarity)
        ordered = sorted((sorted(ids[key] for key in members) for members in groups), key=lambda m: m[0])
        return [self._group(members, links) for members in ordered]

    @staticmethod
    def _group(members: list[str], links: dict[str, tuple[str, Score]]) -> DuplicateGroup:
        """Each member with its strongest link to the group."""
        results = []
        for member in members:
            _, score = links[member]
            results.append(SearchResult(member, score.similarity, score.distance, score.method))
        return DuplicateGroup(tuple(results), tuple(links[member][0] for member in members))

    def compare(self, context: str, image_id: str, other: Query) -> Comparison:
        """Score the two blobs directly."""
        first = self.store.features(context, image_id).blob
        second, _ = self._query(context, other)
        score = self.engine.compare(first, second)
        other_id = other if isinstance(other, str) else None
        return Comparison(image_id, other_id, score.similarity, score.distance, score.method)

    # --- tags --------------------------------------------------------------------

    def create_tag(self, context: str, tag: str, images: Sequence[ImageData]) -> None:
        """Store the reference images with their features."""
        references = [(image, self._row(tag, image)) for image in images]
        self.store.add_tag_references(context, tag, references)

    def find_by_tags(
        self, context: str, tags: Sequence[str], threshold: float, max_count: int, within: frozenset[str] | None
    ) -> list[SearchResult]:
        """Best score of each image against every reference blob of every tag."""
        blobs = [blob for tag in tags for blob in self._tag_blobs(context, tag)]
        allowed = self._allowed(context, within, None)
        best: dict[int, Hit] = {}
        with self._lock:
            index = self.indexes.get(context)
            for blob in blobs:
                for hit in index.search(blob, threshold, max_count, allowed, self.store.blobs_for):
                    if hit.key not in best or hit.score.similarity > best[hit.key].score.similarity:
                        best[hit.key] = hit
        ids = self.store.ids_of(best)
        ranked = sorted(best.values(), key=lambda hit: (-hit.score.similarity, ids[hit.key]))
        return self._results(ranked[:max_count], ids)

    def _tag_blobs(self, context: str, tag: str) -> list[bytes]:
        blobs = []
        for reference_id, data, row in self.store.tag_references(context, tag):
            if (row.algorithm, row.version) != (self.engine.algorithm, self.engine.version):
                fresh = self._row(tag, load_image(data))
                if self.database.read_only:
                    self.store.keep_tag_features(reference_id, row, fresh)
                    self._note_unsaved()
                else:
                    self.store.replace_tag_features(reference_id, fresh)
                row = fresh
            blobs.append(row.blob)
        return blobs

    # --- helpers -----------------------------------------------------------------

    def _query(self, context: str, query: Query) -> tuple[bytes, int | None]:
        """The query's blob, and its key when it is a stored image."""
        if isinstance(query, str):
            row = self.store.features(context, query)
            return row.blob, row.key
        self._require_context(context)
        return self.extractor.blob(query), None

    def _allowed(self, context: str, within: frozenset[str] | None, exclude: int | None) -> Keys | None:
        if within is None:
            return None
        keys = np.fromiter(self.store.keys_of(context, within).values(), np.int64)
        return np.sort(keys[keys != exclude])

    def _results(self, hits: Sequence[Hit], ids: dict[int, str] | None = None) -> list[SearchResult]:
        ids = ids if ids is not None else self.store.ids_of(hit.key for hit in hits)
        return [SearchResult(ids[h.key], h.score.similarity, h.score.distance, h.score.method) for h in hits]
